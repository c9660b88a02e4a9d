// TopicConfig parsing, validation and serialisation; topic-name rules.
#include "storage/topic_config.h"

#include <charconv>

namespace sluice::storage {
namespace {

Result<int64_t> ParseInt(std::string_view key, std::string_view v) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
    return InvalidArgument("config {}: '{}' is not an integer", key, v);
  }
  return out;
}

// Accepts "retention.ms" (Kafka) as well as "retention_ms".
std::string Canonical(std::string_view key) {
  std::string k(key);
  for (char& c : k) {
    if (c == '.') c = '_';
  }
  return k;
}

}  // namespace

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kAlways:
      return "always";
    case Durability::kInterval:
      return "interval";
    case Durability::kNever:
      return "never";
  }
  return "always";
}

std::string_view CleanupPolicyName(CleanupPolicy p) {
  return p == CleanupPolicy::kCompact ? "compact" : "delete";
}

Status TopicConfig::Set(std::string_view raw_key, std::string_view value) {
  const std::string key = Canonical(raw_key);
  auto set_int = [&](int64_t& field) -> Status {
    auto r = ParseInt(raw_key, value);
    if (!r.ok()) return r.status();
    field = *r;
    return Status::Ok();
  };
  if (key == "partitions") {
    int64_t v = 0;
    SLUICE_RETURN_IF_ERROR(set_int(v));
    if (v < 1 || v > 10000) return InvalidArgument("config partitions: {} not in 1..10000", v);
    partitions = static_cast<int32_t>(v);
    return Status::Ok();
  }
  if (key == "durability") {
    if (value == "always")
      durability = Durability::kAlways;
    else if (value == "interval")
      durability = Durability::kInterval;
    else if (value == "never")
      durability = Durability::kNever;
    else
      return InvalidArgument("config durability: '{}' is not one of always, interval, never",
                             value);
    return Status::Ok();
  }
  if (key == "cleanup_policy") {
    if (value == "delete")
      cleanup_policy = CleanupPolicy::kDelete;
    else if (value == "compact")
      cleanup_policy = CleanupPolicy::kCompact;
    else
      return InvalidArgument("config cleanup_policy: '{}' is not one of delete, compact", value);
    return Status::Ok();
  }
  if (key == "flush_interval_ms") return set_int(flush_interval_ms);
  if (key == "retention_ms") return set_int(retention_ms);
  if (key == "retention_bytes") return set_int(retention_bytes);
  if (key == "delete_retention_ms") return set_int(delete_retention_ms);
  if (key == "segment_bytes") return set_int(segment_bytes);
  if (key == "segment_ms") return set_int(segment_ms);
  if (key == "index_interval_bytes") return set_int(index_interval_bytes);
  auto set_bool = [&](bool& field) -> Status {
    if (value == "true") {
      field = true;
    } else if (value == "false") {
      field = false;
    } else {
      return InvalidArgument("config {}: '{}' is not true or false", raw_key, value);
    }
    return Status::Ok();
  };
  if (key == "value_schema_validation") return set_bool(value_schema_validation);
  if (key == "preallocate") return set_bool(preallocate);
  if (key == "invalid_event_policy") {
    if (value == "reject") {
      dead_letter_invalid = false;
    } else if (value == "dead_letter") {
      dead_letter_invalid = true;
    } else {
      return InvalidArgument("config invalid_event_policy: '{}' is not reject or dead_letter",
                             value);
    }
    return Status::Ok();
  }
  if (key == "dead_letter_topic") {
    if (!value.empty()) {
      SLUICE_RETURN_IF_ERROR(ValidateTopicName(value, false).WithContext("config dead_letter_topic"));
    }
    dead_letter_topic = std::string(value);
    return Status::Ok();
  }
  if (key == "max_message_bytes") {
    int64_t v = 0;
    SLUICE_RETURN_IF_ERROR(set_int(v));
    if (v < 64 || v > (1LL << 30))
      return InvalidArgument("config max_message_bytes: {} not in 64..2^30", v);
    max_message_bytes = static_cast<int32_t>(v);
    return Status::Ok();
  }
  return InvalidArgument(
      "unknown topic config key '{}' (known: partitions, durability, flush_interval_ms, "
      "retention_ms, retention_bytes, cleanup_policy, delete_retention_ms, segment_bytes, "
      "segment_ms, max_message_bytes, index_interval_bytes, preallocate, value_schema_validation, "
      "invalid_event_policy, dead_letter_topic)",
      raw_key);
}

