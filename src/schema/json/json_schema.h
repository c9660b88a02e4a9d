// JSON Schema for the schema registry: parsing (drafts 4, 6, 7, 2019-09, 2020-12), canonical
// and normalized text, Confluent's compatibility diff and a compiled payload validator.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "schema/schema.h"

namespace sluice::schema::json {

namespace internal {
class SchemaSet;
}

// A parsed JSON Schema. Immutable after Parse; thread-safe.
class JsonSchema final : public ParsedSchema {
 public:
  ~JsonSchema() override;
  SchemaType type() const override { return SchemaType::kJson; }
  // Compact JSON of the schema as received (member order kept).
  const std::string& canonical() const override { return canonical_; }
  // Compact JSON with object keys sorted recursively.
  std::string Normalized() const override;
  // Confluent's JSON Schema diff (STRICT policy) with `writer` as the original schema and
  // this one as the update. Messages name the JSON pointer and end with the difference type.
  std::vector<std::string> CheckCanRead(const ParsedSchema& writer) const override;
  // Validates JSON payloads; `message_indexes` is ignored.
  Result<std::unique_ptr<Validator>> CompileValidator(
      std::span<const int32_t> message_indexes) const override;
  // Decodes the JSON text (schema-independent); `message_indexes` is ignored.
  Result<std::unique_ptr<ValueDecoder>> CompileDecoder(
      std::span<const int32_t> message_indexes) const override;
  // From `properties` with a single `type` (integer, string, boolean, object, array; "number"
  // decodes as int or double, so it is left out), nested objects included.
  std::unordered_map<std::string, model::ValueType> FieldTypes() const override;

  const internal::SchemaSet& set() const { return *set_; }

 private:
  friend Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view,
                                                     std::span<const ResolvedReference>);
  JsonSchema() = default;
  std::unique_ptr<internal::SchemaSet> set_;
  std::string canonical_;
};

// Parses a JSON Schema (a JSON object or boolean). `references` are the registered schemas its
// $refs may name (ResolvedReference::name = the $ref URL). Errors: kInvalidArgument naming the
// JSON pointer of the problem ("invalid JSON schema at #/properties/age/type: ...").
Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references);

}  // namespace sluice::schema::json
