// Nexmark on the stream engine: query specs, the generator-fed task loop, output checksums that
// match the hand-written baselines (nexmark/bench_types.h RowChecksum).
#include "app/nexmark_engine.h"

#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>

#include "nexmark/generator.h"
#include "nexmark/to_value.h"
#include "stream/task_graph.h"

namespace sluice::app {

namespace {

constexpr const char* kHeader = R"(sources: [{name: nexmark, topic: nexmark}]
outputs: [{name: out, input: q, type: discard}]
operators:
  - {name: bids, type: filter, input: nexmark, condition: "event_type = 2"}
)";

// Column `name` of an output row as RowChecksum wants it. Output rows of one query share their
// shape, so a position hint per call site makes the lookup one comparison. Always inlined: it
// runs for every column of every output row, and as a call it cost q1 a tenth of its time.
[[gnu::always_inline]] inline int64_t Int(const model::Value& row, std::string_view name,
                                          uint32_t& hint) {
  const model::Value* v = nullptr;
  if (row.is_object() && hint < row.members().size() &&
      model::NameEquals(row.members()[hint].name, name)) {
    v = &row.members()[hint].value;
  } else {
    v = row.Find(name, &hint);
  }
  if (v == nullptr) return 0;
  if (v->is_double()) return std::llround(v->double_value() * 1000);  // DECIMAL(.,3)
  if (v->is_string()) return static_cast<int64_t>(v->string_value().size());
  return v->int_value();
}

using Checksum = std::function<uint64_t(const model::Value&)>;

Checksum ChecksumFor(std::string_view q) {
  if (q == "q0" || q == "q1") {
    return [h = std::array<uint32_t, 5>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum({Int(r, "auction", h[0]), Int(r, "bidder", h[1]), Int(r, "price", h[2]),
                                   Int(r, "dateTime", h[3]), Int(r, "extra", h[4])});
    };
  }
  if (q == "q2") {
    return [h = std::array<uint32_t, 2>{}](const model::Value& r) mutable { return nexmark::RowChecksum({Int(r, "auction", h[0]), Int(r, "price", h[1])}); };
  }
  if (q == "q5") {
    return [h = std::array<uint32_t, 2>{}](const model::Value& r) mutable { return nexmark::RowChecksum({Int(r, "auction", h[0]), Int(r, "num", h[1])}); };
  }
  if (q == "q3") {
    return [h = std::array<uint32_t, 4>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum(
          {Int(r, "name", h[0]), Int(r, "city", h[1]), Int(r, "state", h[2]), Int(r, "id", h[3])});
    };
  }
  if (q == "q7") {
    // SELECT order (auction, price, bidder, ...), which Flink's q7 writes into the sink columns
    // (auction, bidder, price, ...): positionally the same row.
    return [h = std::array<uint32_t, 5>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum({Int(r, "auction", h[0]), Int(r, "price", h[1]),
                                   Int(r, "bidder", h[2]), Int(r, "dateTime", h[3]),
                                   Int(r, "extra", h[4])});
    };
  }
  if (q == "q8") {
    return [h = std::array<uint32_t, 3>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum({Int(r, "id", h[0]), Int(r, "name", h[1]),
                                   Int(r, "starttime", h[2])});
    };
  }
  if (q == "q4") {
    return [h = std::array<uint32_t, 2>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum({Int(r, "category", h[0]), Int(r, "avg_price", h[1])});
    };
  }
  if (q == "q11") {
    return [h = std::array<uint32_t, 4>{}](const model::Value& r) mutable {
      return nexmark::RowChecksum({Int(r, "bidder", h[0]), Int(r, "bid_count", h[1]), Int(r, "window_start", h[2]),
                                   Int(r, "window_end", h[3])});
    };
  }
  return {};
}

}  // namespace

