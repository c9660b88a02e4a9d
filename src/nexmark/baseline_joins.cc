// The fused baselines of the join queries: q3 (regular join of filtered auctions and persons), q7
// (bids at their tumbling window's max price) and q8 (new sellers per tumbling window). Same
// contract as baseline.cc: generate every event, compute exactly the query's rows, nothing more.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>

#include "nexmark/baseline.h"
#include "nexmark/internal/flat_map.h"

namespace sluice::nexmark {

namespace {

using internal::FlatCountMap;

constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Feeds every generated event to `state.Add(event, gen_ns)` and, after each batch, moves the
// watermark to (max event time - delay) as the engine's driver does; at the end of input a final
// watermark fires everything. gen_ns: when the batch's generation started.
template <typename State>
void Drive(Generator& gen, const BenchOptions& options, const Clock& clock, BenchResult& r,
           State& state) {
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
}

// q3: per key (seller = person.id), the qualifying persons and auctions seen so far; an arriving
// one joins every stored one of the other side. Nothing is ever dropped (Flink's regular join).
class Q3State {
 public:
  Q3State(const Clock& clock, BenchResult& result, std::vector<Q3Row>* rows)
      : clock_(clock), result_(result), rows_(rows) {}

  void Add(const Event& e, int64_t gen_ns) {
    if (e.type == EventType::kPerson) {
      const Person& p = e.person;
      if (p.state != "OR" && p.state != "ID" && p.state != "CA") return;
      PersonCols cols{static_cast<int64_t>(p.name.size()), static_cast<int64_t>(p.city.size()),
                      static_cast<int64_t>(p.state.size())};
      Key& k = keys_[p.id];
      for (int64_t auction : k.auctions) Emit(cols, auction, gen_ns);
      k.persons.push_back(cols);
    } else if (e.type == EventType::kAuction) {
      const Auction& a = e.auction;
      if (a.category != 10) return;
      Key& k = keys_[a.seller];
      for (const PersonCols& cols : k.persons) Emit(cols, a.id, gen_ns);
      k.auctions.push_back(a.id);
    }
  }

  // Rows come out as their events arrive: one latency sample per batch that produced any.
  void AdvanceWatermark(int64_t) {
    if (batch_gen_ns_ == 0) return;
    result_.latency_ns.push_back(clock_.MonotonicNs() - batch_gen_ns_);
    batch_gen_ns_ = 0;
  }

 private:
  struct PersonCols {
    int64_t name, city, state;
  };
  struct Key {
    std::vector<PersonCols> persons;
    std::vector<int64_t> auctions;
  };

  void Emit(const PersonCols& p, int64_t auction, int64_t gen_ns) {
    ++result_.output_rows;
    result_.checksum += RowChecksum({p.name, p.city, p.state, auction});
    if (rows_ != nullptr) rows_->push_back(Q3Row{p.name, p.city, p.state, auction});
    batch_gen_ns_ = gen_ns;
  }

  const Clock& clock_;
  BenchResult& result_;
  std::vector<Q3Row>* rows_;
  std::unordered_map<int64_t, Key> keys_;
  int64_t batch_gen_ns_ = 0;
};

// q7: per tumbling window its running max and the bids at it, plus the bids at exactly its end
// (the inclusive upper bound of Flink's BETWEEN) that could still equal the final max. A window's
// own bids are late once the watermark reaches end - 1 (as in the engine's window operators);
// bids at its end are late once it reaches end, when the window fires.
class Q7State {
 public:
  Q7State(const Clock& clock, BenchResult& result, std::vector<Q7Row>* rows)
      : clock_(clock), result_(result), rows_(rows) {}

  void Add(const Event& e, int64_t gen_ns) {
    if (e.type != EventType::kBid) return;
    const Bid& b = e.bid;
    const int64_t t = b.date_time;
    const int64_t k = FloorDiv(t, kQ7WindowMs);
    Q7Row row{b.auction, b.price, b.bidder, t, static_cast<int64_t>(b.extra.size())};
    if ((k + 1) * kQ7WindowMs - 1 > wm_) {
      Window& w = Get(k);
      if (!w.has_max || b.price > w.max) {
        w.has_max = true;
        w.max = b.price;
        w.at_max.clear();
        w.at_max.push_back(row);
      } else if (b.price == w.max) {
        w.at_max.push_back(row);
      }
      w.last_gen_ns = gen_ns;
    }
    if (t % kQ7WindowMs == 0 && t > wm_) {
      // Also the last instant of window k - 1. Its max only grows, so a lower price never joins.
      Window& prev = Get(k - 1);
      if (!prev.has_max || b.price >= prev.max) prev.at_end.push_back(row);
      prev.last_gen_ns = std::max(prev.last_gen_ns, gen_ns);
    }
  }

  void AdvanceWatermark(int64_t wm) {
    if (wm <= wm_) return;
    wm_ = wm;
    while (!windows_.empty() && (windows_.begin()->first + 1) * kQ7WindowMs <= wm_) {
      Fire(windows_.begin()->first, windows_.begin()->second);
      windows_.erase(windows_.begin());
      cached_ = nullptr;
    }
  }

