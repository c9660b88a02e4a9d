#include "stream/lifetime_join_operator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stream/testing.h"

namespace sluice::stream {
namespace {

using testing::Harness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr size_t kLeft = 0;
constexpr size_t kRight = 1;

// auctions (source 0) with their bids (source 1): the highest bid and the bid count inside each
// auction's lifetime [its time, expires].
std::string Spec(std::string_view type = "inner") {
  return fmt::format(R"(name: p
sources: [{{name: auctions, topic: a}}, {{name: bids, topic: b}}]
operators:
  - name: j
    type: join
    inputs: [auctions, bids]
    join:
      kind: lifetime
      left_key: id
      right_key: auction
      until: expires
      type: {}
      as: [A, B]
      aggregates: {{best: max(price), n: count(*)}}
outputs: [{{name: out, input: j, type: discard}}]
)",
                     type);
}

std::string ErrorOf(const std::string& yaml) {
  auto spec = ParsePipelineSpec(yaml);
  if (!spec.ok()) return std::string(spec.status().message());
  Status s = ValidatePipeline(*spec);
  return s.ok() ? "" : std::string(s.message());
}

TEST(LifetimeJoinTest, AWindowAggregatesTheBidsInsideItsLifetimeAndFiresAtItsEnd) {
  Harness h(Spec());
  h.Push({{R"({"id":1,"expires":20})", 10}, {R"({"id":2,"expires":15})", 11}}, kLeft);
  h.Push({{R"({"auction":1,"price":5})", 9},      // before auction 1 opened (still buffered)
          {R"({"auction":1,"price":7})", 12},
          {R"({"auction":2,"price":3})", 15},     // the end is inclusive
          {R"({"auction":1,"price":4})", 20},
          {R"({"auction":2,"price":99})", 16},    // after auction 2 closed
          {R"({"auction":1,"price":50})", 21}},   // after auction 1 closed
         kRight);
  h.WatermarkAll(14);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.WatermarkAll(15);
  EXPECT_THAT(h.out_times, ElementsAre(15));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"A":{"id":2,"expires":15},"best":3,"n":1})"));
  h.WatermarkAll(25);
  EXPECT_THAT(h.out_times, ElementsAre(20));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"A":{"id":1,"expires":20},"best":7,"n":2})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(LifetimeJoinTest, BidsThatArriveBeforeTheirAuctionAreMergedWhenItOpens) {
  Harness h(Spec());
  // Same millisecond as the auction and later ones, all before the auction arrives.
  h.Push({{R"({"auction":1,"price":8})", 10}, {R"({"auction":1,"price":6})", 10},
          {R"({"auction":1,"price":9})", 12}, {R"({"auction":1,"price":1})", 9}},
         kRight);
  h.Push({{R"({"id":1,"expires":11})", 10}}, kLeft);
  h.Push({{R"({"auction":1,"price":2})", 11}}, kRight);
  auto* op = dynamic_cast<LifetimeJoinOperator*>(h.Find("j"));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->open_windows(), 1u);
  EXPECT_EQ(op->buffered_panes(), 4u);  // 9, 10, 11, 12
  h.WatermarkAll(11);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"A":{"id":1,"expires":11},"best":8,"n":3})"));
  EXPECT_EQ(op->buffered_panes(), 1u);  // 12 could still meet an auction that opens at 12
}

TEST(LifetimeJoinTest, RepeatedLeftKeysEachGetTheirOwnWindow) {
  Harness h(Spec());
  h.Push({{R"({"id":1,"expires":20})", 10}, {R"({"id":1,"expires":30})", 15}}, kLeft);
  h.Push({{R"({"auction":1,"price":5})", 12}, {R"({"auction":1,"price":7})", 18},
          {R"({"auction":1,"price":1})", 25}},
         kRight);
  h.WatermarkAll(40);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"A":{"id":1,"expires":20},"best":7,"n":2})",
                                    R"({"A":{"id":1,"expires":30},"best":7,"n":2})"));
}

