// QuantileSketch: a DDSketch (Masson, Rim, Lee, "DDSketch: a fast and fully-mergeable quantile
// sketch with relative-error guarantees", VLDB 2019) for approx_percentile. Every quantile it
// returns is within a relative error `alpha` of the exact value at that rank, for any input
// distribution, and merging two sketches gives exactly the sketch of the union.
// Serialized form: docs/formats/aggregate-state.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sluice::stream {

// Values are mapped to logarithmic buckets: bucket i holds |x| in (gamma^(i-1), gamma^i] with
// gamma = (1 + alpha) / (1 - alpha), and answers with 2 gamma^i / (gamma + 1), at most a relative
// error alpha from any value in the bucket. Positive and negative values have their own buckets;
// zero (and |x| < 1e-300) is counted apart. Each sign keeps at most `max_buckets` contiguous
// buckets; beyond that the smallest-magnitude buckets are folded together, which only loses the
// guarantee for quantiles that fall in the folded range (with the default limit that takes data
// spanning more than 18 orders of magnitude).
// Not thread-safe; one owner.
// Invariants:
//  1. Each store's counts_ is empty or covers indexes [offset_, offset_ + counts_.size()).
//  2. count_ == zero_count_ + the sum of both stores' counts.
//  3. min_ and max_ are the exact extremes of the inputs when count_ > 0.
class QuantileSketch {
 public:
  static constexpr double kMinAccuracy = 1e-4;
  static constexpr double kMaxAccuracy = 0.5;
  // Enough buckets per sign for values spanning 18 orders of magnitude at this accuracy
  // (2073 for 1%, 20724 for 0.1%); memory grows with the span actually seen, not this limit.
  static uint32_t DefaultMaxBuckets(double relative_accuracy);

  // REQUIRES: kMinAccuracy <= relative_accuracy <= kMaxAccuracy, max_buckets 0 (the default
  // for this accuracy) or >= 16.
  explicit QuantileSketch(double relative_accuracy = 0.01, uint32_t max_buckets = 0);

  // Adds x; returns false (and ignores it) for NaN and infinities.
  bool Add(double x);
  // REQUIRES: the same relative accuracy and bucket limit.
  void Merge(const QuantileSketch& other);
  // The value at rank floor(q * (count - 1)) of the sorted inputs, within the relative accuracy;
  // nullopt when empty. q is clamped to [0, 1].
  std::optional<double> Quantile(double q) const;
  void Reset();

  uint64_t count() const { return count_; }
  double relative_accuracy() const { return alpha_; }
  uint32_t max_buckets() const { return max_buckets_; }
  size_t MemoryBytes() const;

  // Appends: double alpha, varint max_buckets, varint zero count, double min, double max, then
  // per store (positive, negative) a zig-zag varint offset, a varint bucket count and the varint
  // counts.
  void Serialize(std::string& out) const;
  // DataLoss on malformed bytes (or bytes left over).
  static Result<QuantileSketch> Deserialize(std::string_view bytes);

 private:
  struct Store {
    int32_t offset = 0;
    std::vector<uint64_t> counts;
    void Add(int32_t index, uint64_t n, uint32_t max_buckets);
    uint64_t Total() const;
  };

  int32_t Index(double magnitude) const;
  double BucketValue(int32_t index) const;

  double alpha_;
  double gamma_;
  double inv_log_gamma_;
  uint32_t max_buckets_;
  Store positive_;
  Store negative_;  // by magnitude
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  double min_ = 0;
  double max_ = 0;
};

}  // namespace sluice::stream
