// LookupCache: LRU list plus an index by key; expiry checked on access.
#include "stream/lookup_cache.h"

namespace sluice::stream {

void LookupCache::Erase(std::list<Entry>::iterator it) {
  bytes_ -= kEntryOverhead + 2 * it->key.size() + it->bytes.size();
  index_.erase(it->key);
  lru_.erase(it);
}

const LookupCache::Entry* LookupCache::Get(std::string_view key, int64_t now_ms) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  auto entry = it->second;
  if (entry->expires_ms <= now_ms) {
    ++expirations_;
    Erase(entry);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  return &*entry;
}

void LookupCache::Put(std::string key, bool found, std::string bytes, int64_t now_ms) {
  if (capacity_ == 0 || ttl_ms_ <= 0) return;
  auto it = index_.find(key);
  if (it != index_.end()) Erase(it->second);
  while (lru_.size() >= capacity_) {
    ++evictions_;
    Erase(std::prev(lru_.end()));
  }
  bytes_ += kEntryOverhead + 2 * key.size() + bytes.size();
  lru_.push_front(Entry{std::move(key), found, std::move(bytes), now_ms + ttl_ms_});
  index_.emplace(lru_.front().key, lru_.begin());
}

}  // namespace sluice::stream
