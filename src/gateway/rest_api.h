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
#include "gateway/idempotency.h"
#include "gateway/publisher.h"
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
  // Cap on a decoded (gzip/zstd) request body: the listener's request-size limit.
  int64_t max_request_bytes = 16LL * 1024 * 1024;
  int32_t max_wait_ms = 30000;             // cap on a fetch's wait_ms
  int32_t default_fetch_max = 100;
  int32_t max_fetch_max = 10000;
  // Defaults for topics created over HTTP (the request's "config" overrides them).
  storage::TopicConfig default_topic_config;
  metrics::Registry* metrics = nullptr;  // /metrics exposes it; may be null
  IdempotencyOptions idempotency;        // Idempotency-Key on produce
};

// Lifecycle: construct, Register() into the router before the server starts, SetLog() once the
// log is open (readiness), SetLog(nullptr) before the log stops. Thread-safe: handlers run on any
// shard; the topic metadata cache takes a mutex.
// Helpers shared by the produce routes of every HTTP front end (events_api.cc).
// "ip:<address>" of a peer "address:port": the rate-limit / idempotency identity without auth.
std::string ClientAddressKey(std::string_view remote);
// PublishOptions for an HTTP request: the principal (auth on) or the client's address as the
// rate-limit identity (auth off, kept in *rate_key, which must outlive the options), with the
// limiter's decision reported into *decision.
PublishOptions HttpPublishOptions(const HttpRequest& req, std::string* rate_key,
                                  RateDecision* decision);
// RateLimit-Limit / -Remaining / -Reset from a limiter decision.
void AddRateLimitHeaders(const RateDecision& d, HttpResponse& resp);
// Copies a valid X-Request-Id and W3C traceparent/tracestate into every event's headers.
void AddTraceHeaders(const HttpRequest& req, std::vector<PublishEvent>& events);

class RestApi {
 public:
  // `publisher` (shared with the other front ends) outlives the RestApi.
  RestApi(RestApiOptions options, runtime::Shards& shards, const Clock& clock,
          Publisher& publisher);
  ~RestApi();

  void Register(Router& router);
  // The log the routes use; nullptr makes /health/ready and every /v1 route answer 503.
  // Also sets the publisher's log.
  void SetLog(storage::Log* log) {
    publisher_.SetLog(log);
    log_.store(log);
  }
  // `stopping` changes the 503 message from "starting" to "stopping".
  void SetStopping() { stopping_.store(true); }

  Publisher& publisher() { return publisher_; }

 private:
  Task<HttpResponse> CreateTopic(HttpRequest& req);
  Task<HttpResponse> ListTopics(HttpRequest& req);
  Task<HttpResponse> DescribeTopic(HttpRequest& req);
  Task<HttpResponse> AlterTopic(HttpRequest& req);
  Task<HttpResponse> DeleteTopic(HttpRequest& req);
  Task<HttpResponse> Produce(HttpRequest& req);  // ProduceOnce, or ProduceIdempotent with a key
  Task<HttpResponse> ProduceIdempotent(HttpRequest& req);
  Task<HttpResponse> ProduceOnce(HttpRequest& req);
  Task<HttpResponse> Fetch(HttpRequest& req);
  Task<HttpResponse> CommitOffsets(HttpRequest& req);
  Task<HttpResponse> FetchOffsets(HttpRequest& req);
  Task<HttpResponse> ListGroups(HttpRequest& req);
  Task<HttpResponse> DeleteGroup(HttpRequest& req);
  Task<HttpResponse> Metrics(HttpRequest& req);
  Task<HttpResponse> Live(HttpRequest& req);
  Task<HttpResponse> Ready(HttpRequest& req);

  // The log, or a 503 response in *unavailable.
  storage::Log* LogOr503(HttpResponse* unavailable) const;
  void ForgetTopic(const std::string& topic) { publisher_.ForgetTopic(topic); }
  // This shard's JSON parser (kept so simdjson's buffers are reused across requests); off a
  // shard thread, a new parser stored in *fallback.
  codec::JsonParser& ShardParser(std::unique_ptr<codec::JsonParser>& fallback);

  RestApiOptions options_;
  runtime::Shards& shards_;
  const Clock& clock_;
  std::atomic<storage::Log*> log_{nullptr};
  std::atomic<bool> stopping_{false};
  Publisher& publisher_;
  IdempotencyCache idempotency_;
  // One per shard, used only by that shard's thread and never across a suspension point.
  std::vector<std::unique_ptr<codec::JsonParser>> parsers_;
};

}  // namespace sluice::gateway
