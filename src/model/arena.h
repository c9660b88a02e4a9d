// Arena: a bump allocator for the bytes behind Values (strings, item and member arrays) decoded
// from one batch. Reset() keeps the largest block so a steady stream of batches allocates
// nothing after warm-up. Not thread-safe: one owner (a stream task on its shard).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <span>
#include <string_view>
#include <vector>

#include "model/value.h"

namespace sluice::model {

class Arena {
 public:
  explicit Arena(size_t first_block_bytes = 64 * 1024);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Uninitialised storage for `bytes` bytes aligned to `align` (a power of two ≤ 16).
  void* Allocate(size_t bytes, size_t align = alignof(std::max_align_t));

  template <typename T>
  std::span<T> AllocateArray(size_t n) {
    static_assert(std::is_trivially_destructible_v<T>);
    T* p = static_cast<T*>(Allocate(n * sizeof(T), alignof(T)));
    for (size_t i = 0; i < n; ++i) new (p + i) T();
    return {p, n};
  }

  // A copy of `s` owned by the arena.
  std::string_view CopyString(std::string_view s);
  Value CopyStringValue(std::string_view s) { return Value::String(CopyString(s)); }
  // A deep copy of `v` (strings, items, members) into this arena.
  Value DeepCopy(const Value& v);

  // Forgets every allocation; keeps one block (the largest) for reuse.
  void Reset();

  // Bytes handed out since the last Reset, and bytes held in blocks.
  size_t used_bytes() const { return used_; }
  size_t reserved_bytes() const { return reserved_; }

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };
  void NewBlock(size_t min_bytes);

  std::vector<Block> blocks_;
  std::byte* cur_ = nullptr;
  std::byte* end_ = nullptr;
  size_t next_block_bytes_;
  size_t used_ = 0;
  size_t reserved_ = 0;
};

}  // namespace sluice::model