std::string NexmarkPipelineSpec(std::string_view query) {
  std::string ops;
  if (query == "q0") {
    ops = R"(  - {name: q, type: map, input: bids, fields: {auction: bid.auction, bidder: bid.bidder, price: bid.price, dateTime: bid.dateTime, extra: bid.extra}}
)";
  } else if (query == "q1") {
    ops = R"(  - {name: q, type: map, input: bids, fields: {auction: bid.auction, bidder: bid.bidder, price: "bid.price * 0.908", dateTime: bid.dateTime, extra: bid.extra}}
)";
  } else if (query == "q2") {
    ops = R"(  - {name: sel, type: filter, input: bids, condition: "bid.auction % 123 = 0"}
  - {name: q, type: map, input: sel, fields: {auction: bid.auction, price: bid.price}}
)";
  } else if (query == "q5") {
    ops = R"(  - name: counts
    type: window
    input: bids
    key: bid.auction
    key_name: auction
    window: {kind: hopping, size: 10s, slide: 2s}
    aggregates: {num: count(*)}
  - {name: q, type: top_n, input: counts, partition_by: window_start, order_by: num, n: 1, with_ties: true}
)";
  } else if (query == "q3") {
    // Flink: a regular (unbounded) join; both filtered sides are kept forever.
    ops = R"spec(  - {name: auctions, type: filter, input: nexmark, condition: "event_type = 1 AND auction.category = 10"}
  - {name: persons, type: filter, input: nexmark, condition: "event_type = 0 AND person.state IN ('OR', 'ID', 'CA')"}
  - name: j
    type: join
    inputs: [auctions, persons]
    join: {kind: regular, left_key: auction.seller, right_key: person.id, as: [A, P]}
  - {name: q, type: map, input: j, fields: {name: P.person.name, city: P.person.city, state: P.person.state, id: A.auction.id}}
)spec";
  } else if (query == "q7") {
    // Flink: bids JOIN (MAX(price), window_end per TUMBLE 10 s) ON price = maxprice WHERE
    // dateTime BETWEEN window_end - 10 s AND window_end. The maxes come out at window_end - 1, in
    // their own window: a tumbling window join finds the bids of [start, end) at the max, and an
    // interval join the bids at exactly window_end (the inclusive upper bound; right.time =
    // left.time - 1). Bids are projected to the selected columns first (Flink's planner pushes
    // the projection down the same way), so the join buffers less.
    ops = R"(  - {name: b, type: map, input: bids, fields: {auction: bid.auction, price: bid.price, bidder: bid.bidder, dateTime: bid.dateTime, extra: bid.extra}}
  - name: maxes
    type: window
    input: b
    window: {kind: tumbling, size: 10s}
    aggregates: {maxprice: max(price)}
  - name: inside
    type: join
    inputs: [b, maxes]
    join: {kind: window, window: {kind: tumbling, size: 10s}, left_key: price, right_key: maxprice, as: [B, M]}
  - {name: edge, type: filter, input: b, condition: "unix_millis(dateTime) % 10000 = 0"}
  - name: atend
    type: join
    inputs: [edge, maxes]
    join: {kind: interval, lower: -1ms, upper: -1ms, left_key: price, right_key: maxprice, as: [B, M]}
  - {name: both, type: union, inputs: [inside, atend]}
  - {name: q, type: map, input: both, fields: {auction: B.auction, price: B.price, bidder: B.bidder, dateTime: B.dateTime, extra: B.extra}}
)";
  } else if (query == "q8") {
    // Flink: persons GROUP BY (id, name, TUMBLE 10 s) JOIN auctions GROUP BY (seller, TUMBLE
    // 10 s) on id = seller and the same window. Both groupings are tumbling windows whose results
    // (event time window_end - 1) meet in the same 10 s window of a window join.
    ops = R"(  - {name: persons, type: filter, input: nexmark, condition: "event_type = 0"}
  - {name: auctions, type: filter, input: nexmark, condition: "event_type = 1"}
  - name: P
    type: window
    input: persons
    key: "CAST(person.id AS STRING) || '/' || person.name"
    window: {kind: tumbling, size: 10s}
    aggregates: {id: first(person.id), name: first(person.name)}
  - name: A
    type: window
    input: auctions
    key: auction.seller
    key_name: seller
    window: {kind: tumbling, size: 10s}
    aggregates: {n: count(*)}
  - name: j
    type: join
    inputs: [P, A]
    join: {kind: window, window: {kind: tumbling, size: 10s}, left_key: id, right_key: seller}
  - {name: q, type: map, input: j, fields: {id: P.id, name: P.name, starttime: P.window_start}}
)";
  } else if (query == "q4") {
    // Flink: MAX(price) per auction over the bids BETWEEN a.dateTime AND a.expires (a regular
    // join and an updating GROUP BY), then AVG per category over those updating maxima. Here each
    // auction's lifetime is a window of a lifetime join, closed (its maximum final) when the
    // watermark passes expires, so the average is fed final values only and needs no
    // retractions; it is an updating aggregate whose last row per category is the result.
    ops = R"(  - {name: auctions, type: filter, input: nexmark, condition: "event_type = 1"}
  - {name: a, type: map, input: auctions, fields: {id: auction.id, category: auction.category, expires: auction.expires}}
  - name: winning
    type: join
    inputs: [a, bids]
    join: {kind: lifetime, left_key: id, right_key: bid.auction, until: expires, as: [A, B], aggregates: {final: max(bid.price)}}
  - {name: q, type: aggregate, input: winning, key: A.category, key_name: category, aggregates: {avg_price: avg(final)}}
)";
  } else if (query == "q11") {
    ops = R"(  - name: q
    type: window
    input: bids
    key: bid.bidder
    key_name: bidder
    window: {kind: session, gap: 10s}
    aggregates: {bid_count: count(*)}
)";
  } else {
    return {};
  }
  return fmt::format("name: nexmark-{}\n{}{}", query, kHeader, ops);
}

