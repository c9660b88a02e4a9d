// Sharded bounded cache of verified tokens.
#include "auth/jwt/internal/verified_token_cache.h"

#include <openssl/sha.h>

namespace sluice::auth_jwt::internal {

VerifiedTokenCache::VerifiedTokenCache(size_t capacity)
    : per_shard_capacity_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

std::string VerifiedTokenCache::KeyOf(std::string_view token) {
  std::string key(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(key.data()));
  return key;
}

std::shared_ptr<const Claims> VerifiedTokenCache::Lookup(const std::string& key,
                                                         uint64_t generation, int64_t now_s) {
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return nullptr;
  if (it->second.generation != generation || now_s >= it->second.valid_until_s) {
    // Stale: leave it for eviction (removing it from `order` would cost a scan).
    return nullptr;
  }
  return it->second.claims;
}

void VerifiedTokenCache::Insert(std::string key, uint64_t generation, int64_t valid_until_s,
                                std::shared_ptr<const Claims> claims) {
  if (per_shard_capacity_ == 0) return;
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto [it, inserted] = shard.map.try_emplace(key, Entry{generation, valid_until_s, claims});
  if (!inserted) {
    it->second = Entry{generation, valid_until_s, std::move(claims)};
    return;
  }
  shard.order.push_back(std::move(key));
  while (shard.map.size() > per_shard_capacity_) {
    shard.map.erase(shard.order.front());
    shard.order.pop_front();
  }
}

void VerifiedTokenCache::Clear() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    shard.map.clear();
    shard.order.clear();
  }
}

size_t VerifiedTokenCache::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace sluice::auth_jwt::internal
