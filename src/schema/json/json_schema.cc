// JsonSchema: Parse, the canonical/normalized printers and the ParsedSchema glue.
#include "schema/json/json_schema.h"

#include "codec/value_json.h"

#include "schema/json/internal/diff.h"
#include "schema/json/internal/schema_set.h"
#include "schema/json/internal/validator.h"

namespace sluice::schema::json {

JsonSchema::~JsonSchema() = default;

std::string JsonSchema::Normalized() const {
  return internal::NormalizedJson(set_->doc(0).root);
}

std::vector<std::string> JsonSchema::CheckCanRead(const ParsedSchema& writer) const {
  if (writer.type() != SchemaType::kJson) {
    return {fmt::format("Incompatible because of different schema type: the writer is {}, the "
                        "reader JSON",
                        SchemaTypeName(writer.type()))};
  }
  const auto& w = static_cast<const JsonSchema&>(writer);
  return internal::Diff(w.set_->root(), set_->root());
}

namespace {

// JSON payloads decode the same whatever their schema says; one simdjson parser per thread.
class JsonDecoder final : public ValueDecoder {
 public:
  Result<model::Value> Decode(std::string_view body, model::Arena& arena) const override {
    thread_local codec::ValueJsonDecoder decoder;
    return decoder.Decode(body, arena);
  }
};

}  // namespace

Result<std::unique_ptr<ValueDecoder>> JsonSchema::CompileDecoder(
    std::span<const int32_t> message_indexes) const {
  (void)message_indexes;
  return std::unique_ptr<ValueDecoder>(std::make_unique<JsonDecoder>());
}

Result<std::unique_ptr<Validator>> JsonSchema::CompileValidator(
    std::span<const int32_t> /*message_indexes*/) const {
  return internal::CompileValidator(*set_);
}

Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references) {
  SLUICE_ASSIGN_OR_RETURN(auto set, internal::SchemaSet::Load(text, references));
  std::unique_ptr<JsonSchema> schema(new JsonSchema());
  schema->canonical_ = set->doc(0).root.ToJson();
  schema->set_ = std::move(set);
  return std::unique_ptr<ParsedSchema>(std::move(schema));
}

}  // namespace sluice::schema::json
