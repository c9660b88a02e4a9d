// ReadBuffers: hands out the buffer a read lands in, reusing a previous one once every batch
// view into it has been released, so steady readers do not allocate (and page-fault) a fresh
// large buffer per read. Keeps the largest buffers: a small read that finds them busy gets a
// buffer of its own without evicting them. Owned by one PartitionLog, used on its owner shard.
#pragma once

#include <array>
#include <cstddef>
#include <memory>

namespace sluice::storage::internal {

class ReadBuffers {
 public:
  // A buffer of at least n bytes (contents unspecified).
  std::shared_ptr<char[]> Get(size_t n) {
    // use_count() == 1: no reader still holds a view into it (only this cache does).
    for (auto& slot : slots_) {
      if (slot.buf && slot.buf.use_count() == 1 && slot.capacity >= n) return slot.buf;
    }
    const size_t cap = n < kMinBytes ? kMinBytes : n;
    auto buf = std::shared_ptr<char[]>(new char[cap]);  // no zero-fill: pread overwrites it
    // Replace an empty, free-and-smaller, or the smallest slot, unless all are bigger.
    Slot* victim = nullptr;
    for (auto& slot : slots_) {
      if (!slot.buf) {
        victim = &slot;
        break;
      }
      if (slot.capacity <= cap && (victim == nullptr || slot.capacity < victim->capacity)) {
        victim = &slot;
      }
    }
    if (victim != nullptr) *victim = Slot{buf, cap};
    return buf;
  }

 private:
  struct Slot {
    std::shared_ptr<char[]> buf;
    size_t capacity = 0;
  };
  static constexpr size_t kMinBytes = 64 * 1024;
  std::array<Slot, 2> slots_;
};

}  // namespace sluice::storage::internal