nexmark::EngineRunner MakeNexmarkEngineRunner() {
  return [](const nexmark::BenchOptions& options) -> Result<nexmark::BenchResult> {
    std::string text = NexmarkPipelineSpec(options.query);
    Checksum checksum = ChecksumFor(options.query);
    if (text.empty() || !checksum) {
      return InvalidArgument("the engine runs q0, q1, q2, q3, q4, q5, q7, q8 and q11; not '{}'",
                             options.query);
    }
    SLUICE_RETURN_IF_ERROR(options.generator.Validate());
    if (options.generator.max_events == 0) return InvalidArgument("--events must be positive");
    auto spec = stream::ParsePipelineSpec(text);
    if (!spec.ok()) return spec.status();

    // q4's result is an updating table (one row per category, updated as auctions close): its
    // checksum and row count are those of the final table, the last row per key, as with the
    // baseline.
    const bool updating = options.query == "q4";
    std::map<int64_t, uint64_t> last_by_key;
    nexmark::BenchResult result;
    stream::TaskContext ctx;
    int64_t cycle_start_ns = 0;
    auto now_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
    stream::TaskGraph::Options graph_options;
    graph_options.observe_discard = [&](std::span<const stream::Row> rows) {
      if (updating) {
        for (const stream::Row& r : rows) last_by_key[r.key.int_value()] = checksum(r.value);
      } else {
        for (const stream::Row& r : rows) result.checksum += checksum(r.value);
        result.output_rows += rows.size();
      }
      // One sample per batch of results: from the start of generating the events whose arrival
      // produced them (or moved the watermark past their window) to their emission.
      result.latency_ns.push_back(now_ns() - cycle_start_ns);
    };
    auto graph = stream::TaskGraph::Build(*spec, ctx, graph_options);
    if (!graph.ok()) return graph.status();
    stream::PassThroughOperator& source = (*graph)->source(0);

    nexmark::Generator gen(options.generator);
    std::vector<nexmark::Event> events(options.batch_size);
    std::vector<stream::Row> rows;
    rows.reserve(options.batch_size);
    int64_t max_ts = stream::kNoWatermark;
    for (;;) {
      cycle_start_ns = now_ns();
      size_t n = gen.NextBatch(events);
      if (n == 0) break;
      rows.clear();
      for (size_t i = 0; i < n; ++i) {
        const nexmark::Event& e = events[i];
        // Filled in place: a Row built as a temporary and copied in is written and re-read in
        // pieces, which stalls store forwarding on every event.
        stream::Row& row = rows.emplace_back();
        row.value = nexmark::ToValueBorrowed(e, ctx.arena);
        row.timestamp = e.timestamp_ms;
        max_ts = std::max(max_ts, e.timestamp_ms);
      }
      result.events += n;
      source.Deliver(rows);
      source.DeliverWatermark(max_ts - options.watermark_delay_ms);
      ctx.arena.Reset();
    }
    // End of a bounded input: the final watermark closes every window.
    cycle_start_ns = now_ns();
    source.DeliverWatermark(std::numeric_limits<int64_t>::max() - 1);
    for (const auto& [key, sum] : last_by_key) {
      result.checksum += sum;
      ++result.output_rows;
    }
    return result;
  };
}

}  // namespace sluice::app
