// SpillStore: keyed operator state under a memory budget. Entries live in memory while they fit;
// when the budget is exceeded the least recently used ones are encoded and moved to a scratch
// RocksDB instance (internal/spill_db.h) and read back when their key is used again. Each entry
// carries a time stamp the operator sets (its last update), for state TTL. docs/pipelines.md
// ("State") describes the user-facing side.
#pragma once

#include <absl/container/node_hash_map.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/status.h"
#include "base/varint.h"
#include "stream/internal/spill_db.h"
#include "stream/logger.h"

namespace sluice::stream {

struct SpillStoreOptions {
  // Bytes of entries (values, keys and bookkeeping) kept in memory; 0: no limit, never spills.
  size_t memory_budget = 0;
  // Where the scratch RocksDB directory is created (`<dir>/<name>-XXXXXX`) at the first spill.
  // Empty: spilling is off (the budget is not enforced).
  std::string dir;
  std::string name = "state";  // the directory's prefix (the operator's name)
};

// The keyed-state options of an operator (OperatorSpec::state_ttl_ms, state_memory_bytes):
// docs/pipelines.md ("State") says which operators take which.
struct KeyedStateOptions {
  // A key not updated for this long of event time is dropped (0: never). Event time, so a replay
  // expires exactly what the run did.
  int64_t ttl_ms = 0;
  // Memory budget and scratch directory of the operator's SpillStore.
  SpillStoreOptions spill;
};

// Entries stamped at or before this are expired at watermark `wm` under `ttl_ms`
// (INT64_MIN: none, without a TTL or before any watermark).
inline int64_t TtlCutoff(int64_t ttl_ms, int64_t wm) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (ttl_ms <= 0 || wm == kMin || wm < kMin + ttl_ms + 1) return kMin;
  return wm - ttl_ms;
}

// Counters of a store, for Operator::Counters() and metrics.
struct SpillStoreStats {
  size_t memory_entries = 0;
  size_t memory_bytes = 0;
  size_t spilled_entries = 0;  // entries on disk now
  size_t spilled_bytes = 0;    // their encoded bytes
  uint64_t spills = 0;         // entries moved to disk, ever
  uint64_t unspills = 0;       // entries read back from disk, ever
  uint64_t spill_errors = 0;   // failed disk writes (spilling is then off; entries stay in memory)
};

// `Codec` encodes values for the disk and checkpoints (static or const members; the store keeps
// a copy, so a codec may carry what decoding needs, such as an aggregate row layout):
//   void Encode(const V& v, std::string& out) const;     // appends
//   bool Decode(std::string_view in, V& v) const;        // false: corrupt; v is value-initialised
//   size_t Bytes(const V& v) const;                      // memory the value holds
//
// Lifecycle: owned by one operator on its task's shard (not thread-safe). The RocksDB instance
// is opened at the first spill and deleted with the store; it is scratch, never read after a
// restart: checkpoints hold the complete state (ForEachInMemory + ForEachSpilled).
//
// Invariants:
//  1. A key is either in memory or on disk, never both: reading a spilled entry back deletes it
//     from disk. So memory_bytes + spilled_bytes is the state's size, and counts are exact.
//  2. Slot pointers stay valid until Shrink, Erase of that slot, EraseStampedUpTo or
//     RetainInMemory: only those move entries out of memory. Callers use slots within one
//     batch of events and call Shrink at its end.
//  3. memory_bytes is the sum of slots' `bytes`, which the caller keeps current with AddBytes
//     or SetValueBytes as it changes a value (the store adds the key and its own bookkeeping).
//  4. A disk value is `i` stamp then Codec::Encode bytes (the same bytes checkpoints hold).
// Transparent hashing, so lookups by string_view do not build a std::string.
struct SpillKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct SpillKeyEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

template <typename V, typename Codec>
class SpillStore {
 public:
  static constexpr size_t kSlotOverhead = 64;  // map node, LRU links, stamp

  class Slot {
   public:
    V value;
    int64_t stamp = std::numeric_limits<int64_t>::min();  // the caller's last update time
    std::string_view key() const { return *key_; }

   private:
    friend class SpillStore;
    size_t bytes_ = 0;
    const std::string* key_ = nullptr;
    Slot* prev_ = nullptr;  // toward most recently used
    Slot* next_ = nullptr;  // toward least recently used
  };

