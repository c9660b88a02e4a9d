// The format-neutral face of a schema: what the registry, the gateway's validation and the stream
// processor's decoders need from Avro, JSON Schema and Protobuf alike. Each format lives in its own
// component (schema/avro, schema/json, schema/protobuf) and returns a ParsedSchema from its Parse().
//
// Compatibility is expressed in one direction only: reader.CheckCanRead(writer) says whether
// data written with `writer` can be read with `reader` (for JSON Schema: every document valid under
// `writer` is valid under `reader`). The registry derives BACKWARD/FORWARD/FULL and the transitive
// levels from it (see ../shared/reference/schema-registry.md §2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::schema {

enum class SchemaType { kAvro, kJson, kProtobuf };

// "AVRO", "JSON", "PROTOBUF": the registry's `schemaType` values.
std::string_view SchemaTypeName(SchemaType type);
// Exact, upper-case names as above; nullopt for anything else.
std::optional<SchemaType> ParseSchemaType(std::string_view name);

// A reference a schema makes to another registered schema, resolved by the registry before the
// schema is parsed. `name` is what the referring schema uses: Avro a full type name, Protobuf an
// import path, JSON Schema a $ref URL. The referenced schema's own references come resolved too.
struct ResolvedReference {
  ResolvedReference() = default;
  ResolvedReference(std::string n, std::string subj, int32_t ver, std::string text)
      : name(std::move(n)), subject(std::move(subj)), version(ver), schema(std::move(text)) {}
  std::string name;
  std::string subject;
  int32_t version = 0;
  std::string schema;  // the referenced version's stored (canonical) text
  std::vector<ResolvedReference> references;
};

// Checks one payload against a compiled schema. Thread-safe: Validate may be called concurrently.
class Validator {
 public:
  virtual ~Validator() = default;
  // `payload` is the record value without the Confluent wire prefix (and, for Protobuf, without
  // the message indexes): Avro binary datum, JSON text, or Protobuf message bytes.
  // Errors: kInvalidArgument whose message names the offending field by path, e.g.
  // "field 'order.items[2].price': expected number, got string".
  virtual Status Validate(std::string_view payload) const = 0;
};

// Decodes payloads written with one schema (the bytes after the Confluent wire-format prefix)
// into the stream processor's Value form: Avro records and Protobuf messages become objects,
// arrays arrays, maps objects, enums their symbol name, bytes and fixed their raw bytes as a
// string; Avro timestamp and date logical types become timestamps (docs/schema-registry.md,
// "Decoding for the stream processor"). Thread-safe (const), built once per schema id.
class ValueDecoder {
 public:
  virtual ~ValueDecoder() = default;
  // Strings, items and members are allocated in `arena`. Errors: kInvalidArgument naming what is
  // malformed (truncated varint, bad union branch, ...).
  virtual Result<model::Value> Decode(std::string_view body, model::Arena& arena) const = 0;
};

class ParsedSchema {
 public:
  virtual ~ParsedSchema() = default;
  virtual SchemaType type() const = 0;

  // The text the registry stores, hashes for identity and returns: the format's canonical form
  // (Avro: compact form keeping docs/defaults/aliases/properties; JSON Schema: compact JSON;
  // Protobuf: canonical .proto printing). Whitespace-only variants give the same text.
  virtual const std::string& canonical() const = 0;
  // The stronger `normalize=true` form (see the reference notes, §1.5 "Normalization").
  virtual std::string Normalized() const = 0;

  // Can a reader using this schema read data written with `writer`? One message per problem,
  // in words a user understands, naming the location (e.g. "reader field 'email' at
  // '/fields/3' has no default and is missing from the writer"). Empty means compatible.
  // A writer of another SchemaType yields one message.
  virtual std::vector<std::string> CheckCanRead(const ParsedSchema& writer) const = 0;

  // A validator for payloads written with this schema. `message_indexes` selects the Protobuf
  // message (the wire format's index path; empty = the first top-level message); other formats
  // ignore it. Errors: kInvalidArgument when the indexes name no message.
  virtual Result<std::unique_ptr<Validator>> CompileValidator(
      std::span<const int32_t> message_indexes) const = 0;
  // The types of the fields a payload of this schema carries, by dotted path ("user.id"), as the
  // stream processor sees them once decoded (ValueDecoder): used to type-check pipeline
  // expressions at deploy time. Paths whose type varies (unions of several types, arrays' items)
  // are left out. Default: nothing known.
  virtual std::unordered_map<std::string, model::ValueType> FieldTypes() const { return {}; }
  // A decoder for payloads written with this schema (message_indexes as above).
  virtual Result<std::unique_ptr<ValueDecoder>> CompileDecoder(
      std::span<const int32_t> message_indexes) const = 0;
};

}  // namespace sluice::schema
