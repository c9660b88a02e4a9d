// Hand-written fused C++ baselines for Nexmark queries: each runs the generator and computes the
// query's result with plain loops and hash maps. They are the "hand-written loop" the engine is
// measured against (issue 5: the engine should be within 3x), so they do all the work the query
// needs (every event is generated and looked at) and nothing else. The caller times them.
#pragma once

#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "nexmark/bench_types.h"
#include "nexmark/generator.h"

namespace sluice::nexmark {

// Queries RunBaseline knows.
std::vector<std::string_view> BaselineQueries();

// Runs `options.query` over a generator built from options.generator.
// Errors: kInvalidArgument for an unknown query or an unbounded/invalid generator config.
// `clock` (MonotonicNs) stamps the latency samples.
Result<BenchResult> RunBaseline(const BenchOptions& options, const Clock& clock);

// q5 output row: the window it belongs to and the SELECTed (auction, num).
struct Q5Row {
  int64_t window_start;
  int64_t auction;
  int64_t num;
  friend bool operator==(const Q5Row&, const Q5Row&) = default;
};

// The q5 baseline itself, exposed for tests: appends every output row to `rows` when non-null.
BenchResult RunQ5(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q5Row>* rows = nullptr);

// q5 window shape (Flink q5.sql: HOP slide 2 s, size 10 s).
inline constexpr int64_t kQ5SlideMs = 2000;
inline constexpr int64_t kQ5SizeMs = 10000;

}  // namespace sluice::nexmark
