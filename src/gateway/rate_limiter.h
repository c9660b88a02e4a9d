// RateLimiter: token buckets per principal and per topic, in events and in bytes, with
// configurable defaults and per-name overrides. One per process, shared by every front end
// (the Publisher consults it before appending).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace sluice::gateway {

// A rate and a burst per unit; 0 rate = unlimited. Burst 0 = one second's worth.
struct BucketSpec {
  double events_per_s = 0;
  double burst_events = 0;
  double bytes_per_s = 0;
  double burst_bytes = 0;
  bool limited() const { return events_per_s > 0 || bytes_per_s > 0; }
};

struct RateLimitOptions {
  BucketSpec principal;  // default for every principal (or client address while auth is off)
  BucketSpec topic;      // default for every topic
  std::map<std::string, BucketSpec, std::less<>> principal_overrides;
  std::map<std::string, BucketSpec, std::less<>> topic_overrides;
  // Most buckets kept; idle full buckets are dropped first when the table is full.
  size_t max_buckets = 100000;

  bool any() const;
  // YAML: {principals: {alice: {events_per_s, burst_events, bytes_per_s, burst_bytes}},
  // topics: {...}}. Errors name the key at fault.
  Status LoadOverridesYaml(std::string_view yaml);
};

// What a request was told: which bucket decided and its state (for the RateLimit-* headers).
struct RateDecision {
  bool allowed = true;
  std::string scope;           // "principal alice (events)", "topic orders (bytes)"
  int64_t limit = 0;           // the bucket's burst (RateLimit-Limit)
  int64_t remaining = 0;       // tokens left after this request (RateLimit-Remaining)
  int64_t reset_s = 0;         // seconds until the bucket is full again (RateLimit-Reset)
  int64_t retry_after_s = 0;   // when refused: seconds until the request would fit
};

// Thread-safe (16 mutex-guarded shards).
//
// Invariants: a bucket never holds more than its burst; a request is all or nothing over every
// bucket it touches (tokens taken from earlier buckets are returned when a later one refuses).
// A request larger than a bucket's burst is let through when that bucket is full (it then goes
// into debt), so a limit never blocks a request forever.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitOptions options);

  bool enabled() const { return enabled_; }
  // Takes `events` and `bytes` from the principal's and the topic's buckets at `now_ns`
  // (monotonic). Fills *decision (the most constrained bucket) and returns whether it passed.
  bool Take(std::string_view principal, std::string_view topic, int64_t events, int64_t bytes,
            int64_t now_ns, RateDecision* decision);

  size_t bucket_count() const;

 private:
  struct Bucket {
    double tokens = 0;
    double rate = 0;
    double burst = 0;
    int64_t updated_ns = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;

  // Tries one bucket; on success the tokens are taken. Fills the decision fields when it is the
  // most constrained so far (or refuses).
  bool TakeOne(const std::string& key, double rate, double burst, double cost, int64_t now_ns,
               bool principal, bool events, std::string_view name, RateDecision* d,
               double* best_fraction);
  void Refund(const std::string& key, double cost);
  const BucketSpec& SpecFor(const std::map<std::string, BucketSpec, std::less<>>& overrides,
                            const BucketSpec& def, std::string_view name) const;

  const RateLimitOptions options_;
  const bool enabled_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::gateway
