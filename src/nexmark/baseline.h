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

// q3 output row (name, city, state, auction id); strings by their length, as RowChecksum takes
// them.
struct Q3Row {
  int64_t name, city, state, id;
  friend bool operator==(const Q3Row&, const Q3Row&) = default;
};
// q3: auctions of category 10 joined (regular, unbounded join) with persons from OR, ID or CA on
// seller = person.id.
BenchResult RunQ3(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q3Row>* rows = nullptr);

// q7 output row in SELECT order (auction, price, bidder, dateTime, extra length) — Flink's q7
// writes it into sink columns named (auction, bidder, price, ...), positionally the same row.
struct Q7Row {
  int64_t auction, price, bidder, date_time, extra;
  friend bool operator==(const Q7Row&, const Q7Row&) = default;
};
// q7: the bids whose price is MAX(price) of a TUMBLE(10 s) window and whose dateTime is BETWEEN
// window_end - 10 s AND window_end (both inclusive: a bid at exactly window_end also matches the
// window it ends, if its price equals that window's max).
BenchResult RunQ7(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q7Row>* rows = nullptr);
inline constexpr int64_t kQ7WindowMs = 10000;

// q4 result row: a category and its average winning price (DECIMAL(.,3) thousandths, as
// RowChecksum takes a double). q4's result is an updating table; the baseline's rows (and the
// checksum) are its final state, one row per category, as a consumer applying every update holds.
struct Q4Row {
  int64_t category, avg_thousandths;
  friend bool operator==(const Q4Row&, const Q4Row&) = default;
};
// q4: AVG per category of each auction's winning price, MAX(bid.price) over the bids with
// bid.dateTime BETWEEN auction.dateTime AND auction.expires (auctions without such a bid do not
// count: an inner join). An auction's price is final when the watermark reaches its expires.
BenchResult RunQ4(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q4Row>* rows = nullptr);

// q8 output row (person id, name length, window start).
struct Q8Row {
  int64_t id, name, starttime;
  friend bool operator==(const Q8Row&, const Q8Row&) = default;
};
// q8: persons grouped by (id, name) per TUMBLE(10 s) joined with the sellers of auctions of the
// same window.
BenchResult RunQ8(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q8Row>* rows = nullptr);
inline constexpr int64_t kQ8WindowMs = 10000;

}  // namespace sluice::nexmark
