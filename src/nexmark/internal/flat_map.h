// FlatCountMap: an open-addressing int64 -> int64 hash map (linear probing, power-of-two
// capacity, load <= 1/2) for the baselines' per-key counters. No erase: maps are cleared whole.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace sluice::nexmark::internal {

class FlatCountMap {
 public:
  static constexpr int64_t kEmpty = std::numeric_limits<int64_t>::min();

  explicit FlatCountMap(size_t initial_capacity = 1024) { Rehash(RoundUp(initial_capacity)); }

  // The value slot for `key` (0 when new). REQUIRES: key != kEmpty.
  int64_t& operator[](int64_t key) {
    size_t i = Slot(key);
    while (true) {
      Entry& e = entries_[i];
      if (e.key == key) return e.value;
      if (e.key == kEmpty) {
        if ((size_ + 1) * 2 > entries_.size()) {
          Rehash(entries_.size() * 2);
          return (*this)[key];
        }
        ++size_;
        e.key = key;
        e.value = 0;
        return e.value;
      }
      i = (i + 1) & mask_;
    }
  }

  // The value of `key`, or nullptr when absent.
  const int64_t* Find(int64_t key) const {
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.key == key) return &e.value;
      if (e.key == kEmpty) return nullptr;
    }
  }

  template <typename F>
  void ForEach(F&& f) const {
    for (const Entry& e : entries_) {
      if (e.key != kEmpty) f(e.key, e.value);
    }
  }

  // Makes room for `n` keys without rehashing. Merging one map into another that is smaller
  // would cluster badly (both iterate and place by the same hash bits), so size targets first.
  void Reserve(size_t n) {
    if (n * 2 > entries_.size()) Rehash(RoundUp(n * 2));
  }

  // Forgets every key; keeps the capacity.
  void Clear() {
    if (size_ == 0) return;
    for (Entry& e : entries_) e.key = kEmpty;
    size_ = 0;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Entry {
    int64_t key;
    int64_t value;
  };
  static size_t RoundUp(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
  }
  size_t Slot(int64_t key) const {
    return static_cast<size_t>((static_cast<uint64_t>(key) * 0x9e3779b97f4a7c15ULL) >> shift_);
  }
  void Rehash(size_t capacity) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(capacity, Entry{kEmpty, 0});
    mask_ = capacity - 1;
    shift_ = 64 - __builtin_ctzll(capacity);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.key != kEmpty) (*this)[e.key] = e.value;
    }
  }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  int shift_ = 0;
  size_t size_ = 0;
};

}  // namespace sluice::nexmark::internal
