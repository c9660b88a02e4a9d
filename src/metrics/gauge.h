// Gauge: a value that goes up and down (Prometheus type `gauge`).
#pragma once

#include <atomic>

namespace sluice::metrics {

// Thread-safe (relaxed atomics). Created and owned by a Registry; callers keep the reference.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace sluice::metrics
