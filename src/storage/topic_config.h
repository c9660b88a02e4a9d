// TopicConfig: per-topic settings (partitions, durability, retention, compaction, segments),
// with parsing from the string key/values used by the HTTP API, the CLI and config files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sluice::storage {

enum class Durability {
  kAlways,    // ack after fdatasync (group-committed)
  kInterval,  // ack after write; fdatasync every flush_interval_ms
  kNever,     // ack after write; the OS writes back when it likes
};
std::string_view DurabilityName(Durability d);

enum class CleanupPolicy { kDelete, kCompact };
std::string_view CleanupPolicyName(CleanupPolicy p);

struct TopicConfig {
  int32_t partitions = 1;
  Durability durability = Durability::kAlways;
  int64_t flush_interval_ms = 100;
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // -1: keep forever
  int64_t retention_bytes = -1;                   // per partition; -1: no limit
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // how long tombstones survive compaction
  int64_t segment_bytes = 256LL * 1024 * 1024;
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  int32_t max_message_bytes = 1024 * 1024;  // largest batch accepted
  int64_t index_interval_bytes = 4096;
  // Zero-fill the next segment's file in the background (paced) and roll onto it, so appends
  // overwrite zeros already on disk: an fdatasync then needs no journal commit (about half the
  // latency on ext4) at the cost of one segment of disk held ahead per partition. Kafka's
  // `preallocate`; worth it for `always` topics whose ack latency matters.
  bool preallocate = false;
  // Produce through the HTTP API checks each event's value against the schema registry's
  // subject "<topic>-value" (the registry's validation service). Embedded store only: Kafka has
  // no such topic config, so in the scale-out mode it reads back as false.
  bool value_schema_validation = false;
  // What produce does with an event that fails validation: "reject" it (the request fails with
  // 400 naming it) or "dead_letter" it — append it, unchanged, to dead_letter_topic with the
  // reason in its headers, and answer where it went. Embedded store only, like the above.
  bool dead_letter_invalid = false;  // invalid_event_policy: reject | dead_letter
  std::string dead_letter_topic;     // empty: "<topic>.dlq"

  // Sets one key (e.g. "retention_ms" or its Kafka spelling "retention.ms") from a string.
  // Errors: kInvalidArgument naming the key and the accepted values.
  Status Set(std::string_view key, std::string_view value);
  // Applies several keys; nothing changes unless all are valid.
  Status Apply(const std::map<std::string, std::string>& kv);
  // Checks ranges and combinations.
  Status Validate() const;
  // All keys with their current values (canonical names), for describe and persistence.
  std::map<std::string, std::string> ToMap() const;

  bool operator==(const TopicConfig&) const = default;
};

// Topic names: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". Names starting with '_' are
// internal and only the platform creates them.
Status ValidateTopicName(std::string_view name, bool allow_internal);

}  // namespace sluice::storage
