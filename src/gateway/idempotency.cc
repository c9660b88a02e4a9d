// IdempotencyCache. See idempotency.h.
#include "gateway/idempotency.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace sluice::gateway {

IdempotencyCache::IdempotencyCache(IdempotencyOptions options) : options_(options) {}

std::string IdempotencyCache::FullKey(std::string_view scope, std::string_view key) {
  std::string full;
  full.reserve(scope.size() + key.size() + 1);
  full.append(scope);
  full.push_back('\0');
  full.append(key);
  return full;
}

IdempotencyCache::Shard& IdempotencyCache::ShardFor(const std::string& full) {
  return shards_[std::hash<std::string>{}(full) % kShards];
}

IdempotencyCache::Outcome IdempotencyCache::Begin(std::string_view scope, std::string_view key,
                                                  uint64_t body_hash, int64_t now_ms,
                                                  HttpResponse* response) {
  std::string full = FullKey(scope, key);
  Shard& shard = ShardFor(full);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(full);
  if (it != shard.entries.end() && it->second.expires_ms <= now_ms) {
    shard.entries.erase(it);
    it = shard.entries.end();
  }
  if (it != shard.entries.end()) {
    if (it->second.body_hash != body_hash) return Outcome::kMismatch;
    if (!it->second.done) return Outcome::kInProgress;
    *response = it->second.response;
    return Outcome::kReplay;
  }
  if (shard.entries.size() >= options_.max_entries / kShards) {
    std::erase_if(shard.entries, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
    if (shard.entries.size() >= options_.max_entries / kShards) {
      // Still full of live keys: drop the ones closest to expiry (a quarter of the shard).
      std::vector<int64_t> times;
      for (const auto& [k, e] : shard.entries) {
        if (e.done) times.push_back(e.expires_ms);
      }
      if (!times.empty()) {
        auto nth = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 4);
        std::nth_element(times.begin(), nth, times.end());
        int64_t cut = *nth;
        std::erase_if(shard.entries,
                      [&](const auto& kv) { return kv.second.done && kv.second.expires_ms <= cut; });
      }
    }
  }
  Entry e;
  e.body_hash = body_hash;
  e.expires_ms = now_ms + options_.ttl_ms;
  shard.entries.emplace(std::move(full), std::move(e));
  return Outcome::kNew;
}

void IdempotencyCache::Complete(std::string_view scope, std::string_view key,
                                const HttpResponse& response) {
  std::string full = FullKey(scope, key);
  Shard& shard = ShardFor(full);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(full);
  if (it == shard.entries.end()) return;
  it->second.done = true;
  it->second.response = response;
}

void IdempotencyCache::Abandon(std::string_view scope, std::string_view key) {
  std::string full = FullKey(scope, key);
  Shard& shard = ShardFor(full);
  std::lock_guard lock(shard.mu);
  shard.entries.erase(full);
}

size_t IdempotencyCache::size() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace sluice::gateway