  explicit SpillStore(SpillStoreOptions options, Codec codec = Codec())
      : options_(std::move(options)), codec_(std::move(codec)) {}
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  // The entry for `key`, read back from disk if it was spilled (it becomes the most recently
  // used). nullptr: no entry. A disk read that fails is fatal (the state would be lost; the task
  // restarts from its checkpoint).
  Slot* Find(std::string_view key) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      Touch(&it->second);
      return &it->second;
    }
    if (stats_.spilled_entries == 0 || db_ == nullptr) return nullptr;
    Result<bool> found = db_->Take(key, scratch_);
    SLUICE_CHECK(found.ok(), "{}: {}", options_.name, found.status().message());
    if (!*found) return nullptr;
    std::string_view in = scratch_;
    int64_t stamp = 0;
    bool ok = ReadStamp(in, stamp);
    Slot* slot = Insert(key);
    ok = ok && codec_.Decode(in, slot->value);
    SLUICE_CHECK(ok, "{}: spilled entry corrupt", options_.name);
    slot->stamp = stamp;
    SetBytes(slot, codec_.Bytes(slot->value));
    --stats_.spilled_entries;
    stats_.spilled_bytes -= scratch_.size();
    ++stats_.unspills;
    return slot;
  }

  // The entry for `key`, created empty (value-initialised, stamp min) when there is none.
  Slot* FindOrAdd(std::string_view key, bool* added = nullptr) {
    Slot* slot = Find(key);
    if (added != nullptr) *added = slot == nullptr;
    return slot != nullptr ? slot : Insert(key);
  }

  // A new entry for `key` (value-initialised, stamp min), the most recently used.
  // REQUIRES: Find(key) would return nullptr (an entry already in memory is returned as is).
  Slot* Add(std::string_view key) { return Insert(key); }

  // The value of `slot` grew (or shrank) by `delta` bytes.
  void AddBytes(Slot* slot, int64_t delta) {
    size_t value_bytes = slot->bytes_ - kSlotOverhead - slot->key_->size();
    SetBytes(slot, static_cast<size_t>(static_cast<int64_t>(value_bytes) + delta));
  }
  // The value of `slot` now holds `value_bytes` bytes (for values whose size is easier to
  // recompute than to track, such as aggregate rows: Codec::Bytes).
  void SetValueBytes(Slot* slot, size_t value_bytes) { SetBytes(slot, value_bytes); }

  void Erase(Slot* slot) {
    Unlink(slot);
    stats_.memory_bytes -= slot->bytes_;
    auto it = map_.find(*slot->key_);
    map_.erase(it);
    stats_.memory_entries = map_.size();
  }

  // Moves least recently used entries to disk until memory is under the budget (to 7/8 of it, so
  // spills come in batches). Invalidates pointers to the slots it moved.
  void Shrink() {
    if (options_.memory_budget == 0 || stats_.memory_bytes <= options_.memory_budget) return;
    if (spill_off_) return;
    if (db_ == nullptr && !OpenDb()) return;
    size_t target = options_.memory_budget - options_.memory_budget / 8;
    size_t freed = 0;
    std::vector<Slot*> victims;
    pairs_.clear();
    for (Slot* s = lru_tail_; s != nullptr && stats_.memory_bytes - freed > target; s = s->prev_) {
      std::string v;
      varint::AppendSigned(v, s->stamp);
      codec_.Encode(s->value, v);
      pairs_.emplace_back(*s->key_, std::move(v));
      victims.push_back(s);
      freed += s->bytes_;
    }
    if (victims.empty()) return;
    Status st = db_->Put(pairs_);
    if (!st.ok()) {
      ++stats_.spill_errors;
      spill_off_ = true;
      Log().error("{}: spilling state to disk failed, keeping it in memory from now on: {}",
                  options_.name, st.message());
      return;
    }
    for (size_t i = 0; i < victims.size(); ++i) {
      stats_.spilled_bytes += pairs_[i].second.size();
      ++stats_.spilled_entries;
      ++stats_.spills;
      Erase(victims[i]);
    }
    pairs_.clear();
  }

  // Removes every entry (in memory and on disk) whose stamp is <= `cutoff` and returns how many.
  size_t EraseStampedUpTo(int64_t cutoff) {
    return EraseStampedUpTo(
        cutoff, [](const Slot&) {}, [](std::string_view, std::string_view) {});
  }
  // The same, calling on_memory(const Slot&) for each erased entry in memory and
  // on_disk(key, encoded value) for each on disk, before it goes (to keep the caller's counts).
  template <typename OnMemory, typename OnDisk>
  size_t EraseStampedUpTo(int64_t cutoff, OnMemory&& on_memory, OnDisk&& on_disk) {
    size_t n = 0;
    for (auto it = map_.begin(); it != map_.end();) {
      Slot& s = it->second;
      if (s.stamp <= cutoff) {
        on_memory(s);
        Unlink(&s);
        stats_.memory_bytes -= s.bytes_;
        map_.erase(it++);
        ++n;
      } else {
        ++it;
      }
    }
    stats_.memory_entries = map_.size();
    if (db_ != nullptr && stats_.spilled_entries > 0) {
      size_t entries = 0, bytes = 0;
      Status st = db_->EraseIf([&](std::string_view key, std::string_view v) {
        int64_t stamp = 0;
        std::string_view rest = v;
        if (!ReadStamp(rest, stamp) || stamp > cutoff) return false;
        on_disk(key, rest);
        ++entries;
        bytes += v.size();
        return true;
      });
      SLUICE_CHECK(st.ok(), "{}: {}", options_.name, st.message());
      stats_.spilled_entries -= entries;
      stats_.spilled_bytes -= bytes;
      n += entries;
    }
    return n;
  }

  // Calls keep(Slot&) for every entry in memory and erases those it returns false for; returns
  // how many. `keep` may change the value (and then calls AddBytes or SetValueBytes on that slot),
  // but must not add, find or erase entries. Entries on disk are not visited.
  template <typename Fn>
  size_t RetainInMemory(Fn&& keep) {
    size_t n = 0;
    for (auto it = map_.begin(); it != map_.end();) {
      Slot& s = it->second;
      if (keep(s)) {
        ++it;
        continue;
      }
      Unlink(&s);
      stats_.memory_bytes -= s.bytes_;
      map_.erase(it++);
      ++n;
    }
    stats_.memory_entries = map_.size();
    return n;
  }

  // fn(const Slot&) for every entry in memory.
  template <typename Fn>
  void ForEachInMemory(Fn&& fn) const {
    for (const auto& [key, slot] : map_) fn(slot);
  }
  // fn(key, stamp, encoded value) for every entry on disk (Codec::Encode bytes, not decoded).
  // A disk read that fails is fatal, as in Find.
  template <typename Fn>
  void ForEachSpilled(Fn&& fn) const {
    if (db_ == nullptr || stats_.spilled_entries == 0) return;
    Status st = db_->ForEach([&](std::string_view key, std::string_view v) {
      int64_t stamp = 0;
      SLUICE_CHECK(ReadStamp(v, stamp), "{}: spilled entry corrupt", options_.name);
      fn(key, stamp, v);
    });
    SLUICE_CHECK(st.ok(), "{}: {}", options_.name, st.message());
  }

  size_t size() const { return map_.size() + stats_.spilled_entries; }
  const Codec& codec() const { return codec_; }
  // The store's counters as Operator::Counters() shows them (`keys`, `keys_in_memory`,
  // `spilled_keys`, `spilled_bytes`, `spills`, `unspills`, `spill_errors`).
  std::vector<std::pair<std::string, uint64_t>> Counters() const {
    return {{"keys", size()},
            {"keys_in_memory", stats_.memory_entries},
            {"spilled_keys", stats_.spilled_entries},
            {"spilled_bytes", stats_.spilled_bytes},
            {"spills", stats_.spills},
            {"unspills", stats_.unspills},
            {"spill_errors", stats_.spill_errors}};
  }
  const SpillStoreStats& stats() const { return stats_; }
  const SpillStoreOptions& options() const { return options_; }

 private:
  static bool ReadStamp(std::string_view& in, int64_t& stamp) {
    auto p = reinterpret_cast<const uint8_t*>(in.data());
    const uint8_t* start = p;
    if (!varint::DecodeSigned(p, start + in.size(), &stamp)) return false;
    in.remove_prefix(static_cast<size_t>(p - start));
    return true;
  }

  bool OpenDb() {
    if (options_.dir.empty()) {
      spill_off_ = true;
      return false;
    }
    auto db = internal::SpillDb::Open(options_.dir, options_.name);
    if (!db.ok()) {
      ++stats_.spill_errors;
      spill_off_ = true;
      Log().error("{}: cannot open the spill store, keeping state in memory: {}", options_.name,
                  db.status().message());
      return false;
    }
    db_ = std::move(*db);
    return true;
  }

  Slot* Insert(std::string_view key) {
    auto [it, inserted] = map_.try_emplace(std::string(key));
    Slot* slot = &it->second;
    if (!inserted) {
      Touch(slot);
      return slot;
    }
    slot->key_ = &it->first;
    slot->bytes_ = kSlotOverhead + key.size();
    stats_.memory_bytes += slot->bytes_;
    stats_.memory_entries = map_.size();
    LinkFront(slot);
    return slot;
  }

  void SetBytes(Slot* slot, size_t value_bytes) {
    stats_.memory_bytes -= slot->bytes_;
    slot->bytes_ = kSlotOverhead + slot->key_->size() + value_bytes;
    stats_.memory_bytes += slot->bytes_;
  }

  // LRU order matters only with a budget; without one, links are not kept up.
  void LinkFront(Slot* s) {
    if (options_.memory_budget == 0) return;
    s->prev_ = nullptr;
    s->next_ = lru_head_;
    if (lru_head_ != nullptr) lru_head_->prev_ = s;
    lru_head_ = s;
    if (lru_tail_ == nullptr) lru_tail_ = s;
  }
  void Unlink(Slot* s) {
    if (options_.memory_budget == 0) return;
    if (s->prev_ != nullptr) s->prev_->next_ = s->next_;
    else lru_head_ = s->next_;
    if (s->next_ != nullptr) s->next_->prev_ = s->prev_;
    else lru_tail_ = s->prev_;
    s->prev_ = s->next_ = nullptr;
  }
  void Touch(Slot* s) {
    if (options_.memory_budget == 0 || lru_head_ == s) return;
    Unlink(s);
    LinkFront(s);
  }

  SpillStoreOptions options_;
  Codec codec_;
  // Node-based: slots do not move.
  absl::node_hash_map<std::string, Slot, SpillKeyHash, SpillKeyEq> map_;
  Slot* lru_head_ = nullptr;
  Slot* lru_tail_ = nullptr;
  std::unique_ptr<internal::SpillDb> db_;
  bool spill_off_ = false;
  SpillStoreStats stats_;
  std::string scratch_;
  std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace sluice::stream
