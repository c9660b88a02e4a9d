// HyperLogLog: an approximate distinct counter in at most 2^p bytes, for approx_count_distinct.
// Relative standard error 1.04 / sqrt(2^p) (p = 14: 0.81%). Estimates use Ertl's improved raw
// estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which is
// unbiased over the whole range without empirical bias tables. Serialized form:
// docs/formats/aggregate-state.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/value.h"

namespace sluice::stream {

// Registers are kept sparse (a list of the non-zero ones, 4 bytes each) until that list would
// pass 2^p / 8 entries, then dense (one byte per register). Both forms give the same estimate,
// so when the switch happens does not change results. Not thread-safe; one owner.
// Invariants:
//  1. Dense: registers_.size() == 2^p and sparse_ is empty.
//  2. Sparse: registers_ is empty; sparse_[0, sorted_) is sorted by register index with unique
//     indexes; sparse_[sorted_, end) is an unsorted tail that Compact() folds in.
//  3. Every register value is in [0, 64 - p + 1].
class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 18;
  static constexpr int kDefaultPrecision = 14;

  // REQUIRES: kMinPrecision <= precision <= kMaxPrecision.
  explicit HyperLogLog(int precision = kDefaultPrecision);

  void AddHash(uint64_t hash);
  void Add(const model::Value& v) { AddHash(v.Hash()); }
  // Register-wise maximum: the result is the sketch of the union. REQUIRES: same precision.
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  void Reset();

  int precision() const { return precision_; }
  bool is_sparse() const { return registers_.empty(); }
  // 1.04 / sqrt(2^p).
  double StandardError() const;
  size_t MemoryBytes() const;

  // Appends: byte precision, byte form (0 sparse, 1 dense), then for sparse a varint count and
  // the varint deltas of the sorted (index << 6 | value) entries, for dense 2^p register bytes.
  void Serialize(std::string& out) const;
  // DataLoss on malformed bytes (or bytes left over).
  static Result<HyperLogLog> Deserialize(std::string_view bytes);

 private:
  uint32_t num_registers() const { return uint32_t{1} << precision_; }
  void Compact();
  void ToDense();
  // Sorted, unique sparse entries (for const readers).
  std::vector<uint32_t> SortedSparse() const;

  int precision_;
  std::vector<uint8_t> registers_;
  std::vector<uint32_t> sparse_;  // entry = index << 6 | value
  size_t sorted_ = 0;
};

}  // namespace sluice::stream
