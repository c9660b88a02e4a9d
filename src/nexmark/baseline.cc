// The fused baselines: q0, q1, q2 (stateless, per-batch latency) and q5 (hopping-window counts
// in 2 s panes, per-window latency); the join queries q3, q7, q8 are in baseline_joins.cc. See README.md for the exact output and latency definitions.
#include "nexmark/baseline.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>

#include "nexmark/internal/flat_map.h"

namespace sluice::nexmark {

namespace {

using internal::FlatCountMap;

// Runs `per_event` over every generated event; one latency sample per batch = wall time from the
// start of generating the batch to the end of processing it (the longest any of the batch's
// outputs waited after its event was generated).
template <typename PerEvent>
BenchResult RunStateless(Generator& gen, const BenchOptions& options, const Clock& clock,
                         PerEvent&& per_event) {
  BenchResult r;
  std::vector<Event> batch(options.batch_size);
  r.latency_ns.reserve(gen.config().max_events / options.batch_size + 1);
  while (true) {
    int64_t t0 = clock.MonotonicNs();
    size_t n = gen.NextBatch(batch);
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) per_event(batch[i], r);
    r.events += n;
    r.latency_ns.push_back(clock.MonotonicNs() - t0);
  }
  return r;
}

// q0 pass-through: SELECT auction, bidder, price, dateTime, extra FROM bid.
BenchResult RunQ0(Generator& gen, const BenchOptions& options, const Clock& clock) {
  return RunStateless(gen, options, clock, [](const Event& e, BenchResult& r) {
    if (e.type != EventType::kBid) return;
    const Bid& b = e.bid;
    ++r.output_rows;
    r.checksum += RowChecksum(
        {b.auction, b.bidder, b.price, b.date_time, static_cast<int64_t>(b.extra.size())});
  });
}

// q1 currency conversion: price * 0.908 as DECIMAL(23,3) = price * 908 thousandths.
BenchResult RunQ1(Generator& gen, const BenchOptions& options, const Clock& clock) {
  return RunStateless(gen, options, clock, [](const Event& e, BenchResult& r) {
    if (e.type != EventType::kBid) return;
    const Bid& b = e.bid;
    ++r.output_rows;
    r.checksum += RowChecksum(
        {b.auction, b.bidder, b.price * 908, b.date_time, static_cast<int64_t>(b.extra.size())});
  });
}

// q2 selection: SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0.
BenchResult RunQ2(Generator& gen, const BenchOptions& options, const Clock& clock) {
  return RunStateless(gen, options, clock, [](const Event& e, BenchResult& r) {
    if (e.type != EventType::kBid || e.bid.auction % 123 != 0) return;
    ++r.output_rows;
    r.checksum += RowChecksum({e.bid.auction, e.bid.price});
  });
}

// q5 state: bid counts per auction in 2 s panes (slices); a 10 s window is the sum of its 5
// panes. Windows fire in start order once the watermark passes their end, like Flink's
// slicing window operator; a bid whose pane has ended before the watermark is late and dropped.
class Q5State {
 public:
  static constexpr int64_t kPanesPerWindow = kQ5SizeMs / kQ5SlideMs;

  Q5State(const Clock& clock, BenchResult& result, std::vector<Q5Row>* rows)
      : clock_(clock), result_(result), rows_(rows) {}

  // REQUIRES: ts >= 0.
  void AddBid(int64_t auction, int64_t ts, int64_t gen_ns) {
    int64_t p = ts / kQ5SlideMs;
    if (p != cached_index_) {
      if ((p + 1) * kQ5SlideMs - 1 <= watermark_) return;  // late
      cached_ = PaneFor(p);
      cached_index_ = p;
    }
    ++cached_->counts[auction];
    cached_->last_gen_ns = gen_ns;
  }

  // Fires every window whose end - 1 is at or below `watermark`.
  void AdvanceWatermark(int64_t watermark) {
    if (watermark <= watermark_) return;
    watermark_ = watermark;
    cached_index_ = kNoPane;  // the cached pane may have become late
    if (!started_) return;
    while (next_fire_ * kQ5SlideMs + kQ5SizeMs - 1 <= watermark_) {
      if (panes_.empty() && next_fire_ >= first_pane_) break;  // nothing left to fire
      Fire(next_fire_);
      if (!panes_.empty() && next_fire_ == first_pane_) {
        free_.push_back(std::move(panes_.front()));
        panes_.pop_front();
        ++first_pane_;
        cached_index_ = kNoPane;
      }
      ++next_fire_;
    }
  }

 private:
  static constexpr int64_t kNoPane = std::numeric_limits<int64_t>::min();
  struct Pane {
    FlatCountMap counts;
    int64_t last_gen_ns = 0;
  };

