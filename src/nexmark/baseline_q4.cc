// The fused baseline of q4 (average closing price per category): each auction's winning price is
// the highest bid between its dateTime and expires (both inclusive, Flink's BETWEEN), final once
// the watermark passes expires; the average of those per category is an updating result. Same
// contract as baseline.cc: generate every event, compute exactly the query's rows, nothing more.
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nexmark/baseline.h"

namespace sluice::nexmark {

namespace {

constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();

// Auction ids only grow in arrival order and are unique, which a hand-written loop may rely on:
// a bid for an id above the highest auction seen waits for its auction (it may be in the same
// millisecond, and BETWEEN is inclusive) until the watermark passes it; a bid for a lower id
// whose auction is not open any more can match nothing.
class Q4State {
 public:
  Q4State(const Clock& clock, BenchResult& result, std::vector<Q4Row>* rows)
      : clock_(clock), result_(result), rows_(rows) {}

  void Add(const Event& e, int64_t gen_ns) {
    batch_gen_ns_ = gen_ns;
    if (e.type == EventType::kAuction) {
      const Auction& a = e.auction;
      if (a.date_time <= wm_) return;  // late
      max_auction_ = std::max(max_auction_, a.id);
      Open o{a.category, a.date_time, a.expires, 0, false};
      if (o.end < o.start) return;  // an empty lifetime: no bid can fall into it
      if (auto p = pending_.find(a.id); p != pending_.end()) {
        for (const auto& [t, price] : p->second) Bid(o, t, price);
        pending_.erase(p);
      }
      open_.emplace(a.id, o);
      closing_.emplace(o.end, a.id);
    } else if (e.type == EventType::kBid) {
      const nexmark::Bid& b = e.bid;
      if (b.date_time <= wm_) return;  // late
      if (auto it = open_.find(b.auction); it != open_.end()) {
        Bid(it->second, b.date_time, b.price);
      } else if (b.auction > max_auction_) {
        pending_[b.auction].emplace_back(b.date_time, b.price);
        pending_order_.emplace_back(b.date_time, b.auction);
      }
    }
  }

  void AdvanceWatermark(int64_t wm) {
    if (wm <= wm_) return;
    wm_ = wm;
    while (!closing_.empty() && closing_.top().first <= wm) {
      auto it = open_.find(closing_.top().second);
      closing_.pop();
      const Open& o = it->second;
      if (o.matched) {
        Category& c = categories_[o.category];
        c.sum += o.max;
        ++c.count;
        c.touched = true;
      }
      open_.erase(it);
    }
    while (!pending_order_.empty() && pending_order_.front().first <= wm) {
      auto p = pending_.find(pending_order_.front().second);
      pending_order_.pop_front();
      if (p == pending_.end()) continue;  // its auction came and took them
      p->second.pop_front();
      if (p->second.empty()) pending_.erase(p);
    }
    bool any = false;
    for (auto& [category, c] : categories_) {
      if (!c.touched) continue;
      c.touched = false;
      any = true;
    }
    if (any) result_.latency_ns.push_back(clock_.MonotonicNs() - batch_gen_ns_);
  }

  // The final table: one row per category.
  void Finish() {
    for (const auto& [category, c] : categories_) {
      double avg = static_cast<double>(c.sum) / static_cast<double>(c.count);
      Q4Row row{category, std::llround(avg * 1000)};
      ++result_.output_rows;
      result_.checksum += RowChecksum({row.category, row.avg_thousandths});
      if (rows_ != nullptr) rows_->push_back(row);
    }
  }

 private:
  struct Open {
    int64_t category, start, end, max;
    bool matched;
  };
  struct Category {
    int64_t sum = 0;
    int64_t count = 0;
    bool touched = false;
  };
  static void Bid(Open& o, int64_t t, int64_t price) {
    if (t < o.start || t > o.end) return;
    o.max = o.matched ? std::max(o.max, price) : price;
    o.matched = true;
  }

  const Clock& clock_;
  BenchResult& result_;
  std::vector<Q4Row>* rows_;
  int64_t wm_ = kNoWatermark;
  int64_t max_auction_ = std::numeric_limits<int64_t>::min();
  int64_t batch_gen_ns_ = 0;
  std::unordered_map<int64_t, Open> open_;
  std::priority_queue<std::pair<int64_t, int64_t>, std::vector<std::pair<int64_t, int64_t>>,
                      std::greater<>>
      closing_;  // (expires, auction id)
  std::unordered_map<int64_t, std::deque<std::pair<int64_t, int64_t>>> pending_;  // (time, price)
  std::deque<std::pair<int64_t, int64_t>> pending_order_;  // (time, auction id), time order
  std::map<int64_t, Category> categories_;
};

}  // namespace

BenchResult RunQ4(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q4Row>* rows) {
  BenchResult r;
  Q4State state(clock, r, rows);
  std::vector<Event> batch(options.batch_size);
  int64_t max_ts = kNoWatermark;
  while (true) {
    int64_t gen_ns = clock.MonotonicNs();
    size_t n = gen.NextBatch(batch);
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      max_ts = std::max(max_ts, batch[i].timestamp_ms);
      state.Add(batch[i], gen_ns);
    }
    r.events += n;
    state.AdvanceWatermark(max_ts - options.watermark_delay_ms);
  }
  state.AdvanceWatermark(std::numeric_limits<int64_t>::max() - 1);
  state.Finish();
  return r;
}

}  // namespace sluice::nexmark
