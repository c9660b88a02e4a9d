// The accumulators whose state does not fit a row slot: count_distinct (exact),
// approx_count_distinct (HyperLogLog), approx_percentile (DDSketch) and collect_list.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "stream/aggregate.h"
#include "stream/internal/aggregate_codec.h"

namespace sluice::stream::internal {

// Accumulator bytes start with this version byte, then the kind byte, then the payload.
inline constexpr uint8_t kAccumulatorFormatVersion = 1;
inline void PutAccumulatorHeader(std::string& out, AggregateKind kind) {
  out.push_back(static_cast<char>(kAccumulatorFormatVersion));
  out.push_back(static_cast<char>(kind));
}

// REQUIRES: !IsInlineAggregate(spec.kind) and spec.Validate().ok().
std::unique_ptr<Accumulator> MakeHeavyAccumulator(const AggregateSpec& spec);
// Reads the payload that follows the header. DataLoss on malformed input.
Result<std::unique_ptr<Accumulator>> DecodeHeavyAccumulator(const AggregateSpec& spec, Reader& r);

}  // namespace sluice::stream::internal
