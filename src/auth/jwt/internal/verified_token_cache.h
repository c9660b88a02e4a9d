// VerifiedTokenCache: bounded, sharded map from SHA-256(token) to the claims it verified to.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt/claims.h"

namespace sluice::auth_jwt::internal {

// Thread-safe. The key is a SHA-256 of the whole token (never a weak hash: a collision would let
// one token authenticate as another). Each shard evicts its oldest insertion when full.
class VerifiedTokenCache {
 public:
  static constexpr size_t kShards = 16;

  explicit VerifiedTokenCache(size_t capacity);

  // The 32-byte cache key of a token.
  static std::string KeyOf(std::string_view token);

  // Claims cached under `key` for `generation` and still valid at now_s; null otherwise.
  std::shared_ptr<const Claims> Lookup(const std::string& key, uint64_t generation,
                                       int64_t now_s);
  // Caches claims valid until `valid_until_s` (exclusive) for `generation`.
  void Insert(std::string key, uint64_t generation, int64_t valid_until_s,
              std::shared_ptr<const Claims> claims);
  void Clear();
  size_t size() const;

 private:
  struct Entry {
    uint64_t generation;
    int64_t valid_until_s;
    std::shared_ptr<const Claims> claims;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> map;
    std::deque<std::string> order;  // insertion order, for evicting the oldest
  };

  Shard& ShardOf(const std::string& key) {
    return shards_[static_cast<uint8_t>(key[0]) % kShards];
  }

  const size_t per_shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::auth_jwt::internal
