#include "registry/internal/records.h"

#include <fmt/format.h>

#include "base/crc32c.h"
#include "codec/json_writer.h"

namespace sluice::registry::internal {

using schema::SchemaType;

spdlog::logger& Logger() {
  static auto& l = logging::Get("registry");
  return l;
}

const model::TopicPartition& SchemasTp() {
  static const model::TopicPartition tp(kSchemasTopic, model::PartitionId(0));
  return tp;
}

SrStatus Err(int code, std::string message) { return SrStatus{code, std::move(message)}; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string ReferencesJson(const std::vector<Reference>& refs) {
  codec::JsonWriter w;
  w.BeginArray();
  for (const auto& r : refs) {
    w.BeginObject().Field("name", r.name).Field("subject", r.subject).Field("version", r.version);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string ContentKey(SchemaType type, std::string_view text, const std::vector<Reference>& refs) {
  std::string k(schema::SchemaTypeName(type));
  k.push_back('\n');
  k.append(ReferencesJson(refs));
  k.push_back('\n');
  k.append(text);
  return k;
}

std::string ContentFingerprint(const SchemaContent& c) {
  return fmt::format("{:08x}", crc32c::Value(ContentKey(c.type, c.schema, c.references)));
}

std::string SchemaKey(const std::string& subject, int32_t version, const SchemaContent& c) {
  codec::JsonWriter w;
  w.BeginObject().Field("keytype", "SCHEMA").Field("subject", subject).Field("version", version);
  w.Field("id", c.id).Field("fp", ContentFingerprint(c));
  w.Field("magic", int32_t{1}).EndObject();
  return w.Take();
}

std::string SchemaValue(const std::string& subject, int32_t version, const SchemaContent& c,
                        bool deleted) {
  codec::JsonWriter w;
  w.BeginObject().Field("subject", subject).Field("version", version).Field("id", c.id);
  w.Field("schemaType", schema::SchemaTypeName(c.type)).Field("schema", c.schema);
  w.Key("references").Raw(ReferencesJson(c.references));
  w.Field("deleted", deleted).EndObject();
  return w.Take();
}

std::string ScopedKey(std::string_view keytype, const std::string& subject) {
  codec::JsonWriter w;
  w.BeginObject().Field("keytype", keytype).Key("subject");
  if (subject.empty()) {
    w.Null();
  } else {
    w.String(subject);
  }
  w.Field("magic", int32_t{0}).EndObject();
  return w.Take();
}

std::string IdKey() { return R"({"keytype":"ID","magic":0})"; }

model::ProduceRecord Rec(std::string key, std::optional<std::string> value) {
  return model::ProduceRecord(std::move(key), std::move(value));
}

}  // namespace sluice::registry::internal
