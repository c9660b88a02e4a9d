// JsonEncoder: a record given as Protobuf's canonical JSON mapping (what Confluent's REST Proxy
// accepts for `key`/`value` of protobuf requests) turned into what Confluent's Protobuf
// serializer writes after the 5-byte schema-id prefix: the message-index list (wire.h), then
// the message bytes. How the REST Proxy uses it: docs/rest-proxy.md ("Avro and Protobuf").
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "schema/schema.h"

namespace google::protobuf {
class Descriptor;
class DynamicMessageFactory;
class Message;
namespace util {
class TypeResolver;
}
}  // namespace google::protobuf

namespace sluice::schema::protobuf {

// Compiled once per (schema, message); immutable and thread-safe afterwards. Keeps the schema
// (and so its DescriptorPool) alive.
class JsonEncoder {
 public:
  // The encoder of the message `message_indexes` names in `schema` (empty: the first top-level
  // message, as Confluent's REST Proxy and serializers use).
  // Errors: kInvalidArgument when `schema` is not a Protobuf schema, declares no message, or the
  // indexes name none.
  static Result<std::unique_ptr<JsonEncoder>> Create(std::shared_ptr<const ParsedSchema> schema,
                                                     std::span<const int32_t> message_indexes);
  ~JsonEncoder();
  JsonEncoder(const JsonEncoder&) = delete;
  JsonEncoder& operator=(const JsonEncoder&) = delete;

  // Appends the message-index list and the binary message for `json` (libprotobuf's JSON
  // parser: proto3 JSON mapping, lowerCamelCase or original field names, enums by name or
  // number, 64-bit integers as numbers or strings, well-known types; unknown fields are
  // errors). Errors: kInvalidArgument with libprotobuf's message naming the field, or the
  // missing proto2 required fields. On error `out` is unchanged.
  Status Encode(std::string_view json, std::string& out) const;

  // Full name of the message encoded ("com.acme.Order").
  const std::string& message_name() const;

 private:
  JsonEncoder() = default;

  std::shared_ptr<const ParsedSchema> schema_;
  const google::protobuf::Descriptor* message_ = nullptr;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Message* prototype_ = nullptr;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  std::string type_url_;
  std::string indexes_;  // the encoded message-index list
};

}  // namespace sluice::schema::protobuf
