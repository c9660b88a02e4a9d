// Baseline tests: q5, q3, q7 and q8 against naive recomputations from the stored events, and
// the stateless queries' row counts and checksums against direct recomputation.
#include "nexmark/baseline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace sluice::nexmark {
namespace {

struct StoredBid {
  int64_t auction, bidder, price, date_time, extra_len;
};

std::vector<StoredBid> AllBids(const GeneratorConfig& c) {
  Generator gen(c);
  std::vector<StoredBid> bids;
  std::vector<Event> buf(256);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) {
      if (buf[i].type != EventType::kBid) continue;
      const Bid& b = buf[i].bid;
      bids.push_back(
          {b.auction, b.bidder, b.price, b.date_time, static_cast<int64_t>(b.extra.size())});
    }
  }
  return bids;
}

// Every HOP(2 s, 10 s) window that holds a bid, counted from scratch.
std::vector<Q5Row> NaiveQ5(const std::vector<StoredBid>& bids) {
  std::vector<Q5Row> rows;
  if (bids.empty()) return rows;
  int64_t lo = bids.front().date_time, hi = lo;
  for (const auto& b : bids) {
    lo = std::min(lo, b.date_time);
    hi = std::max(hi, b.date_time);
  }
  int64_t first_start = (lo / kQ5SlideMs) * kQ5SlideMs - kQ5SizeMs + kQ5SlideMs;
  for (int64_t w = first_start; w <= hi; w += kQ5SlideMs) {
    std::map<int64_t, int64_t> counts;
    for (const auto& b : bids) {
      if (b.date_time >= w && b.date_time < w + kQ5SizeMs) ++counts[b.auction];
    }
    int64_t max = 0;
    for (const auto& [a, n] : counts) max = std::max(max, n);
    for (const auto& [a, n] : counts) {
      if (n == max) rows.push_back({w, a, n});
    }
  }
  return rows;
}

void Sort(std::vector<Q5Row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const Q5Row& a, const Q5Row& b) {
    return std::tie(a.window_start, a.auction) < std::tie(b.window_start, b.auction);
  });
}

BenchOptions Options(const char* query, uint64_t events, double rate) {
  BenchOptions o;
  o.query = query;
  o.generator.max_events = events;
  o.generator.first_event_rate = rate;
  o.batch_size = 500;
  return o;
}

void CheckQ5AgainstNaive(const BenchOptions& o) {
  ManualClock clock;
  Generator gen(o.generator);
  std::vector<Q5Row> rows;
  BenchResult r = RunQ5(gen, o, clock, &rows);
  EXPECT_EQ(r.events, o.generator.max_events);
  EXPECT_EQ(r.output_rows, rows.size());
  std::vector<Q5Row> expected = NaiveQ5(AllBids(o.generator));
  Sort(rows);
  Sort(expected);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(rows, expected);
  uint64_t checksum = 0;
  for (const auto& row : expected) checksum += RowChecksum({row.auction, row.num});
  EXPECT_EQ(r.checksum, checksum);
}

TEST(BaselineTest, Q5MatchesNaiveWindowsAtLowRate) {
  // 2 000 ev/s for 60 000 events: 30 s of event time, ~20 hop windows with a few hundred bids.
  CheckQ5AgainstNaive(Options("q5", 60'000, 2'000));
}

TEST(BaselineTest, Q5MatchesNaiveWindowsWithManyAuctionsPerWindow) {
  CheckQ5AgainstNaive(Options("q5", 100'000, 20'000));
}

TEST(BaselineTest, Q5MatchesNaiveWindowsOutOfOrder) {
  BenchOptions o = Options("q5", 50'000, 1'000);
  o.generator.out_of_order_group_size = 7;
  CheckQ5AgainstNaive(o);
}

TEST(BaselineTest, Q5RecordsOneLatencySamplePerFiredWindow) {
  BenchOptions o = Options("q5", 60'000, 2'000);
  ManualClock clock;
  Generator gen(o.generator);
  std::vector<Q5Row> rows;
  BenchResult r = RunQ5(gen, o, clock, &rows);
  std::set<int64_t> windows;
  for (const auto& row : rows) windows.insert(row.window_start);
  EXPECT_EQ(r.latency_ns.size(), windows.size());
}

