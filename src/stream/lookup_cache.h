// LookupCache: the results of lookups in an external table (enrich with `lookup: {postgres:
// ...}`), kept for a time-to-live and bounded by a number of entries (least recently used out).
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>

#include "stream/window_operator.h"  // StringMap

namespace sluice::stream {

// Owned by one operator, on its task's shard. Time comes in as arguments (processing time), so
// tests need no clock.
// Invariants:
//  1. index_ holds exactly one iterator per entry of lru_ (most recently used first).
//  2. size() <= capacity; capacity 0 or ttl 0 caches nothing.
//  3. An entry whose expires_ms <= now is never returned; it is removed when met.
class LookupCache {
 public:
  struct Entry {
    std::string key;
    bool found = false;  // false: the table has no row for the key (negative entry)
    std::string bytes;   // found: the row (EncodeValue bytes)
    int64_t expires_ms = 0;
  };

  LookupCache(size_t capacity, int64_t ttl_ms) : capacity_(capacity), ttl_ms_(ttl_ms) {}

  // The live entry for `key`, made the most recently used; nullptr when absent or expired.
  // The pointer is valid until the next Put.
  const Entry* Get(std::string_view key, int64_t now_ms);
  // Stores (or replaces) the result for `key`, valid until now_ms + ttl; evicts the least
  // recently used entry when full.
  void Put(std::string key, bool found, std::string bytes, int64_t now_ms);

  size_t size() const { return lru_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t expirations() const { return expirations_; }

 private:
  // Per-entry accounting overhead (list node, index slot) for bytes().
  static constexpr size_t kEntryOverhead = 64;
  void Erase(std::list<Entry>::iterator it);

  size_t capacity_;
  int64_t ttl_ms_;
  std::list<Entry> lru_;
  StringMap<std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  uint64_t expirations_ = 0;
};

}  // namespace sluice::stream
