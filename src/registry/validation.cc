// The registry's validation service: Registry::ValidateRecord (see registry.h), and the
// lineage it feeds.
#include <chrono>
#include <fmt/format.h>

#include "registry/registry.h"
#include "schema/protobuf/wire.h"

namespace sluice::registry {

namespace {

// The subject name for a topic under TopicNameStrategy, built in a reused buffer.
const std::string& SubjectFor(std::string_view topic, bool is_key) {
  thread_local std::string subject;
  subject.assign(topic);
  subject.append(is_key ? "-key" : "-value");
  return subject;
}

}  // namespace

Status Registry::ValidateRecord(std::string_view topic, std::string_view payload, bool is_key,
                                int32_t* id_out) const {
  const std::string& subject = SubjectFor(topic, is_key);
  int32_t id = 0;
  schema::SchemaType type = schema::SchemaType::kJson;
  bool prefixed = !payload.empty() && payload[0] == '\0';
  bool id_in_subject = false;
  {
    std::shared_lock lock(mu_);
    auto it = state_.subjects.find(subject);
    if (it == state_.subjects.end()) {
      return NotFound("no schema registered for subject '{}'", subject);
    }
    const auto& versions = it->second.versions;
    if (prefixed) {
      if (payload.size() < 5) {
        return InvalidArgument("payload of {} bytes is too short for the schema-id prefix",
                               payload.size());
      }
      const auto* b = reinterpret_cast<const unsigned char*>(payload.data());
      id = static_cast<int32_t>((uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) |
                                (uint32_t{b[3]} << 8) | uint32_t{b[4]});
      for (const auto& [v, info] : versions) {
        if (info.content->id == id) {
          id_in_subject = true;
          type = info.content->type;
          break;
        }
      }
      if (!id_in_subject) {
        return InvalidArgument("schema id {} is not a version of subject '{}'", id, subject);
      }
    } else {
      const VersionInfo* latest = nullptr;
      for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
        if (!v->second.deleted) {
          latest = &v->second;
          break;
        }
      }
      if (latest == nullptr) return NotFound("no live schema for subject '{}'", subject);
      if (latest->content->type != schema::SchemaType::kJson) {
        return InvalidArgument(
            "payload has no schema-id prefix (magic byte 0 + 4-byte id) and subject '{}' is {}, "
            "not JSON",
            subject, schema::SchemaTypeName(latest->content->type));
      }
      id = latest->content->id;
    }
  }
  if (id_out != nullptr) *id_out = id;
  std::string_view body = prefixed ? payload.substr(5) : payload;
  if (prefixed && type == schema::SchemaType::kProtobuf) {
    auto idx = schema::protobuf::DecodeMessageIndexes(body);
    if (!idx.ok()) return idx.status().WithContext("protobuf message indexes");
    body.remove_prefix(idx->size);
    const bool first = idx->indexes.empty() || (idx->indexes.size() == 1 && idx->indexes[0] == 0);
    if (!first) {
      auto v = ValidatorFor(id, idx->indexes);
      if (!v.ok()) return InvalidArgument("{}", v.status.message);
      return v.value->Validate(body);
    }
  }
  std::shared_ptr<const schema::Validator> validator;
  {
    std::shared_lock lock(fast_mu_);
    if (auto it = fast_validators_.find(id); it != fast_validators_.end()) validator = it->second;
  }
  if (!validator) {
    auto v = ValidatorFor(id);
    if (!v.ok()) return InvalidArgument("{}", v.status.message);
    validator = v.value;
    std::unique_lock lock(fast_mu_);
    fast_validators_.emplace(id, validator);
  }
  return validator->Validate(body);
}

Result<model::Value> Registry::DecodeRecord(std::string_view payload, model::Arena& arena,
                                            int32_t* id_out) const {
  if (payload.size() < 5 || payload[0] != '\0') {
    return InvalidArgument("payload has no schema-id prefix (magic byte 0 + 4-byte id)");
  }
  const auto* b = reinterpret_cast<const unsigned char*>(payload.data());
  auto id = static_cast<int32_t>((uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) |
                                 (uint32_t{b[3]} << 8) | uint32_t{b[4]});
  if (id_out != nullptr) *id_out = id;
  std::string_view body = payload.substr(5);
  std::vector<int32_t> indexes;
  std::shared_ptr<const schema::ParsedSchema> parsed;
  {
    // The type decides whether message indexes follow the prefix.
    auto p = Parsed(id);
    if (!p.ok()) return InvalidArgument("schema id {}: {}", id, p.status.message);
    parsed = p.value;
  }
  if (parsed->type() == schema::SchemaType::kProtobuf) {
    auto idx = schema::protobuf::DecodeMessageIndexes(body);
    if (!idx.ok()) return idx.status().WithContext("protobuf message indexes");
    body.remove_prefix(idx->size);
    indexes = std::move(idx->indexes);
    if (indexes.size() == 1 && indexes[0] == 0) indexes.clear();
  }
  auto key = std::make_pair(id, indexes);
  std::shared_ptr<const schema::ValueDecoder> decoder;
  {
    std::shared_lock lock(fast_mu_);
    if (auto it = decoders_.find(key); it != decoders_.end()) decoder = it->second.decoder;
  }
  if (!decoder) {
    auto d = parsed->CompileDecoder(indexes);
    if (!d.ok()) return InvalidArgument("schema id {}: {}", id, d.status().message());
    decoder = std::move(d).value();
    std::unique_lock lock(fast_mu_);
    decoders_.emplace(key, CachedDecoder{parsed, decoder});
  }
  auto v = decoder->Decode(body, arena);
  if (!v.ok()) return v.status().WithContext(fmt::format("schema id {}", id));
  return v;
}

std::unordered_map<std::string, model::ValueType> Registry::FieldTypesForTopic(
    std::string_view topic) const {
  int32_t id = 0;
  {
    std::shared_lock lock(mu_);
    auto it = state_.subjects.find(SubjectFor(topic, false));
    if (it == state_.subjects.end()) return {};
    for (auto v = it->second.versions.rbegin(); v != it->second.versions.rend(); ++v) {
      if (!v->second.deleted) {
        id = v->second.content->id;
        break;
      }
    }
  }
  if (id == 0) return {};
  auto p = Parsed(id);
  if (!p.ok()) return {};
  return p.value->FieldTypes();
}

void Registry::RecordLineage(int32_t id, std::string_view topic, std::string_view principal,
                             std::string_view role, uint64_t events) {
  lineage_.Record(id, topic, principal, role, events);
}

std::vector<Registry::LineageUse> Registry::Lineage() const { return lineage_.Uses(); }

}  // namespace sluice::registry
