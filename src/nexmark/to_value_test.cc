// ToValue tests: the Flink `datagen` row shape, member order and values for each event type.
#include "nexmark/to_value.h"

#include <gtest/gtest.h>

#include "nexmark/generator.h"

namespace sluice::nexmark {
namespace {

using model::Value;
using model::ValueType;

std::vector<std::string_view> Names(const Value& v) {
  std::vector<std::string_view> out;
  for (const auto& m : v.members()) out.push_back(m.name);
  return out;
}

class ToValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GeneratorConfig c;
    c.max_events = 100;
    gen_ = std::make_unique<Generator>(c);
    events_.resize(100);
    ASSERT_EQ(gen_->NextBatch(events_), 100u);
  }
  const Event& First(EventType t) {
    for (const auto& e : events_) {
      if (e.type == t) return e;
    }
    ADD_FAILURE() << "no event of that type";
    return events_[0];
  }
  std::unique_ptr<Generator> gen_;
  std::vector<Event> events_;
  model::Arena arena_;
};

TEST_F(ToValueTest, TopLevelHasFlinkDatagenColumnsInOrder) {
  for (EventType t : {EventType::kPerson, EventType::kAuction, EventType::kBid}) {
    const Event& e = First(t);
    Value v = ToValue(e, arena_);
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(Names(v), (std::vector<std::string_view>{"event_type", "person", "auction", "bid",
                                                       "dateTime"}));
    EXPECT_EQ(v.members()[kTopEventType].value.int_value(), static_cast<int>(t));
    for (uint32_t i = kTopPerson; i <= kTopBid; ++i) {
      bool active = i - kTopPerson == static_cast<uint32_t>(t);
      EXPECT_EQ(v.members()[i].value.is_object(), active);
      EXPECT_EQ(v.members()[i].value.is_null(), !active);
    }
    ASSERT_TRUE(v.members()[kTopDateTime].value.is_timestamp());
    EXPECT_EQ(v.members()[kTopDateTime].value.int_value(), e.timestamp_ms);
  }
}

TEST_F(ToValueTest, PersonMembers) {
  const Event& e = First(EventType::kPerson);
  Value p = *ToValue(e, arena_).Find("person");
  EXPECT_EQ(Names(p), (std::vector<std::string_view>{"id", "name", "emailAddress", "creditCard",
                                                     "city", "state", "dateTime", "extra"}));
  EXPECT_EQ(p.Find("id")->int_value(), e.person.id);
  EXPECT_EQ(p.Find("name")->string_value(), e.person.name);
  EXPECT_EQ(p.Find("emailAddress")->string_value(), e.person.email_address);
  EXPECT_EQ(p.Find("creditCard")->string_value(), e.person.credit_card);
  EXPECT_EQ(p.Find("state")->string_value(), e.person.state);
  EXPECT_EQ(p.Find("dateTime")->type(), ValueType::kTimestamp);
  EXPECT_EQ(p.Find("extra")->string_value(), e.person.extra);
}

TEST_F(ToValueTest, AuctionMembers) {
  const Event& e = First(EventType::kAuction);
  Value a = *ToValue(e, arena_).Find("auction");
  EXPECT_EQ(Names(a),
            (std::vector<std::string_view>{"id", "itemName", "description", "initialBid", "reserve",
                                           "dateTime", "expires", "seller", "category", "extra"}));
  EXPECT_EQ(a.Find("id")->int_value(), e.auction.id);
  EXPECT_EQ(a.Find("itemName")->string_value(), e.auction.item_name);
  EXPECT_EQ(a.Find("reserve")->int_value(), e.auction.reserve);
  EXPECT_EQ(a.Find("expires")->type(), ValueType::kTimestamp);
  EXPECT_EQ(a.Find("expires")->int_value(), e.auction.expires);
  EXPECT_EQ(a.Find("seller")->int_value(), e.auction.seller);
  EXPECT_EQ(a.Find("category")->int_value(), e.auction.category);
}

TEST_F(ToValueTest, BidMembersAndCopiedStrings) {
  const Event& e = First(EventType::kBid);
  Value b = *ToValue(e, arena_).Find("bid");
  EXPECT_EQ(Names(b), (std::vector<std::string_view>{"auction", "bidder", "price", "channel", "url",
                                                     "dateTime", "extra"}));
  EXPECT_EQ(b.Find("auction")->int_value(), e.bid.auction);
  EXPECT_EQ(b.Find("bidder")->int_value(), e.bid.bidder);
  EXPECT_EQ(b.Find("price")->int_value(), e.bid.price);
  EXPECT_EQ(b.Find("channel")->string_value(), e.bid.channel);
  EXPECT_EQ(b.Find("url")->string_value(), e.bid.url);
  EXPECT_EQ(b.Find("dateTime")->int_value(), e.bid.date_time);
  // ToValue copies; ToValueBorrowed points at the generator's storage.
  EXPECT_NE(b.Find("extra")->string_value().data(), e.bid.extra.data());
  Value borrowed = *ToValueBorrowed(e, arena_).Find("bid");
  EXPECT_EQ(borrowed.Find("extra")->string_value().data(), e.bid.extra.data());
  EXPECT_TRUE(borrowed.Equals(b));
}

TEST_F(ToValueTest, FindWithHintWorksAcrossEventsOfOneShape) {
  uint32_t top_hint = 0, price_hint = 0;
  int bids = 0;
  for (const auto& e : events_) {
    Value v = ToValue(e, arena_);
    const Value* bid = v.Find("bid", &top_hint);
    ASSERT_NE(bid, nullptr);
    if (bid->is_null()) continue;
    ++bids;
    EXPECT_EQ(bid->Find("price", &price_hint)->int_value(), e.bid.price);
  }
  EXPECT_EQ(top_hint, kTopBid);
  EXPECT_EQ(price_hint, 2u);
  EXPECT_GT(bids, 80);
}

}  // namespace
}  // namespace sluice::nexmark
