// Histogram bucketing.
#include "metrics/histogram.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace sluice::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    SLUICE_CHECK(std::isfinite(bounds_[i]), "histogram bound {} is not finite", bounds_[i]);
    SLUICE_CHECK(i == 0 || bounds_[i - 1] < bounds_[i],
                 "histogram bounds must be strictly increasing: {} then {}", bounds_[i - 1],
                 bounds_[i]);
  }
}

void Histogram::Observe(double v) {
  size_t i = bounds_.size();
  if (!std::isnan(v)) {
    i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

}  // namespace sluice::metrics