TEST(BaselineTest, StatelessQueriesMatchDirectRecomputation) {
  BenchOptions o = Options("q0", 30'000, 10'000);
  auto bids = AllBids(o.generator);
  uint64_t q0 = 0, q1 = 0, q2 = 0, q2_rows = 0;
  for (const auto& b : bids) {
    q0 += RowChecksum({b.auction, b.bidder, b.price, b.date_time, b.extra_len});
    q1 += RowChecksum({b.auction, b.bidder, b.price * 908, b.date_time, b.extra_len});
    if (b.auction % 123 == 0) {
      ++q2_rows;
      q2 += RowChecksum({b.auction, b.price});
    }
  }
  ManualClock clock;
  for (auto [q, rows, sum] : {std::tuple{"q0", bids.size(), q0}, std::tuple{"q1", bids.size(), q1},
                              std::tuple{"q2", size_t{q2_rows}, q2}}) {
    o.query = q;
    auto r = RunBaseline(o, clock);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->events, 30'000u) << q;
    EXPECT_EQ(r->output_rows, rows) << q;
    EXPECT_EQ(r->checksum, sum) << q;
    EXPECT_EQ(r->latency_ns.size(), 60u) << q;  // one sample per batch of 500
  }
  EXPECT_GT(q2_rows, 0u);
}

template <typename Row>
uint64_t SortAndSum(std::vector<Row>& rows, uint64_t (*sum)(const Row&)) {
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::memcmp(&a, &b, sizeof(Row)) < 0;
  });
  uint64_t s = 0;
  for (const Row& r : rows) s += sum(r);
  return s;
}

// Every qualifying auction x every qualifying person of its seller, whatever the arrival order.
std::vector<Q3Row> NaiveQ3(const GeneratorConfig& c) {
  Generator gen(c);
  std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>> persons;  // id, name, city, state
  std::vector<std::pair<int64_t, int64_t>> auctions;                     // seller, id
  std::vector<Event> buf(256);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) {
      const Event& e = buf[i];
      if (e.type == EventType::kPerson) {
        const Person& p = e.person;
        if (p.state == "OR" || p.state == "ID" || p.state == "CA") {
          persons.emplace_back(p.id, p.name.size(), p.city.size(), p.state.size());
        }
      } else if (e.type == EventType::kAuction && e.auction.category == 10) {
        auctions.emplace_back(e.auction.seller, e.auction.id);
      }
    }
  }
  std::vector<Q3Row> rows;
  for (const auto& [seller, id] : auctions) {
    for (const auto& [pid, name, city, state] : persons) {
      if (pid == seller) rows.push_back({name, city, state, id});
    }
  }
  return rows;
}

// For every 10 s window with bids: its max, then every bid with dateTime in [end - 10 s, end]
// (both inclusive) at that price.
std::vector<Q7Row> NaiveQ7(const std::vector<StoredBid>& bids) {
  std::map<int64_t, int64_t> max;  // window index -> max price
  for (const auto& b : bids) {
    int64_t k = b.date_time / kQ7WindowMs;
    auto [it, inserted] = max.try_emplace(k, b.price);
    if (!inserted) it->second = std::max(it->second, b.price);
  }
  std::vector<Q7Row> rows;
  for (const auto& [k, m] : max) {
    int64_t end = (k + 1) * kQ7WindowMs;
    for (const auto& b : bids) {
      if (b.price == m && b.date_time >= end - kQ7WindowMs && b.date_time <= end) {
        rows.push_back({b.auction, b.price, b.bidder, b.date_time, b.extra_len});
      }
    }
  }
  return rows;
}

// Distinct (window, id, name) of persons whose id sold an auction in the same window.
std::vector<Q8Row> NaiveQ8(const GeneratorConfig& c) {
  Generator gen(c);
  std::set<std::tuple<int64_t, int64_t, std::string>> persons;
  std::set<std::pair<int64_t, int64_t>> sellers;
  std::vector<Event> buf(256);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) {
      const Event& e = buf[i];
      int64_t w = e.timestamp_ms / kQ8WindowMs * kQ8WindowMs;
      if (e.type == EventType::kPerson) {
        persons.emplace(w, e.person.id, std::string(e.person.name));
      } else if (e.type == EventType::kAuction) {
        sellers.emplace(w, e.auction.seller);
      }
    }
  }
  std::vector<Q8Row> rows;
  for (const auto& [w, id, name] : persons) {
    if (sellers.count({w, id}) != 0) rows.push_back({id, static_cast<int64_t>(name.size()), w});
  }
  return rows;
}

uint64_t SumQ3(const Q3Row& r) { return RowChecksum({r.name, r.city, r.state, r.id}); }
uint64_t SumQ7(const Q7Row& r) {
  return RowChecksum({r.auction, r.price, r.bidder, r.date_time, r.extra});
}
uint64_t SumQ8(const Q8Row& r) { return RowChecksum({r.id, r.name, r.starttime}); }
uint64_t SumQ4(const Q4Row& r) { return RowChecksum({r.category, r.avg_thousandths}); }

