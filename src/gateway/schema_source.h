// SchemaSource: what the REST Proxy front end needs from a schema registry (resolve or register a
// subject's schema, check a payload against an id). An interface so the gateway does not depend
// on the registry component (which itself serves HTTP through the gateway); the registry
// implements it (registry/schema_source.h) and the server installs it once the registry is up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "runtime/asio.h"
#include "schema/schema.h"

namespace sluice::codec {
class JsonParser;
}

namespace sluice::gateway {

// Thread-safe; owned by the server, outlives the front ends that use it.
class SchemaSource {
 public:
  virtual ~SchemaSource() = default;

  // Registers `schema` under `subject`, or finds it when that subject already has it; returns
  // its id. Errors: kInvalidArgument (not a valid schema of that type), kFailedPrecondition
  // (incompatible with the subject's history, or the subject is read-only), kUnavailable.
  virtual Task<Result<int32_t>> Register(std::string subject, schema::SchemaType type,
                                         std::string schema) = 0;
  // Id of a version of `subject` (the latest when `version` is nullopt or -1).
  // Errors: kNotFound (no such subject or version).
  virtual Result<int32_t> VersionId(const std::string& subject,
                                    std::optional<int32_t> version) const = 0;
  // The format of a registered id. Errors: kNotFound.
  virtual Result<schema::SchemaType> TypeOf(int32_t id) const = 0;
  // Checks a payload (without the wire-format prefix) against a registered id.
  // Errors: kNotFound (no such id), kInvalidArgument naming the field and rule broken.
  virtual Status Validate(int32_t id, std::string_view payload) const = 0;
  // Encodes a key or value given as JSON (the REST Proxy's avro and protobuf embedded formats)
  // for a registered Avro or Protobuf id; returns what follows the 5-byte wire-format prefix:
  // the Avro binary datum, or the Protobuf message-index list of the schema's first message and
  // the message bytes. `where` starts error messages ("records[2].value"); `parser` is the
  // caller's (one per request). Errors: kNotFound (no such id), kInvalidArgument naming the
  // field ("records[2].value.address.zip: expected int, got string"), kUnimplemented for a
  // JSON Schema id.
  virtual Result<std::string> EncodeJson(int32_t id, std::string_view json,
                                         std::string_view where,
                                         codec::JsonParser& parser) const = 0;
};

}  // namespace sluice::gateway
