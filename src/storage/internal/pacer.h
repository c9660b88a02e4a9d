// Pacer: a byte-rate budget shared by threads, for background disk work (zero-filling the next
// segment) that must not crowd out foreground writes and fdatasyncs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace sluice::storage::internal {

class Pacer {
 public:
  explicit Pacer(double bytes_per_second) : bytes_per_second_(bytes_per_second) {}

  // Reserves `bytes` of the budget at monotonic time now_ns; returns how many nanoseconds the
  // caller waits before spending them (0 when the budget has room). Thread-safe.
  int64_t Reserve(int64_t bytes, int64_t now_ns) {
    if (bytes_per_second_ <= 0) return 0;  // unlimited
    std::lock_guard lock(mu_);
    next_ns_ = std::max(next_ns_, now_ns);
    const int64_t wait = next_ns_ - now_ns;
    next_ns_ += static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / bytes_per_second_);
    return wait;
  }

 private:
  const double bytes_per_second_;
  std::mutex mu_;
  int64_t next_ns_ = 0;
};

}  // namespace sluice::storage::internal