Status TopicConfig::Apply(const std::map<std::string, std::string>& kv) {
  TopicConfig copy = *this;
  for (const auto& [k, v] : kv) SLUICE_RETURN_IF_ERROR(copy.Set(k, v));
  SLUICE_RETURN_IF_ERROR(copy.Validate());
  *this = copy;
  return Status::Ok();
}

Status TopicConfig::Validate() const {
  if (partitions < 1) return InvalidArgument("config partitions: must be >= 1");
  if (flush_interval_ms < 1) return InvalidArgument("config flush_interval_ms: must be >= 1");
  if (retention_ms < -1 || retention_ms == 0) {
    return InvalidArgument("config retention_ms: must be -1 (forever) or > 0");
  }
  if (retention_bytes < -1 || retention_bytes == 0) {
    return InvalidArgument("config retention_bytes: must be -1 (no limit) or > 0");
  }
  if (delete_retention_ms < 0) return InvalidArgument("config delete_retention_ms: must be >= 0");
  if (segment_bytes < 1024 || segment_bytes > (1LL << 31) - 1) {
    return InvalidArgument("config segment_bytes: must be in 1024..2^31-1");
  }
  if (segment_ms < 1) return InvalidArgument("config segment_ms: must be >= 1");
  if (index_interval_bytes < 1) return InvalidArgument("config index_interval_bytes: must be >= 1");
  if (max_message_bytes > segment_bytes) {
    return InvalidArgument("config max_message_bytes ({}) exceeds segment_bytes ({})",
                           max_message_bytes, segment_bytes);
  }
  return Status::Ok();
}

std::map<std::string, std::string> TopicConfig::ToMap() const {
  return {
      {"partitions", std::to_string(partitions)},
      {"durability", std::string(DurabilityName(durability))},
      {"flush_interval_ms", std::to_string(flush_interval_ms)},
      {"retention_ms", std::to_string(retention_ms)},
      {"retention_bytes", std::to_string(retention_bytes)},
      {"cleanup_policy", std::string(CleanupPolicyName(cleanup_policy))},
      {"delete_retention_ms", std::to_string(delete_retention_ms)},
      {"segment_bytes", std::to_string(segment_bytes)},
      {"segment_ms", std::to_string(segment_ms)},
      {"max_message_bytes", std::to_string(max_message_bytes)},
      {"index_interval_bytes", std::to_string(index_interval_bytes)},
      {"preallocate", preallocate ? "true" : "false"},
      {"value_schema_validation", value_schema_validation ? "true" : "false"},
      {"invalid_event_policy", dead_letter_invalid ? "dead_letter" : "reject"},
      {"dead_letter_topic", dead_letter_topic},
  };
}

Status ValidateTopicName(std::string_view name, bool allow_internal) {
  if (name.empty()) return InvalidArgument("topic name is empty");
  if (name.size() > 249) return InvalidArgument("topic name is longer than 249 characters");
  if (name == "." || name == "..") return InvalidArgument("topic name '{}' is not allowed", name);
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (ok) continue;
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
      // Half of a UTF-8 sequence or a control byte would print as garbage: name it in hex.
      return InvalidArgument(
          "topic name '{}' has byte 0x{:02X} at position {} (names are ASCII); allowed: a-z A-Z "
          "0-9 . _ -",
          name, byte, i);
    }
    return InvalidArgument("topic name '{}' has character '{}'; allowed: a-z A-Z 0-9 . _ -", name,
                           c);
  }
  if (!allow_internal && name[0] == '_') {
    return InvalidArgument("topic name '{}' starts with '_', reserved for internal topics", name);
  }
  return Status::Ok();
}

}  // namespace sluice::storage
