// Generator tests: the mix, id rules, hot ratios, field contents, determinism, splits and
// timestamps of shared/reference/nexmark.md.
#include "nexmark/generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "nexmark/internal/id_math.h"

namespace sluice::nexmark {
namespace {

// An Event with its strings copied, so it outlives the generator's batch.
struct OwnedEvent {
  Event e;
  std::vector<std::string> strings;
};

std::vector<OwnedEvent> Generate(const GeneratorConfig& config, size_t batch = 97) {
  Generator gen(config);
  std::vector<OwnedEvent> out;
  std::vector<Event> buf(batch);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) {
      OwnedEvent o{buf[i], {}};
      switch (buf[i].type) {
        case EventType::kPerson: {
          const Person& p = buf[i].person;
          o.strings = {std::string(p.name),        std::string(p.email_address),
                       std::string(p.credit_card), std::string(p.city),
                       std::string(p.state),       std::string(p.extra)};
          break;
        }
        case EventType::kAuction: {
          const Auction& a = buf[i].auction;
          o.strings = {std::string(a.item_name), std::string(a.description), std::string(a.extra)};
          break;
        }
        case EventType::kBid: {
          const Bid& b = buf[i].bid;
          o.strings = {std::string(b.channel), std::string(b.url), std::string(b.extra)};
          break;
        }
      }
      out.push_back(std::move(o));
    }
  }
  return out;
}

// Calls fn(event) for every event while its strings are valid.
template <typename F>
void ForEachEvent(const GeneratorConfig& config, F&& fn) {
  Generator gen(config);
  std::vector<Event> buf(128);
  while (size_t n = gen.NextBatch(buf)) {
    for (size_t i = 0; i < n; ++i) fn(buf[i]);
  }
}

GeneratorConfig Bounded(uint64_t n) {
  GeneratorConfig c;
  c.max_events = n;
  return c;
}

// Everything but the fields derived from the generator's own timeline.
bool SameContent(const OwnedEvent& a, const OwnedEvent& b) {
  if (a.e.type != b.e.type || a.e.event_id != b.e.event_id || a.strings != b.strings) return false;
  switch (a.e.type) {
    case EventType::kPerson:
      return a.e.person.id == b.e.person.id;
    case EventType::kAuction: {
      const Auction &x = a.e.auction, &y = b.e.auction;
      return x.id == y.id && x.initial_bid == y.initial_bid && x.reserve == y.reserve &&
             x.seller == y.seller && x.category == y.category;
    }
    case EventType::kBid: {
      const Bid &x = a.e.bid, &y = b.e.bid;
      return x.auction == y.auction && x.bidder == y.bidder && x.price == y.price;
    }
  }
  return false;
}

bool Same(const OwnedEvent& a, const OwnedEvent& b) {
  if (!SameContent(a, b) || a.e.timestamp_ms != b.e.timestamp_ms ||
      a.e.event_number != b.e.event_number || a.e.watermark_ms != b.e.watermark_ms) {
    return false;
  }
  switch (a.e.type) {
    case EventType::kPerson:
      return a.e.person.date_time == b.e.person.date_time;
    case EventType::kAuction:
      return a.e.auction.date_time == b.e.auction.date_time &&
             a.e.auction.expires == b.e.auction.expires;
    case EventType::kBid:
      return a.e.bid.date_time == b.e.bid.date_time;
  }
  return false;
}

TEST(GeneratorTest, MixIsExactlyOneThreeFortySixInEveryFiftyEvents) {
  auto events = Generate(Bounded(50 * 200));
  ASSERT_EQ(events.size(), 50u * 200);
  for (size_t start = 0; start + 50 <= events.size(); start += 50) {
    int counts[3] = {0, 0, 0};
    for (size_t i = start; i < start + 50; ++i) ++counts[static_cast<int>(events[i].e.type)];
    EXPECT_EQ(counts[0], 1);
    EXPECT_EQ(counts[1], 3);
    EXPECT_EQ(counts[2], 46);
  }
}