TEST(LifetimeJoinTest, InnerDropsWindowsWithoutRightEventsAndLeftOuterEmitsThem) {
  Harness inner(Spec("inner"));
  Harness outer(Spec("left"));
  for (Harness* h : {&inner, &outer}) {
    h->Push({{R"({"id":1,"expires":20})", 10}, {R"({"id":2,"expires":5})", 10}}, kLeft);
    h->WatermarkAll(30);
  }
  EXPECT_THAT(inner.Take(), IsEmpty());
  // Auction 2's lifetime is empty (expires before it opens): emitted at once, at its time.
  EXPECT_THAT(outer.out_times, ElementsAre(10, 20));
  EXPECT_THAT(outer.Take(), UnorderedElementsAre(R"({"A":{"id":2,"expires":5},"best":null,"n":0})",
                                                 R"({"A":{"id":1,"expires":20},"best":null,"n":0})"));
}

TEST(LifetimeJoinTest, EventsAtOrBeforeTheWatermarkAreLateAndBadUntilIsAnError) {
  Harness h(Spec());
  h.WatermarkAll(10);
  h.Push({{R"({"id":1,"expires":20})", 10}, {R"({"id":2,"expires":"soon"})", 11}}, kLeft);
  h.Push({{R"({"auction":1,"price":5})", 9}}, kRight);
  EXPECT_EQ(h.late.size(), 2u);
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_THAT(h.errors[0], HasSubstr("not a time"));
}

TEST(LifetimeJoinTest, StateSurvivesACheckpoint) {
  Harness a(Spec());
  a.Push({{R"({"auction":1,"price":8})", 10}}, kRight);
  a.Push({{R"({"id":1,"expires":20})", 10}, {R"({"id":2,"expires":30})", 11}}, kLeft);
  a.Push({{R"({"auction":2,"price":4})", 12}}, kRight);
  a.WatermarkAll(5);
  std::string state = a.graph->SaveState();
  Harness b(Spec());
  ASSERT_TRUE(b.graph->LoadState(state).ok());
  b.Push({{R"({"auction":1,"price":9})", 15}}, kRight);
  b.WatermarkAll(40);
  EXPECT_THAT(b.Take(), ElementsAre(R"({"A":{"id":1,"expires":20},"best":9,"n":2})",
                                    R"({"A":{"id":2,"expires":30},"best":4,"n":1})"));
}

TEST(LifetimeJoinTest, KeysThatAreNotIntegersWorkAlikeAndSurviveACheckpoint) {
  Harness a(Spec());
  a.Push({{R"({"auction":"x","price":8})", 10}, {R"({"auction":1.5,"price":1})", 12}}, kRight);
  a.Push({{R"({"id":"x","expires":20})", 10}, {R"({"id":1.5,"expires":20})", 11}}, kLeft);
  std::string state = a.graph->SaveState();
  Harness b(Spec());
  ASSERT_TRUE(b.graph->LoadState(state).ok());
  b.Push({{R"({"auction":"x","price":9})", 15}, {R"({"auction":"y","price":9})", 15}}, kRight);
  b.WatermarkAll(40);
  EXPECT_THAT(b.Take(), UnorderedElementsAre(R"({"A":{"id":"x","expires":20},"best":9,"n":2})",
                                             R"({"A":{"id":1.5,"expires":20},"best":1,"n":1})"));
  EXPECT_EQ(b.graph->StateBytes(), 0u);
}

TEST(LifetimeJoinTest, SpecErrorsNameTheField) {
  std::string no_until = Spec();
  no_until.replace(no_until.find("      until: expires\n"), 21, "");
  EXPECT_THAT(ErrorOf(no_until), HasSubstr("until"));
  std::string clash = Spec();
  clash.replace(clash.find("best:"), 5, "A:");
  EXPECT_THAT(ErrorOf(clash), HasSubstr("clashes"));
  std::string bad = Spec();
  bad.replace(bad.find("max(price)"), 10, "nope(price)");
  EXPECT_THAT(ErrorOf(bad), HasSubstr("nope"));
  std::string until_elsewhere = Spec();
  until_elsewhere.replace(until_elsewhere.find("kind: lifetime"), 14, "kind: regular");
  EXPECT_THAT(ErrorOf(until_elsewhere), HasSubstr("only for lifetime joins"));
}

}  // namespace
}  // namespace sluice::stream
