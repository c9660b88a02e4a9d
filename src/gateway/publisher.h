// Publisher: the ingest core shared by every front end (HTTP, REST Proxy, CloudEvents,
// WebSocket, gRPC). Given a topic and a request's events it checks them all (size, partition,
// schema), picks partitions (explicit, Kafka murmur2 by key, sticky for null keys), appends one
// batch per partition (partitions in parallel) and reports each event's partition and offset.
// Bounded: requests beyond the in-flight byte budget are refused with kUnavailable (503 +
// Retry-After) instead of queueing without limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/rate_limiter.h"
#include "gateway/publish_event.h"
#include "gateway/schema_id_tally.h"
#include "model/record.h"
#include "runtime/asio.h"
#include "storage/log.h"

namespace sluice::gateway {

struct PublisherOptions {
  // Bytes of requests being appended at once (over all front ends); beyond it a request gets
  // kUnavailable "store is busy" (HTTP 503 + Retry-After) rather than memory growing.
  int64_t max_inflight_bytes = 256LL * 1024 * 1024;
  // Config of dead-letter topics created on first use (partitions forced to 1).
  storage::TopicConfig dead_letter_topic_config;
};

struct PublishOptions {
  // false: one bad event refuses the whole request and nothing is appended (Sluice's own API).
  // true: bad events get their own error in PublishOutcome::errors and the rest are appended
  // (REST Proxy, per-record delivery reports).
  bool per_event_errors = false;
  // Principal recorded in the schema lineage ("anonymous" when auth is off).
  std::string_view principal = "anonymous";
  // Whose rate limit the request counts against: the principal, or the client's address while
  // auth is off ("ip:10.0.0.7"). Empty: the principal.
  std::string_view rate_key;
  // When set and a rate limit refuses the request: the decision (for 429 + RateLimit-*).
  RateDecision* rate_decision = nullptr;
  // Internal appends (dead letters of a request already counted): no rate limit, no DLQ.
  bool internal = false;
};

struct PublishOutcome {
  // Per event, same order as the request: the partition chosen and the offset (when appended).
  std::vector<int32_t> partitions;
  std::vector<model::Offset> offsets;
  // Events that failed (only with per_event_errors): index → why.
  std::map<size_t, Status> errors;
  // Events that failed validation and went to the topic's dead-letter topic instead (topic
  // config invalid_event_policy=dead_letter): index → where and why. Their `partitions`/
  // `offsets` entries are the dead-letter topic's.
  struct DeadLetter {
    std::string topic;
    std::string reason;
  };
  std::map<size_t, DeadLetter> dead_lettered;
  // Schema ids the values were checked against (lineage): (id, events).
  std::vector<std::pair<int32_t, uint64_t>> schema_ids;
  size_t appended() const { return offsets.size() - errors.size() - dead_lettered.size(); }
};

// Thread-safe; one per process, shared by every front end. Lifecycle: SetLog once the log is
// open, SetLog(nullptr) before it stops.
class Publisher {
 public:
  explicit Publisher(PublisherOptions options = {});

  void SetLog(storage::Log* log) { log_.store(log); }
  storage::Log* log() const { return log_.load(); }

  // Checks one value of a topic with value_schema_validation; unset = registry off (such topics
  // refuse produce with 503). `id` receives the schema id used.
  using ValueValidator =
      std::function<Status(std::string_view topic, std::string_view value, int32_t* id)>;
  void SetValueValidator(ValueValidator v) { value_validator_ = std::move(v); }
  using LineageRecorder = std::function<void(std::string_view topic, int32_t id, uint64_t events,
                                             std::string_view principal)>;
  void SetLineageRecorder(LineageRecorder r) { lineage_ = std::move(r); }
  // The consuming side of the lineage: the fetch and subscribe paths of every front end report,
  // per response, how many values of each schema id (Confluent wire format) `principal` read
  // from `topic`. Kept here because the publisher is what every front end shares. Set before
  // the log (SetLog), like the other hooks.
  using ConsumeRecorder = std::function<void(std::string_view topic, int32_t id, uint64_t events,
                                             std::string_view principal)>;
  void SetConsumeRecorder(ConsumeRecorder r) { consume_lineage_ = std::move(r); }
  // Whether consumed values are worth tallying (a recorder is set).
  bool records_consumers() const { return static_cast<bool>(consume_lineage_); }
  // Reports one response's tally (no-op without a recorder or with an empty tally).
  void RecordConsumed(std::string_view topic, std::string_view principal,
                      const SchemaIdTally& tally) const {
    if (!consume_lineage_ || tally.empty()) return;
    tally.ForEach([&](int32_t id, uint64_t n) { consume_lineage_(topic, id, n, principal); });
  }
  // Checks a key on topics with value_schema_validation: kNotFound (no "<topic>-key" schema)
  // means keys are not checked; kInvalidArgument names the field.
  using KeyValidator = std::function<Status(std::string_view topic, std::string_view key)>;
  void SetKeyValidator(KeyValidator v) { key_validator_ = std::move(v); }
  // Token buckets per principal and topic (may be null: no limits). Outlives the publisher.
  void SetRateLimiter(RateLimiter* limiter) { limiter_ = limiter; }
  bool has_value_validator() const { return static_cast<bool>(value_validator_); }
  // Validates one value as produce would (for front ends that check before publishing).
  Status ValidateValue(std::string_view topic, std::string_view value, int32_t* id) const;

  // What produce needs to know about a topic, cached for a second.
  struct TopicMeta {
    int32_t partitions = 0;
    int32_t max_message_bytes = 0;
    bool validate_values = false;
    std::string dead_letter_topic;  // set when invalid events go to a dead-letter topic
    std::chrono::steady_clock::time_point fetched;
  };
  // Errors: kNotFound (no such topic), kUnavailable (no log).
  Task<Result<TopicMeta>> GetTopicMeta(const std::string& topic);
  std::optional<TopicMeta> CachedTopicMeta(const std::string& topic);
  void ForgetTopic(const std::string& topic);

  // Publishes `events` to `topic`; on return events[i].partition holds each event's partition.
  // Errors (whole request): kNotFound (topic), kInvalidArgument (a bad event, when not
  // per_event_errors), kFailedPrecondition (validation on but no schema), kUnavailable (no log,
  // store busy, registry off), kResourceExhausted (event too large, or over a rate limit: then
  // *options.rate_decision says which and when to retry), and append failures.
  Task<Result<PublishOutcome>> Publish(const std::string& topic, std::vector<PublishEvent>& events,
                                       PublishOptions options);

  // Bytes currently being appended (for tests and metrics).
  int64_t inflight_bytes() const { return inflight_bytes_.load(std::memory_order_relaxed); }

 private:
  Task<Status> AppendDeadLetters(const std::string& topic, std::vector<PublishEvent>& events,
                                 PublishOutcome& out);

  PublisherOptions options_;
  std::atomic<storage::Log*> log_{nullptr};
  ValueValidator value_validator_;
  LineageRecorder lineage_;
  ConsumeRecorder consume_lineage_;
  KeyValidator key_validator_;
  RateLimiter* limiter_ = nullptr;
  std::atomic<int64_t> inflight_bytes_{0};
  std::mutex meta_mu_;
  std::map<std::string, TopicMeta, std::less<>> meta_;  // guarded by meta_mu_
};

}  // namespace sluice::gateway