 private:
  struct Window {
    bool has_max = false;
    int64_t max = 0;
    std::vector<Q7Row> at_max;  // bids of [start, end) at `max`, arrival order
    std::vector<Q7Row> at_end;  // bids at exactly `end` with price >= max when they came
    int64_t last_gen_ns = 0;
  };

  Window& Get(int64_t k) {
    if (cached_ != nullptr && cached_k_ == k) return *cached_;
    cached_k_ = k;
    cached_ = &windows_[k];
    return *cached_;
  }

  void Fire(int64_t, const Window& w) {
    if (!w.has_max) return;  // no bid in the window: no MAX row, nothing joins
    auto emit = [&](const Q7Row& row) {
      ++result_.output_rows;
      result_.checksum += RowChecksum({row.auction, row.price, row.bidder, row.date_time, row.extra});
      if (rows_ != nullptr) rows_->push_back(row);
    };
    for (const Q7Row& row : w.at_max) emit(row);
    for (const Q7Row& row : w.at_end) {
      if (row.price == w.max) emit(row);
    }
    result_.latency_ns.push_back(clock_.MonotonicNs() - w.last_gen_ns);
  }

  const Clock& clock_;
  BenchResult& result_;
  std::vector<Q7Row>* rows_;
  int64_t wm_ = kNoWatermark;
  std::map<int64_t, Window> windows_;  // window index (start / size) -> state
  Window* cached_ = nullptr;           // windows_[cached_k_]: consecutive bids share a window
  int64_t cached_k_ = 0;
};

// q8: per tumbling window the distinct (id, name) of its persons and the set of its auctions'
// sellers; a window fires when the watermark reaches end - 1 (events of it after that are late).
class Q8State {
 public:
  Q8State(const Clock& clock, BenchResult& result, std::vector<Q8Row>* rows)
      : clock_(clock), result_(result), rows_(rows) {}

  void Add(const Event& e, int64_t gen_ns) {
    if (e.type == EventType::kBid) return;
    int64_t k = FloorDiv(e.timestamp_ms, kQ8WindowMs);
    if ((k + 1) * kQ8WindowMs - 1 <= wm_) return;  // late
    Window& w = Get(k);
    w.last_gen_ns = gen_ns;
    if (e.type == EventType::kPerson) {
      std::vector<std::string>& names = w.persons[e.person.id];
      if (std::find(names.begin(), names.end(), e.person.name) == names.end()) {
        names.emplace_back(e.person.name);
      }
    } else {
      w.sellers[e.auction.seller] = 1;
    }
  }

  void AdvanceWatermark(int64_t wm) {
    if (wm <= wm_) return;
    wm_ = wm;
    while (!windows_.empty() && (windows_.begin()->first + 1) * kQ8WindowMs - 1 <= wm_) {
      Fire(windows_.begin()->first, windows_.begin()->second);
      windows_.erase(windows_.begin());
      cached_ = nullptr;
    }
  }

 private:
  struct Window {
    std::unordered_map<int64_t, std::vector<std::string>> persons;  // id -> distinct names
    FlatCountMap sellers{64};
    int64_t last_gen_ns = 0;
  };

  Window& Get(int64_t k) {
    if (cached_ != nullptr && cached_k_ == k) return *cached_;
    cached_k_ = k;
    cached_ = &windows_[k];
    return *cached_;
  }

  void Fire(int64_t k, const Window& w) {
    bool any = false;
    for (const auto& [id, names] : w.persons) {
      if (w.sellers.Find(id) == nullptr) continue;
      for (const std::string& name : names) {
        any = true;
        Q8Row row{id, static_cast<int64_t>(name.size()), k * kQ8WindowMs};
        ++result_.output_rows;
        result_.checksum += RowChecksum({row.id, row.name, row.starttime});
        if (rows_ != nullptr) rows_->push_back(row);
      }
    }
    if (any) result_.latency_ns.push_back(clock_.MonotonicNs() - w.last_gen_ns);
  }

  const Clock& clock_;
  BenchResult& result_;
  std::vector<Q8Row>* rows_;
  int64_t wm_ = kNoWatermark;
  std::map<int64_t, Window> windows_;
  Window* cached_ = nullptr;
  int64_t cached_k_ = 0;
};

}  // namespace

BenchResult RunQ3(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q3Row>* rows) {
  BenchResult r;
  Q3State state(clock, r, rows);
  Drive(gen, options, clock, r, state);
  return r;
}

BenchResult RunQ7(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q7Row>* rows) {
  BenchResult r;
  Q7State state(clock, r, rows);
  Drive(gen, options, clock, r, state);
  return r;
}

BenchResult RunQ8(Generator& gen, const BenchOptions& options, const Clock& clock,
                  std::vector<Q8Row>* rows) {
  BenchResult r;
  Q8State state(clock, r, rows);
  Drive(gen, options, clock, r, state);
  return r;
}

}  // namespace sluice::nexmark
