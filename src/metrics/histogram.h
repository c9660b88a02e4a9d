// Histogram: observations counted into fixed buckets (Prometheus type `histogram`), exposed as
// cumulative `_bucket{le=...}` series plus `_sum` and `_count`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace sluice::metrics {

// Thread-safe: Observe is two relaxed atomic adds and a CAS on the sum. A reader may see a sum
// that lags the counts by in-flight observations (as in every Prometheus client).
// Created and owned by a Registry; callers keep the reference.
class Histogram {
 public:
  // REQUIRES: bounds finite and strictly increasing (checked). +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts v in the first bucket whose upper bound is >= v (NaN goes to +Inf only).
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound followed by the +Inf bucket (== count()).
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts; bounds_.size() + 1 entries, the last one for +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

}  // namespace sluice::metrics
