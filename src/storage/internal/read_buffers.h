// ReadBuffers: hands out the buffer a read lands in, reusing the last one once every batch
// view into it has been released, so steady readers do not allocate (and page-fault) a fresh
// large buffer per read. Owned by one PartitionLog, used on its owner shard.
#pragma once

#include <cstddef>
#include <memory>

namespace sluice::storage::internal {

class ReadBuffers {
 public:
  // A buffer of at least n bytes (contents unspecified).
  std::shared_ptr<char[]> Get(size_t n) {
    // use_count() == 1: no reader still holds a view into it (only this cache does).
    if (cached_ && cached_.use_count() == 1 && capacity_ >= n) return cached_;
    const size_t cap = n < kMinBytes ? kMinBytes : n;
    cached_ = std::shared_ptr<char[]>(new char[cap]);  // no zero-fill: pread overwrites it
    capacity_ = cap;
    return cached_;
  }

 private:
  static constexpr size_t kMinBytes = 64 * 1024;
  std::shared_ptr<char[]> cached_;
  size_t capacity_ = 0;
};

}  // namespace sluice::storage::internal