// q4 from scratch: every auction's highest bid with dateTime BETWEEN its dateTime and expires,
// averaged per category over the auctions that have one.
std::vector<Q4Row> NaiveQ4(const GeneratorConfig& c) {
  struct A {
    int64_t category, start, end, max = -1;
  };
  std::map<int64_t, A> auctions;
  std::vector<StoredBid> bids;
  Generator gen(c);
  std::vector<Event> buf(256);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) {
      const Event& e = buf[i];
      if (e.type == EventType::kAuction) {
        auctions[e.auction.id] = A{e.auction.category, e.auction.date_time, e.auction.expires};
      } else if (e.type == EventType::kBid) {
        bids.push_back({e.bid.auction, e.bid.bidder, e.bid.price, e.bid.date_time, 0});
      }
    }
  }
  for (const StoredBid& b : bids) {
    auto it = auctions.find(b.auction);
    if (it == auctions.end()) continue;
    A& a = it->second;
    if (b.date_time >= a.start && b.date_time <= a.end) a.max = std::max(a.max, b.price);
  }
  std::map<int64_t, std::pair<int64_t, int64_t>> per_category;  // sum, count
  for (const auto& [id, a] : auctions) {
    if (a.max < 0) continue;
    per_category[a.category].first += a.max;
    ++per_category[a.category].second;
  }
  std::vector<Q4Row> rows;
  for (const auto& [category, sc] : per_category) {
    double avg = static_cast<double>(sc.first) / static_cast<double>(sc.second);
    rows.push_back({category, std::llround(avg * 1000)});
  }
  return rows;
}

template <typename Row, typename Run>
void CheckAgainstNaive(const BenchOptions& o, Run run, std::vector<Row> expected,
                       uint64_t (*sum)(const Row&)) {
  ManualClock clock;
  Generator gen(o.generator);
  std::vector<Row> rows;
  BenchResult r = run(gen, o, clock, &rows);
  EXPECT_EQ(r.events, o.generator.max_events);
  EXPECT_EQ(r.output_rows, rows.size());
  ASSERT_FALSE(expected.empty());
  uint64_t got = SortAndSum(rows, sum);
  uint64_t want = SortAndSum(expected, sum);
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(r.checksum, want);
  EXPECT_EQ(got, want);
  // RunBaseline dispatches to the same loop.
  auto via = RunBaseline(o, clock);
  ASSERT_TRUE(via.ok());
  EXPECT_EQ(via->checksum, want);
}

TEST(BaselineTest, Q3MatchesANaiveJoinOfAllQualifyingEvents) {
  BenchOptions o = Options("q3", 200'000, 10'000);
  CheckAgainstNaive<Q3Row>(o, RunQ3, NaiveQ3(o.generator), SumQ3);
}

TEST(BaselineTest, Q7MatchesNaiveWindowMaxima) {
  // 1 000 ev/s for 100 000 events: 100 s of event time, 10 windows of ~9 000 bids.
  BenchOptions o = Options("q7", 100'000, 1'000);
  CheckAgainstNaive<Q7Row>(o, RunQ7, NaiveQ7(AllBids(o.generator)), SumQ7);
}

TEST(BaselineTest, Q7MatchesNaiveWindowMaximaOutOfOrder) {
  BenchOptions o = Options("q7", 60'000, 500);
  o.generator.out_of_order_group_size = 7;
  CheckAgainstNaive<Q7Row>(o, RunQ7, NaiveQ7(AllBids(o.generator)), SumQ7);
}

TEST(BaselineTest, Q8MatchesNaiveGroupedJoin) {
  // Low rate: persons and their auctions spread over many 10 s windows.
  BenchOptions o = Options("q8", 100'000, 500);
  CheckAgainstNaive<Q8Row>(o, RunQ8, NaiveQ8(o.generator), SumQ8);
}

TEST(BaselineTest, Q4MatchesNaiveWinningPrices) {
  // 10 M ev/s: many bids share a millisecond with their auction and arrive before it.
  BenchOptions o = Options("q4", 200'000, 10'000'000);
  CheckAgainstNaive<Q4Row>(o, RunQ4, NaiveQ4(o.generator), SumQ4);
  // 1 000 ev/s: auctions close while the run goes on.
  o = Options("q4", 100'000, 1'000);
  CheckAgainstNaive<Q4Row>(o, RunQ4, NaiveQ4(o.generator), SumQ4);
}

TEST(BaselineTest, UnknownQueryAndUnboundedRunAreRejected) {
  ManualClock clock;
  BenchOptions o = Options("q99", 1000, 10'000);
  EXPECT_EQ(RunBaseline(o, clock).status().code(), ErrorCode::kInvalidArgument);
  o = Options("q1", 0, 10'000);
  EXPECT_EQ(RunBaseline(o, clock).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::nexmark