TEST(GeneratorTest, FirstEventIsAnAuctionWithIdTwo) {
  auto events = Generate(Bounded(3));
  EXPECT_EQ(events[0].e.event_id, 2);
  EXPECT_EQ(events[0].e.event_number, 1u);
  EXPECT_EQ(events[0].e.type, EventType::kAuction);
}

TEST(GeneratorTest, PersonAndAuctionIdsAreConsecutive) {
  auto events = Generate(Bounded(50 * 500));
  int64_t last_person = -1, last_auction = -1;
  for (const auto& o : events) {
    if (o.e.type == EventType::kPerson) {
      if (last_person >= 0) {
        EXPECT_EQ(o.e.person.id, last_person + 1);
      }
      last_person = o.e.person.id;
    } else if (o.e.type == EventType::kAuction) {
      if (last_auction >= 0) {
        EXPECT_EQ(o.e.auction.id, last_auction + 1);
      }
      last_auction = o.e.auction.id;
    }
  }
  EXPECT_EQ(last_person, kFirstPersonId + (50 * 500 + 1) / 50);
}

TEST(GeneratorTest, ReferencesPointToRecentOrNearFutureEntities) {
  GeneratorConfig c = Bounded(200'000);
  auto events = Generate(c);
  int64_t max_person = kFirstPersonId, max_auction = kFirstAuctionId;  // base0 0 = the first ids
  for (const auto& o : events) {
    const Event& e = o.e;
    if (e.type == EventType::kPerson) max_person = std::max(max_person, e.person.id);
    if (e.type == EventType::kAuction) {
      max_auction = std::max(max_auction, e.auction.id);
      EXPECT_LE(e.auction.seller, max_person + 10);
      EXPECT_GE(e.auction.seller, std::max<int64_t>(kFirstPersonId, max_person - 1000));
    }
    if (e.type == EventType::kBid) {
      // Recent (in flight) or at most 10 in the future; the hot auction may be up to 100 back.
      EXPECT_LE(e.bid.auction, max_auction + 10);
      EXPECT_GE(e.bid.auction, std::max<int64_t>(kFirstAuctionId, max_auction - 101));
      int64_t bidder = e.bid.bidder - kFirstPersonId;  // Flink's double offset
      EXPECT_LE(bidder, max_person + 10);
      EXPECT_GE(bidder, std::max<int64_t>(kFirstPersonId, max_person - 1000));
    }
  }
}

TEST(GeneratorTest, HotAuctionsBiddersAndSellersFollowTheRatios) {
  GeneratorConfig c = Bounded(500'000);
  auto events = Generate(c);
  double bids = 0, hot_auction = 0, hot_bidder = 0, auctions = 0, hot_seller = 0;
  for (const auto& o : events) {
    const Event& e = o.e;
    int64_t last_person = internal::LastBase0PersonId(c, e.event_id);
    if (e.type == EventType::kBid) {
      ++bids;
      int64_t hot = internal::LastBase0AuctionId(c, e.event_id) / 100 * 100 + kFirstAuctionId;
      if (e.bid.auction == hot) ++hot_auction;
      if (e.bid.bidder == last_person / 100 * 100 + 1 + 2 * kFirstPersonId) ++hot_bidder;
    } else if (e.type == EventType::kAuction) {
      ++auctions;
      if (e.auction.seller == last_person / 100 * 100 + kFirstPersonId) ++hot_seller;
    }
  }
  // Hot shares are 1 - 1/ratio plus the rare non-hot pick that lands on the hot id.
  EXPECT_NEAR(hot_auction / bids, 0.5, 0.02);
  EXPECT_NEAR(hot_bidder / bids, 0.75, 0.02);
  EXPECT_NEAR(hot_seller / auctions, 0.75, 0.02);
}

TEST(GeneratorTest, FieldContentsFollowTheSpec) {
  const std::set<std::string> cities = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend",        "Redmond",       "Seattle",
                                        "Kent",     "Cheyenne"};
  const std::set<std::string> states = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  const std::set<std::string> hot = {"Google", "Facebook", "Baidu", "Apple"};
  double bids = 0, band[3] = {0, 0, 0}, hot_channel = 0;
  ForEachEvent(Bounded(100'000), [&](const Event& e) {
    switch (e.type) {
      case EventType::kPerson: {
        const Person& p = e.person;
        EXPECT_NE(p.name.find(' '), std::string_view::npos);
        EXPECT_NE(p.email_address.find('@'), std::string_view::npos);
        EXPECT_TRUE(p.email_address.ends_with(".com"));
        ASSERT_EQ(p.credit_card.size(), 19u);
        for (size_t i = 0; i < 19; ++i) {
          EXPECT_TRUE(i % 5 == 4 ? p.credit_card[i] == ' ' : isdigit(p.credit_card[i]));
        }
        EXPECT_TRUE(cities.count(std::string(p.city)));
        EXPECT_TRUE(states.count(std::string(p.state)));
        EXPECT_EQ(p.date_time, e.timestamp_ms);
        break;
      }
      case EventType::kAuction: {
        const Auction& a = e.auction;
        EXPECT_GE(a.category, 10);
        EXPECT_LE(a.category, 14);
        EXPECT_GT(a.reserve, a.initial_bid);
        EXPECT_GT(a.expires, a.date_time);
        EXPECT_LE(a.item_name.size(), 19u);
        EXPECT_LE(a.description.size(), 99u);
        EXPECT_EQ(a.date_time, e.timestamp_ms);
        break;
      }
      case EventType::kBid: {
        const Bid& b = e.bid;
        ++bids;
        EXPECT_GE(b.price, 100);
        EXPECT_LE(b.price, 100'000'000);
        ++band[b.price < 10'000 ? 0 : b.price < 1'000'000 ? 1 : 2];
        if (hot.count(std::string(b.channel))) {
          ++hot_channel;
        } else {
          EXPECT_TRUE(b.channel.starts_with("channel-")) << b.channel;
        }
        EXPECT_TRUE(b.url.starts_with("https://www.nexmark.com/")) << b.url;
        EXPECT_NE(b.url.find("/item.htm?query=1"), std::string_view::npos);
        EXPECT_GE(b.extra.size(), 54u);
        EXPECT_LE(b.extra.size(), 81u);
        EXPECT_EQ(b.date_time, e.timestamp_ms);
        break;
      }
    }
  });
  for (double n : band) EXPECT_NEAR(n / bids, 1.0 / 3, 0.02);
  EXPECT_NEAR(hot_channel / bids, 0.5, 0.02);
}

TEST(GeneratorTest, SameConfigGivesSameEvents) {
  auto a = Generate(Bounded(20'000), 64);
  auto b = Generate(Bounded(20'000), 1000);  // batch size does not matter
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(Same(a[i], b[i])) << i;
}

TEST(GeneratorTest, SeedChangesContentButNotIds) {
  GeneratorConfig c = Bounded(1000);
  auto a = Generate(c);
  c.seed = 42;
  auto b = Generate(c);
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].e.event_id, b[i].e.event_id);
    if (!SameContent(a[i], b[i])) ++differ;
  }
  EXPECT_GT(differ, 900u);
}

TEST(GeneratorTest, SeekToPositionsAtAnyEventNumber) {
  GeneratorConfig c = Bounded(5000);
  auto all = Generate(c);
  Generator gen(c);
  gen.SeekTo(3210);
  std::vector<Event> buf(100);
  ASSERT_EQ(gen.NextBatch(buf), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(buf[i].event_id, all[3210 + i].e.event_id);
    EXPECT_EQ(buf[i].timestamp_ms, all[3210 + i].e.timestamp_ms);
    if (buf[i].type == EventType::kBid) {
      EXPECT_EQ(buf[i].bid.price, all[3210 + i].e.bid.price);
      EXPECT_EQ(buf[i].bid.extra, all[3210 + i].strings[2]);
    }
  }
  EXPECT_EQ(gen.events_generated(), 3310u);
  gen.SeekTo(4990);
  EXPECT_EQ(gen.NextBatch(buf), 10u);
  EXPECT_FALSE(gen.HasNext());
  EXPECT_EQ(gen.NextBatch(buf), 0u);
}

TEST(GeneratorTest, SplitsTogetherProduceTheSingleGeneratorsEvents) {
  GeneratorConfig c = Bounded(10'007);
  auto single = Generate(c);
  std::map<int64_t, const OwnedEvent*> by_id;
  for (const auto& o : single) by_id[o.e.event_id] = &o;

  auto configs = c.Split(3);
  ASSERT_EQ(configs.size(), 3u);
  std::vector<std::vector<OwnedEvent>> splits;
  size_t total = 0;
  for (const auto& sc : configs) {
    splits.push_back(Generate(sc));
    total += splits.back().size();
  }
  EXPECT_EQ(total, single.size());
  EXPECT_EQ(splits[2].size(), 10'007u - 2 * 3335);
  std::set<int64_t> seen;
  for (const auto& s : splits) {
    for (size_t k = 0; k < s.size(); ++k) {
      ASSERT_TRUE(seen.insert(s[k].e.event_id).second) << "duplicate id " << s[k].e.event_id;
      auto it = by_id.find(s[k].e.event_id);
      ASSERT_NE(it, by_id.end());
      EXPECT_TRUE(SameContent(s[k], *it->second)) << s[k].e.event_id;
      // Parallel timelines (spec §2.2): the k-th event of every split has the k-th timestamp.
      EXPECT_EQ(s[k].e.timestamp_ms, single[k].e.timestamp_ms);
    }
  }
  // The first split is the single generator's prefix, time fields included.
  for (size_t k = 0; k < splits[0].size(); ++k) ASSERT_TRUE(Same(splits[0][k], single[k]));
}

TEST(GeneratorTest, TimestampsAdvanceAtTheConfiguredRate) {
  GeneratorConfig c = Bounded(100'000);
  c.first_event_rate = 10'000;  // 100 µs per event
  auto events = Generate(c);
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_GE(events[i].e.timestamp_ms, events[i - 1].e.timestamp_ms);
    EXPECT_EQ(events[i].e.watermark_ms, events[i].e.timestamp_ms);
  }
  EXPECT_EQ(events.front().e.timestamp_ms, c.base_time_ms);          // event number 1: 0.1 ms
  EXPECT_EQ(events.back().e.timestamp_ms, c.base_time_ms + 10'000);  // number 100 000
  // Four generators sharing the rate: each advances 4x faster.
  c.num_event_generators = 4;
  auto fast = Generate(c);
  EXPECT_EQ(fast.back().e.timestamp_ms, c.base_time_ms + 40'000);
}

TEST(GeneratorTest, OutOfOrderGroupsPermuteWithinGroups) {
  GeneratorConfig c = Bounded(10'000);
  c.out_of_order_group_size = 10;
  c.first_event_rate = 1000;  // 1 ms per event, so a permutation shows in the timestamps
  auto events = Generate(c);
  bool any_out_of_order = false;
  int64_t last_watermark = 0;
  std::map<uint64_t, std::set<int64_t>> ids_by_group;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i].e;
    ids_by_group[e.event_number / 10].insert(e.event_id);
    EXPECT_GE(e.timestamp_ms, e.watermark_ms);
    EXPECT_GE(e.watermark_ms, last_watermark);
    last_watermark = e.watermark_ms;
    if (i > 0 && e.timestamp_ms < events[i - 1].e.timestamp_ms) any_out_of_order = true;
  }
  // Event numbers 1..10 000: groups 1..999 are complete; each holds exactly the ids
  // first_event_id + [10g, 10g + 10), permuted (953 is prime, so the permutation is complete).
  for (uint64_t g = 1; g < 1000; ++g) {
    const auto& ids = ids_by_group[g];
    ASSERT_EQ(ids.size(), 10u) << g;
    EXPECT_EQ(*ids.begin(), c.first_event_id + static_cast<int64_t>(g * 10));
    EXPECT_EQ(*ids.rbegin(), c.first_event_id + static_cast<int64_t>(g * 10 + 9));
  }
  EXPECT_TRUE(any_out_of_order);
}

}  // namespace
}  // namespace sluice::nexmark
