// Counter: a monotonically increasing count (Prometheus type `counter`; name it `..._total`).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::metrics {

// Thread-safe (one relaxed atomic add). Created and owned by a Registry; callers keep the
// reference it returns.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace sluice::metrics
