// RestApi: the /v1 HTTP API (topics, produce, fetch, group offsets) plus /metrics and /health,
// implemented over storage::Log so it works with the embedded store and with Kafka alike.
// Wire shapes: docs/http-api.md.
#pragma once

#include <functional>
#include <string_view>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "gateway/router.h"
#include "runtime/shards.h"
#include "storage/log.h"

namespace sluice::codec {
class JsonParser;
}

namespace sluice::metrics {
class Registry;
}

namespace sluice::gateway {

struct RestApiOptions {
  int64_t max_event_bytes = 1024 * 1024;   // key + value + headers of one event
  int32_t max_events_per_request = 10000;
  int32_t max_wait_ms = 30000;             // cap on a fetch's wait_ms
  int32_t default_fetch_max = 100;
  int32_t max_fetch_max = 10000;
  // Defaults for topics created over HTTP (the request's "config" overrides them).
  storage::TopicConfig default_topic_config;
  metrics::Registry* metrics = nullptr;  // /metrics exposes it; may be null
};

// Lifecycle: construct, Register() into the router before the server starts, SetLog() once the
// log is open (readiness), SetLog(nullptr) before the log stops. Thread-safe: handlers run on any
// shard; the topic metadata cache takes a mutex.
class RestApi {
 public:
  RestApi(RestApiOptions options, runtime::Shards& shards, const Clock& clock);
  ~RestApi();

  void Register(Router& router);
  // The log the routes use; nullptr makes /health/ready and every /v1 route answer 503.
  void SetLog(storage::Log* log) { log_.store(log); }
  // `stopping` changes the 503 message from "starting" to "stopping".
  void SetStopping() { stopping_.store(true); }

  // Checks one event value for a topic whose config has value_schema_validation (the schema
  // registry's validation service; see registry::Registry::ValidateRecord). Unset when the
  // registry is off: such topics then refuse produce with 503. Set before SetLog; thread-safe.
  // `id` receives the schema id the value was checked against.
  using ValueValidator =
      std::function<Status(std::string_view topic, std::string_view value, int32_t* id)>;
  void SetValueValidator(ValueValidator v) { value_validator_ = std::move(v); }
  // Told, after a validated produce succeeded, how many events each schema id covered (lineage).
  using LineageRecorder = std::function<void(std::string_view topic, int32_t id, uint64_t events,
                                             std::string_view principal)>;
  void SetLineageRecorder(LineageRecorder r) { lineage_ = std::move(r); }

 private:
  struct TopicMeta {
    int32_t partitions = 0;
    int32_t max_message_bytes = 0;
    bool validate_values = false;
    std::chrono::steady_clock::time_point fetched;
  };

  Task<HttpResponse> CreateTopic(HttpRequest& req);
  Task<HttpResponse> ListTopics(HttpRequest& req);
  Task<HttpResponse> DescribeTopic(HttpRequest& req);
  Task<HttpResponse> AlterTopic(HttpRequest& req);
  Task<HttpResponse> DeleteTopic(HttpRequest& req);
  Task<HttpResponse> Produce(HttpRequest& req);
  Task<HttpResponse> Fetch(HttpRequest& req);
  Task<HttpResponse> CommitOffsets(HttpRequest& req);
  Task<HttpResponse> FetchOffsets(HttpRequest& req);
  Task<HttpResponse> Metrics(HttpRequest& req);
  Task<HttpResponse> Live(HttpRequest& req);
  Task<HttpResponse> Ready(HttpRequest& req);

  // The log, or a 503 response in *unavailable.
  storage::Log* LogOr503(HttpResponse* unavailable) const;
  // Partition count and batch limit of a topic, cached for a second. Errors: kNotFound.
  Task<Result<TopicMeta>> GetTopicMeta(storage::Log& log, const std::string& topic);
  // The cached entry when it is fresh; lets hot paths skip a coroutine call.
  std::optional<TopicMeta> CachedTopicMeta(const std::string& topic);
  void ForgetTopic(const std::string& topic);
  // This shard's JSON parser (kept so simdjson's buffers are reused across requests); off a
  // shard thread, a new parser stored in *fallback.
  codec::JsonParser& ShardParser(std::unique_ptr<codec::JsonParser>& fallback);

  RestApiOptions options_;
  runtime::Shards& shards_;
  const Clock& clock_;
  std::atomic<storage::Log*> log_{nullptr};
  std::atomic<bool> stopping_{false};
  ValueValidator value_validator_;
  LineageRecorder lineage_;
  std::atomic<uint64_t> sticky_{0};  // round-robin partition for keyless requests
  std::mutex meta_mu_;
  std::map<std::string, TopicMeta> meta_;  // guarded by meta_mu_
  // One per shard, used only by that shard's thread and never across a suspension point.
  std::vector<std::unique_ptr<codec::JsonParser>> parsers_;
};

}  // namespace sluice::gateway
