// Aggregate functions for windows and group-bys: what each one is (AggregateKind, AggregateSpec),
// how a name in a pipeline spec maps to one (ParseAggregateName), and the per-(key, window)
// accumulator that folds event values into a result (Accumulator). docs/aggregates.md describes
// every aggregate; docs/formats/aggregate-state.md the serialized state.
// For many aggregates per row on the hot path, use AggregateRow (aggregate_row.h) instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::stream {

enum class AggregateKind : uint8_t {
  kCount,                // count(x): non-null inputs
  kCountAll,             // count(*): every row, nulls included
  kSum,                  // int64 while it fits, then double
  kMin,                  // any orderable scalar (see docs/aggregates.md for the cross-type order)
  kMax,
  kAvg,                  // double
  kFirst,                // earliest event time, ties by arrival; nulls ignored
  kLast,                 // latest event time, ties by arrival; nulls ignored
  kCountDistinct,        // exact
  kApproxCountDistinct,  // HyperLogLog
  kApproxPercentile,     // DDSketch, relative-error guarantee
  kCollectList,          // arrival order, bounded
};
inline constexpr int kAggregateKindCount = 12;

// Stable lower-case name ("count", "count_all", "approx_percentile", ...).
std::string_view AggregateKindName(AggregateKind kind);

// True for the kinds AggregateRow keeps inline in its flat state (no heap allocation per event):
// count, count(*), sum, min, max, avg, first, last.
bool IsInlineAggregate(AggregateKind kind);

struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCount;
  double percentile = 0.5;          // kApproxPercentile: 0..1
  uint32_t max_list_items = 10000;  // kCollectList: later items are dropped (see error())
  uint8_t hll_precision = 14;       // kApproxCountDistinct: 4..18 registers = 2^p; 14 → ~0.81%
  double relative_accuracy = 0.01;  // kApproxPercentile: DDSketch alpha, 0.0001..0.5

  // InvalidArgument when a parameter is out of range.
  Status Validate() const;
};

// Maps an aggregate name from a pipeline spec to a spec. Names (case-insensitive): "count",
// "count_all" (count(*); the caller maps `count(*)` to it), "sum", "avg", "min", "max", "first",
// "last", "count_distinct", "approx_count_distinct", "approx_percentile", "percentile_approx"
// (alias), "collect_list". `params` are the constant arguments after the input expression:
//   approx_percentile(x, p [, relative_accuracy])   p in [0, 1]
//   approx_count_distinct(x [, precision])           precision in [4, 18]
//   collect_list(x [, max_items])                    max_items in [1, 2^24]
// Errors: InvalidArgument naming the function for an unknown name, a wrong parameter count or
// type, or a value out of range.
Result<AggregateSpec> ParseAggregateName(std::string_view name,
                                         std::span<const model::Value> params = {});

// One accumulator per (key, window): folds input values into a running result.
// Not thread-safe; owned by the operator state that holds the (key, window), on its shard.
// Accumulators own copies of every string or nested value they keep, so inputs may live in a
// batch arena that is reset after Add returns.
class Accumulator {
 public:
  virtual ~Accumulator();

  AggregateKind kind() const { return kind_; }

  // Folds one input. NULL is ignored by every kind except kCountAll (counted). `event_time_ms`
  // orders kFirst/kLast (ties go by call order) and is ignored by the others.
  virtual void Add(const model::Value& v, int64_t event_time_ms) = 0;
  // Folds `other`'s inputs in, as if they had been added after this one's (that breaks first/last
  // ties and orders collect_list). REQUIRES: other.kind() == kind() and the same spec parameters
  // (precision, relative accuracy); checked, a mismatch aborts.
  virtual void Merge(const Accumulator& other) = 0;
  // The current result; strings, arrays and objects are copied into `arena`.
  // Empty: count kinds → 0, approx_count_distinct → 0, collect_list → [], the others → NULL.
  virtual model::Value Result(model::Arena& arena) const = 0;
  // Appends the state in a compact binary form (docs/formats/aggregate-state.md).
  virtual void Serialize(std::string& out) const = 0;
  // Bytes held: the object plus its heap allocations (approximately, for metrics and spilling).
  virtual size_t MemoryBytes() const = 0;
  // Back to the empty state; keeps allocated capacity where that is cheap.
  virtual void Reset() = 0;
  // Empty while every input was usable; otherwise why an input was ignored (the first reason),
  // e.g. "sum: ignored a string input". The runtime routes it to the pipeline's error output.
  // The accumulator still produces a result over the usable inputs.
  virtual std::string_view error() const = 0;

 protected:
  explicit Accumulator(AggregateKind kind) : kind_(kind) {}

 private:
  AggregateKind kind_;
};

// A new empty accumulator. REQUIRES: spec.Validate().ok().
std::unique_ptr<Accumulator> MakeAccumulator(const AggregateSpec& spec);

// Rebuilds an accumulator from Serialize's bytes. InvalidArgument when the spec is invalid;
// DataLoss when the bytes are truncated, corrupt, or were written for another kind or parameters.
// Never crashes and never allocates more than a small multiple of bytes.size().
Result<std::unique_ptr<Accumulator>> DeserializeAccumulator(const AggregateSpec& spec,
                                                            std::string_view bytes);

}  // namespace sluice::stream
