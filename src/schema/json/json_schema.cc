// JsonSchema: Parse, the canonical/normalized printers and the ParsedSchema glue.
#include "schema/json/json_schema.h"

#include "codec/json_parser.h"
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

namespace {

void CollectProperties(const codec::JsonValue& schema, const std::string& prefix, int depth,
                       std::unordered_map<std::string, model::ValueType>& out) {
  if (depth > 16 || !schema.is_object()) return;
  const codec::JsonValue* props = schema.Find("properties");
  if (props == nullptr || !props->is_object()) return;
  for (const auto& [name, sub] : props->members()) {
    std::string path = prefix.empty() ? name : prefix + "." + name;
    const codec::JsonValue* type = sub.is_object() ? sub.Find("type") : nullptr;
    if (type == nullptr || !type->is_string()) continue;
    const std::string& t = type->text();
    if (t == "integer") out[path] = model::ValueType::kInt;
    if (t == "string") out[path] = model::ValueType::kString;
    if (t == "boolean") out[path] = model::ValueType::kBool;
    if (t == "array") out[path] = model::ValueType::kArray;
    if (t == "object") {
      out[path] = model::ValueType::kObject;
      CollectProperties(sub, path, depth + 1, out);
    }
  }
}

}  // namespace

std::unordered_map<std::string, model::ValueType> JsonSchema::FieldTypes() const {
  std::unordered_map<std::string, model::ValueType> out;
  codec::JsonParser parser;
  auto doc = parser.Parse(canonical_);
  if (doc.ok()) CollectProperties(*doc, "", 0, out);
  return out;
}

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