  Pane* PaneFor(int64_t p) {
    if (!started_) {
      started_ = true;
      first_pane_ = p;
      next_fire_ = p - (kPanesPerWindow - 1);
    }
    // p >= first_pane_: earlier panes were dropped only after the watermark passed them.
    while (first_pane_ + static_cast<int64_t>(panes_.size()) <= p) {
      if (free_.empty()) {
        panes_.push_back(std::make_unique<Pane>());
      } else {
        panes_.push_back(std::move(free_.back()));
        free_.pop_back();
        panes_.back()->counts.Clear();
        panes_.back()->last_gen_ns = 0;
      }
    }
    return panes_[p - first_pane_].get();
  }

  void Fire(int64_t q) {
    scratch_.Clear();
    int64_t newest_ns = 0;
    bool any = false;
    size_t keys = 0;
    auto in_range = [&](int64_t i) {
      return i >= first_pane_ && i < first_pane_ + static_cast<int64_t>(panes_.size());
    };
    for (int64_t i = q; i < q + kPanesPerWindow; ++i) {
      if (in_range(i)) keys += panes_[i - first_pane_]->counts.size();
    }
    scratch_.Reserve(keys);
    for (int64_t i = q; i < q + kPanesPerWindow; ++i) {
      if (!in_range(i)) continue;
      const Pane& pane = *panes_[i - first_pane_];
      if (pane.counts.empty()) continue;
      any = true;
      newest_ns = std::max(newest_ns, pane.last_gen_ns);
      pane.counts.ForEach([&](int64_t k, int64_t v) { scratch_[k] += v; });
    }
    if (!any) return;
    int64_t max = 0;
    scratch_.ForEach([&](int64_t, int64_t v) { max = std::max(max, v); });
    scratch_.ForEach([&](int64_t k, int64_t v) {
      if (v != max) return;
      ++result_.output_rows;
      result_.checksum += RowChecksum({k, v});
      if (rows_ != nullptr) rows_->push_back(Q5Row{q * kQ5SlideMs, k, v});
    });
    result_.latency_ns.push_back(clock_.MonotonicNs() - newest_ns);
  }

  const Clock& clock_;
  BenchResult& result_;
  std::vector<Q5Row>* rows_;
  bool started_ = false;
  int64_t watermark_ = std::numeric_limits<int64_t>::min();
  int64_t first_pane_ = 0;  // pane index of panes_.front()
  int64_t next_fire_ = 0;   // start pane of the next window to fire
  std::deque<std::unique_ptr<Pane>> panes_;
  std::vector<std::unique_ptr<Pane>> free_;
  Pane* cached_ = nullptr;
  int64_t cached_index_ = kNoPane;
  FlatCountMap scratch_;
};

}  // namespace

BenchResult RunQ5(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q5Row>* rows) {
  BenchResult r;
  Q5State state(clock, r, rows);
  std::vector<Event> batch(options.batch_size);
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  while (true) {
    size_t n = gen.NextBatch(batch);
    if (n == 0) break;
    int64_t gen_ns = clock.MonotonicNs();
    for (size_t i = 0; i < n; ++i) {
      const Event& e = batch[i];
      max_ts = std::max(max_ts, e.timestamp_ms);
      if (e.type == EventType::kBid) state.AddBid(e.bid.auction, e.bid.date_time, gen_ns);
    }
    r.events += n;
    // Watermarks advance between batches (Flink emits them periodically, not per event).
    state.AdvanceWatermark(max_ts - options.watermark_delay_ms);
  }
  state.AdvanceWatermark(std::numeric_limits<int64_t>::max() - kQ5SizeMs);  // end of input
  return r;
}

std::vector<std::string_view> BaselineQueries() {
  return {"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"};
}

Result<BenchResult> RunBaseline(const BenchOptions& options, const Clock& clock) {
  SLUICE_RETURN_IF_ERROR(options.generator.Validate());
  if (options.generator.max_events == 0) {
    return InvalidArgument("nexmark baseline: the number of events must be positive");
  }
  if (options.batch_size == 0) return InvalidArgument("nexmark baseline: batch size must be > 0");
  Generator gen(options.generator);
  const std::string& q = options.query;
  if (q == "q0") return RunQ0(gen, options, clock);
  if (q == "q1") return RunQ1(gen, options, clock);
  if (q == "q2") return RunQ2(gen, options, clock);
  if (q == "q3") return RunQ3(gen, options, clock);
  if (q == "q4") return RunQ4(gen, options, clock);
  if (q == "q5") return RunQ5(gen, options, clock);
  if (q == "q7") return RunQ7(gen, options, clock);
  if (q == "q8") return RunQ8(gen, options, clock);
  return InvalidArgument("nexmark baseline: unknown query '{}' (have q0, q1, q2, q3, q4, q5, q7, q8)",
                         q);
}

}  // namespace sluice::nexmark
