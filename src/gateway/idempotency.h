// IdempotencyCache: remembers the response to a request sent with an Idempotency-Key so a
// retried request gets the original result instead of producing the events again. Keys are
// scoped by principal and topic; entries live for a TTL and the table is bounded.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/http.h"

namespace sluice::gateway {

struct IdempotencyOptions {
  int64_t ttl_ms = 24LL * 3600 * 1000;
  size_t max_entries = 100000;
  size_t max_key_bytes = 255;
};

// Thread-safe (16 mutex-guarded shards). In memory only: a restart forgets the keys (documented).
class IdempotencyCache {
 public:
  explicit IdempotencyCache(IdempotencyOptions options = {});

  enum class Outcome {
    kNew,         // first time: the caller runs the request, then Complete() or Abandon()
    kReplay,      // already done: *response holds the original answer
    kInProgress,  // the same key is being processed right now (409)
    kMismatch,    // the key was used with a different request body (422)
  };
  // `scope` is principal + topic; `body_hash` identifies the request's body.
  Outcome Begin(std::string_view scope, std::string_view key, uint64_t body_hash,
                int64_t now_ms, HttpResponse* response);
  // Stores the answer for replays (only answers that mean "done": 2xx and 4xx except 409/429).
  void Complete(std::string_view scope, std::string_view key, const HttpResponse& response);
  // Forgets a key whose request failed in a way worth retrying (5xx, 429).
  void Abandon(std::string_view scope, std::string_view key);

  size_t size() const;
  const IdempotencyOptions& options() const { return options_; }

 private:
  struct Entry {
    uint64_t body_hash = 0;
    int64_t expires_ms = 0;
    bool done = false;
    HttpResponse response;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
  };
  static constexpr size_t kShards = 16;
  static std::string FullKey(std::string_view scope, std::string_view key);
  Shard& ShardFor(const std::string& full);

  const IdempotencyOptions options_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::gateway
