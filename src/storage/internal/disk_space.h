// DiskSpaceGuard: refuses client appends before the store's filesystem is full, so that the
// last free bytes stay for what must not fail (consumer offsets, recovery points, index
// entries, the compaction of a full log) and a full disk never turns into failed fdatasyncs and
// read-only partitions. As Redpanda's storage_min_free_bytes does.
#pragma once

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "base/status.h"

namespace sluice::storage::internal {

class DiskSpaceGuard {
 public:
  // min_free_bytes: < 0 picks min(1 GiB, 5% of the filesystem); 0 turns the guard off.
  DiskSpaceGuard(std::string dir, int64_t min_free_bytes)
      : dir_(std::move(dir)), configured_(min_free_bytes) {}

  struct Space {
    int64_t free_bytes = -1;   // available to this process (f_bavail), -1 before the first look
    int64_t total_bytes = -1;
    int64_t min_free_bytes = 0;
    bool low = false;
  };

  // Looks at the filesystem again (statvfs: a few microseconds, no I/O) and forgets the bytes
  // admitted since the last look, which the new figure includes. Once low, the guard stays low
  // until a tenth more than the threshold is free, so that it does not flip with every batch
  // around the line. Errors: statvfs failed (the state is left as it was).
  Result<Space> Refresh() {
    struct statvfs s {};
    if (::statvfs(dir_.c_str(), &s) != 0) return ErrnoStatus("statvfs " + dir_, errno);
    const auto unit = static_cast<int64_t>(s.f_frsize != 0 ? s.f_frsize : s.f_bsize);
    const int64_t free = static_cast<int64_t>(s.f_bavail) * unit;
    const int64_t total = static_cast<int64_t>(s.f_blocks) * unit;
    int64_t threshold = configured_;
    if (threshold < 0) threshold = std::min<int64_t>(int64_t{1} << 30, total / 20);
    total_.store(total, std::memory_order_relaxed);
    threshold_.store(threshold, std::memory_order_relaxed);
    free_.store(free, std::memory_order_relaxed);
    admitted_.store(0, std::memory_order_relaxed);
    const int64_t line = low_.load(std::memory_order_relaxed) ? threshold + threshold / 10
                                                               : threshold;
    low_.store(threshold > 0 && free < line, std::memory_order_relaxed);
    return Get();
  }

  // Whether `bytes` more may be appended: the guard is not low and the free space at the last
  // look, less what was admitted since, stays at or above the threshold (a refusal makes it
  // low until Refresh finds enough room). Thread-safe, lock-free.
  // Errors: kUnavailable (retriable: space comes back when retention or a topic delete frees
  // it) naming the free space and the threshold.
  Status Admit(int64_t bytes) {
    const int64_t threshold = threshold_.load(std::memory_order_relaxed);
    if (threshold <= 0) return Status::Ok();
    const int64_t free = free_.load(std::memory_order_relaxed);
    const int64_t before = admitted_.fetch_add(bytes, std::memory_order_relaxed);
    if (!low_.load(std::memory_order_relaxed) && free - before - bytes >= threshold) {
      return Status::Ok();
    }
    admitted_.fetch_sub(bytes, std::memory_order_relaxed);
    low_.store(true, std::memory_order_relaxed);
    return Unavailable(
        "the store's disk is nearly full: {} free, store.min_free_bytes is {}; appends resume "
        "when retention or deleting topics frees space",
        Bytes(std::max<int64_t>(0, free - before)), Bytes(threshold));
  }

  // "512 B", "860.0 KiB", "1.0 GiB".
  static std::string Bytes(int64_t n) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
      v /= 1024;
      ++u;
    }
    return u == 0 ? std::to_string(n) + " B" : fmt::format("{:.1f} {}", v, kUnits[u]);
  }

  Space Get() const {
    return Space{free_.load(std::memory_order_relaxed), total_.load(std::memory_order_relaxed),
                 threshold_.load(std::memory_order_relaxed),
                 low_.load(std::memory_order_relaxed)};
  }

 private:
  const std::string dir_;
  const int64_t configured_;
  std::atomic<int64_t> free_{-1};
  std::atomic<int64_t> total_{-1};
  std::atomic<int64_t> threshold_{0};  // 0 until the first Refresh: nothing refused
  std::atomic<int64_t> admitted_{0};
  std::atomic<bool> low_{false};
};

}  // namespace sluice::storage::internal
