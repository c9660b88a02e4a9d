#include "stream/join_operator.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stream/testing.h"
#include "stream/value_codec.h"

namespace sluice::stream {
namespace {

using testing::Harness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr size_t kLeft = 0;
constexpr size_t kRight = 1;

// orders (source 0) join payments (source 1) into a discard output.
std::string Spec(std::string_view join, std::string_view after = "") {
  return fmt::format(R"(name: p
sources: [{{name: orders, topic: o}}, {{name: payments, topic: q}}]
operators:
  - name: j
    type: join
    inputs: [orders, payments]
    join: {}
{}outputs: [{{name: out, input: {}, type: discard}}]
)",
                     join, after, after.empty() ? "j" : "m");
}

std::string ErrorOf(const std::string& yaml) {
  auto spec = ParsePipelineSpec(yaml);
  if (!spec.ok()) return std::string(spec.status().message());
  Status s = ValidatePipeline(*spec);
  return s.ok() ? "" : std::string(s.message());
}

// ----------------------------------------------------------------------------- window join

TEST(WindowJoinTest, InnerJoinEmitsEveryPairOfAWindowOnceBothWatermarksPassItsEnd) {
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                 "right_key: id, as: [o, p]}"));
  h.Push({{R"({"id":1,"a":10})", 1}, {R"({"id":2,"a":20})", 3}, {R"({"id":1,"a":11})", 12}},
         kLeft);
  h.Push({{R"({"id":1,"s":"ok"})", 5}, {R"({"id":1,"s":"dup"})", 8}, {R"({"id":3,"s":"x"})", 4},
          {R"({"id":1,"s":"next"})", 15}},
         kRight);
  EXPECT_GT(h.graph->StateBytes(), 0u);
  h.Watermark(9, kLeft);
  EXPECT_THAT(h.Take(), IsEmpty());  // the right input has not reached 9
  h.Watermark(9, kRight);
  EXPECT_THAT(h.out_times, ElementsAre(9, 9));
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"o":{"id":1,"a":10},"p":{"id":1,"s":"ok"},"window_start":0,"window_end":10})",
                          R"({"o":{"id":1,"a":10},"p":{"id":1,"s":"dup"},"window_start":0,"window_end":10})"));
  h.WatermarkAll(19);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"o":{"id":1,"a":11},"p":{"id":1,"s":"next"},"window_start":10,"window_end":20})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowJoinTest, LeftOuterJoinEmitsUnmatchedLeftRowsWithNullWhenTheWindowCloses) {
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                 "right_key: id, type: left}"));
  h.Push({{R"({"id":1})", 1}, {R"({"id":2})", 3}}, kLeft);
  h.Push({{R"({"id":1})", 5}, {R"({"id":3})", 4}}, kRight);
  h.WatermarkAll(8);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.WatermarkAll(9);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"orders":{"id":1},"payments":{"id":1},"window_start":0,"window_end":10})",
                          R"({"orders":{"id":2},"payments":null,"window_start":0,"window_end":10})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowJoinTest, HoppingWindowsJoinEventsInEveryWindowTheyShare) {
  Harness h(Spec("{kind: window, window: {kind: hopping, size: 10ms, slide: 5ms}, left_key: id, "
                 "right_key: id, as: [l, r]}"));
  // 7 is in [0,10) and [5,15); 3 in [-5,5) and [0,10): they share [0,10) only.
  h.Push({{R"({"id":1,"v":"a"})", 7}}, kLeft);
  h.Push({{R"({"id":1,"v":"b"})", 3}}, kRight);
  // 12 and 13 share [5,15) and [10,20).
  h.Push({{R"({"id":1,"v":"c"})", 12}}, kLeft);
  h.Push({{R"({"id":1,"v":"d"})", 13}}, kRight);
  h.WatermarkAll(100);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"l":{"id":1,"v":"a"},"r":{"id":1,"v":"b"},"window_start":0,"window_end":10})",
                          R"({"l":{"id":1,"v":"a"},"r":{"id":1,"v":"d"},"window_start":5,"window_end":15})",
                          R"({"l":{"id":1,"v":"c"},"r":{"id":1,"v":"d"},"window_start":5,"window_end":15})",
                          R"({"l":{"id":1,"v":"c"},"r":{"id":1,"v":"d"},"window_start":10,"window_end":20})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowJoinTest, EventsPastEveryWindowGoToTheLateOutput) {
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                 "right_key: id}"));
  h.WatermarkAll(19);
  h.Push({{R"({"id":1})", 5}}, kLeft);
  h.Push({{R"({"id":1})", 19}}, kRight);
  h.Push({{R"({"id":1})", 20}}, kRight);  // [20,30) is still open
  ASSERT_EQ(h.late.size(), 2u);
  EXPECT_THAT(h.late[0], HasSubstr("left event time 5 is past every window"));
  EXPECT_THAT(h.late[1], HasSubstr("right event time 19"));
  h.Push({{R"({"id":1})", 25}}, kLeft);
  h.WatermarkAll(29);
  EXPECT_EQ(h.Take().size(), 1u);
}

TEST(WindowJoinTest, AnEventForASkippedEmptyWindowStillJoins) {
  // The watermark passes far beyond the data while a window after it is still open: an event
  // arriving for that window must be joined when it closes, not forgotten.
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                 "right_key: id}"));
  h.Push({{R"({"id":1})", 1}}, kLeft);
  h.Push({{R"({"id":1})", 2}}, kRight);
  h.Push({{R"({"id":9})", 500}}, kLeft);
  h.WatermarkAll(25);  // fires [0,10); [20,30) is open
  EXPECT_EQ(h.Take().size(), 1u);
  h.Push({{R"({"id":2})", 27}}, kLeft);
  h.Push({{R"({"id":2})", 21}}, kRight);
  h.WatermarkAll(29);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"orders":{"id":2},"payments":{"id":2},"window_start":20,"window_end":30})"));
}

TEST(WindowJoinTest, NullKeysNeverMatchButLeftOuterStillReportsTheLeftRow) {
  Harness inner(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                     "right_key: id}"));
  inner.Push({{R"({"x":1})", 1}}, kLeft);
  inner.Push({{R"({"x":1})", 2}, {R"({"id":null})", 3}}, kRight);
  inner.WatermarkAll(9);
  EXPECT_THAT(inner.Take(), IsEmpty());
  EXPECT_EQ(inner.graph->StateBytes(), 0u);

  Harness outer(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: id, "
                     "right_key: id, type: left}"));
  outer.Push({{R"({"x":1})", 1}}, kLeft);
  outer.Push({{R"({"x":1})", 2}}, kRight);
  outer.WatermarkAll(9);
  EXPECT_THAT(outer.Take(),
              ElementsAre(R"({"orders":{"x":1},"payments":null,"window_start":0,"window_end":10})"));
}

TEST(WindowJoinTest, KeyErrorsGoToTheErrorOutput) {
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, "
                 "left_key: CAST(id AS BIGINT), right_key: id}"));
  h.Push({{R"({"id":"12"})", 1}, {R"({"id":"x"})", 2}}, kLeft);
  h.Push({{R"({"id":12})", 3}}, kRight);
  h.WatermarkAll(9);
  EXPECT_EQ(h.Take().size(), 1u);
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_THAT(h.errors[0], HasSubstr("left_key"));
}

TEST(WindowJoinTest, DownstreamMapPicksFieldsOfBothSides) {
  Harness h(Spec("{kind: window, window: {kind: tumbling, size: 10ms}, left_key: order_id, "
                 "right_key: order_id, as: [o, p]}",
                 R"(  - name: m
    type: map
    input: j
    fields: {id: o.order_id, amount: o.amount, status: p.status, end: window_end}
)"));
  h.Push({{R"({"order_id":"A","amount":30})", 1}}, kLeft);
  h.Push({{R"({"order_id":"A","status":"paid"})", 4}}, kRight);
  h.WatermarkAll(9);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":"A","amount":30,"status":"paid","end":10})"));
}

// --------------------------------------------------------------------------- interval join

constexpr std::string_view kInterval =
    "{kind: interval, lower: -5ms, upper: 10ms, left_key: id, right_key: id, as: [o, p]}";

TEST(IntervalJoinTest, MatchesOutOfOrderRowsAgainstTheOtherSideAtOnce) {
  Harness h(Spec(kInterval));
  h.Push({{R"({"id":1,"n":"a"})", 100}}, kLeft);
  // right.time in [95, 110] for the left row at 100
  h.Push({{R"({"id":1,"r":"x"})", 95}, {R"({"id":1,"r":"y"})", 111}, {R"({"id":1,"r":"z"})", 94}},
         kRight);
  EXPECT_THAT(h.out_times, ElementsAre(100));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"n":"a"},"p":{"id":1,"r":"x"}})"));
  // An earlier left row arriving later: [99, 114] holds y only.
  h.Push({{R"({"id":1,"n":"b"})", 104}, {R"({"id":2,"n":"c"})", 104}}, kLeft);
  EXPECT_THAT(h.out_times, ElementsAre(111));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"n":"b"},"p":{"id":1,"r":"y"}})"));
  h.Push({{R"({"id":1,"r":"w"})", 105}}, kRight);
  EXPECT_THAT(h.out_times, ElementsAre(105, 105));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"n":"a"},"p":{"id":1,"r":"w"}})",
                                    R"({"o":{"id":1,"n":"b"},"p":{"id":1,"r":"w"}})"));
}

TEST(IntervalJoinTest, BuffersAreDroppedAsTheWatermarkPassesTheirBounds) {
  Harness h(Spec(kInterval));
  h.Push({{R"({"id":1})", 100}, {R"({"id":2})", 120}}, kLeft);
  h.Push({{R"({"id":1})", 95}, {R"({"id":3})", 130}}, kRight);
  EXPECT_EQ(h.Take().size(), 1u);
  size_t full = h.graph->StateBytes();
  h.WatermarkAll(99);
  EXPECT_EQ(h.graph->StateBytes(), full);  // right 95 can still meet a left row at 100
  h.WatermarkAll(100);                     // right 95 is done (95 - lower)
  size_t one_gone = h.graph->StateBytes();
  EXPECT_LT(one_gone, full);
  h.WatermarkAll(109);
  EXPECT_EQ(h.graph->StateBytes(), one_gone);  // left 100 can still meet a right row at 110
  h.WatermarkAll(110);                         // left 100 is done (100 + upper)
  size_t later = h.graph->StateBytes();
  EXPECT_LT(later, one_gone);
  EXPECT_GT(later, 0u);
  // Right 130 is kept until the watermark reaches 135: a left row at 131 still meets it.
  h.Push({{R"({"id":3})", 131}}, kLeft);
  EXPECT_EQ(h.Take().size(), 1u);
  h.WatermarkAll(1000);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
  EXPECT_THAT(h.Take(), IsEmpty());
}

TEST(IntervalJoinTest, RowsAtOrBeforeTheWatermarkAreLate) {
  Harness h(Spec(kInterval));
  h.Push({{R"({"id":1})", 100}}, kRight);
  h.Watermark(100, kLeft);
  h.Watermark(98, kRight);  // the join's watermark: 98
  h.Push({{R"({"id":1})", 98}}, kLeft);
  h.Push({{R"({"id":1})", 99}}, kLeft);  // not late: joins right 100
  EXPECT_EQ(h.Take().size(), 1u);
  ASSERT_EQ(h.late.size(), 1u);
  EXPECT_THAT(h.late[0], HasSubstr("left event time 98 is at or before the join's watermark 98"));
}

TEST(IntervalJoinTest, LeftOuterEmitsUnmatchedRowsWhenTheirIntervalCloses) {
  Harness h(Spec("{kind: interval, lower: 0, upper: 10ms, left_key: id, right_key: id, "
                 "type: left}"));
  h.Push({{R"({"id":1})", 100}, {R"({"id":2})", 100}, {R"({"x":0})", 101}}, kLeft);
  // A NULL key cannot match anything: reported at once.
  EXPECT_THAT(h.Take(), ElementsAre(R"({"orders":{"x":0},"payments":null})"));
  h.Push({{R"({"id":2})", 104}}, kRight);
  EXPECT_EQ(h.Take().size(), 1u);
  h.WatermarkAll(109);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.WatermarkAll(110);
  EXPECT_THAT(h.out_times, ElementsAre(100));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"orders":{"id":1},"payments":null})"));
  // The output watermark is held back by `upper` so that row is not behind it downstream.
  EXPECT_EQ(h.Find("j")->watermark(), 100);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(IntervalJoinTest, NullKeysNeverMatch) {
  Harness h(Spec(kInterval));
  h.Push({{R"({"id":null})", 100}}, kLeft);
  h.Push({{R"({"id":null})", 100}, {R"({})", 101}}, kRight);
  EXPECT_THAT(h.Take(), IsEmpty());
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

// --------------------------------------------------------------------------- temporal join

constexpr std::string_view kTemporal =
    "{kind: temporal, left_key: cur, right_key: _key, as: [o, r]}";

TEST(TemporalJoinTest, JoinsTheVersionValidAtTheLeftEventTime) {
  Harness h(Spec(kTemporal));
  h.Push({{R"({"_key":"EUR","rate":1.1})", 10}, {R"({"_key":"EUR","rate":1.2})", 20}}, kRight);
  h.Push({{R"({"cur":"EUR","amt":5})", 15}, {R"({"cur":"EUR","amt":7})", 25},
          {R"({"cur":"USD","amt":1})", 16}},
         kLeft);
  h.Watermark(30, kLeft);
  EXPECT_THAT(h.Take(), IsEmpty());  // the table's watermark has not reached any of them
  h.Watermark(14, kRight);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Watermark(15, kRight);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"o":{"cur":"EUR","amt":5},"r":{"_key":"EUR","rate":1.1}})"));
  h.Watermark(30, kRight);  // USD has no version: an inner join drops it
  EXPECT_THAT(h.out_times, ElementsAre(25));
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"o":{"cur":"EUR","amt":7},"r":{"_key":"EUR","rate":1.2}})"));
  auto* op = dynamic_cast<TemporalJoinOperator*>(h.Find("j"));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->waiting(), 0u);
}

TEST(TemporalJoinTest, LeftRowsBehindTheTableWatermarkJoinAtOnce) {
  Harness h(Spec(kTemporal));
  h.Push({{R"({"_key":"EUR","rate":1.1})", 10}}, kRight);
  h.Watermark(50, kRight);
  h.Push({{R"({"cur":"EUR","amt":5})", 40}, {R"({"cur":"EUR","amt":6})", 5}}, kLeft);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"o":{"cur":"EUR","amt":5},"r":{"_key":"EUR","rate":1.1}})"));
}

TEST(TemporalJoinTest, ADeletionHidesTheKeyUntilTheNextVersion) {
  Harness h(Spec("{kind: temporal, left_key: cur, right_key: _key, as: [o, r], type: left}"));
  h.Push({{R"({"_key":"EUR","rate":1.1})", 10}, {R"({"_key":"EUR","value":null})", 20},
          {R"({"_key":"EUR","rate":1.3})", 30}},
         kRight);
  h.Push({{R"({"cur":"EUR","n":1})", 15}, {R"({"cur":"EUR","n":2})", 25},
          {R"({"cur":"EUR","n":3})", 35}, {R"({"cur":"GBP","n":4})", 36}},
         kLeft);
  h.WatermarkAll(100);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"cur":"EUR","n":1},"r":{"_key":"EUR","rate":1.1}})",
                                    R"({"o":{"cur":"EUR","n":2},"r":null})",
                                    R"({"o":{"cur":"EUR","n":3},"r":{"_key":"EUR","rate":1.3}})",
                                    R"({"o":{"cur":"GBP","n":4},"r":null})"));
}

TEST(TemporalJoinTest, OldVersionsArePrunedOnceNoLeftRowCanNeedThem) {
  Harness h(Spec(kTemporal));
  for (int i = 1; i <= 100; ++i) {
    h.Push({{fmt::format(R"({{"_key":"EUR","rate":{}}})", i), i * 10}}, kRight);
  }
  auto* op = dynamic_cast<TemporalJoinOperator*>(h.Find("j"));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->versions(), 100u);
  h.WatermarkAll(2000);
  h.Push({{R"({"_key":"EUR","rate":0})", 2001}}, kRight);
  // Kept: the latest version at or before the watermark (1000) and the one after it.
  EXPECT_EQ(op->versions(), 2u);
  h.Push({{R"({"cur":"EUR"})", 2000}}, kLeft);  // late
  h.Push({{R"({"cur":"EUR"})", 2001}}, kLeft);
  h.Watermark(2001, kRight);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"cur":"EUR"},"r":{"_key":"EUR","rate":0}})"));
  EXPECT_EQ(h.late.size(), 1u);
}

TEST(TemporalJoinTest, DeletedKeysLeaveNoStateOnceTheWatermarkPassesThem) {
  Harness h(Spec(kTemporal));
  // Enough versions to trigger a full pruning pass.
  for (int i = 0; i < 600; ++i) {
    h.Push({{fmt::format(R"({{"_key":"k{}","v":1}})", i), 10},
            {fmt::format(R"({{"_key":"k{}","value":null}})", i), 20}},
           kRight);
  }
  EXPECT_GT(h.graph->StateBytes(), 0u);
  h.WatermarkAll(100);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(TemporalJoinTest, TableRowsNotUpdatedForTheTtlAreNotJoined) {
  Harness h(Spec("{kind: temporal, left_key: cur, right_key: _key, as: [o, r], type: left}"
                 "\n    state_ttl: 10ms"));
  h.Push({{R"({"_key":"EUR","rate":1.1})", 10}, {R"({"_key":"USD","rate":0.9})", 10},
          {R"({"_key":"USD","rate":0.8})", 25}},
         kRight);
  h.Push({{R"({"cur":"EUR","n":1})", 19}, {R"({"cur":"EUR","n":2})", 20},
          {R"({"cur":"USD","n":3})", 22}, {R"({"cur":"USD","n":4})", 30}},
         kLeft);
  h.WatermarkAll(30);
  // EUR's version at 10 is seen until 19; USD's at 10 until 19 too, its update at 25 after.
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"cur":"EUR","n":1},"r":{"_key":"EUR","rate":1.1}})",
                                    R"({"o":{"cur":"EUR","n":2},"r":null})",
                                    R"({"o":{"cur":"USD","n":3},"r":null})",
                                    R"({"o":{"cur":"USD","n":4},"r":{"_key":"USD","rate":0.8}})"));
  auto* op = dynamic_cast<TemporalJoinOperator*>(h.Find("j"));
  ASSERT_NE(op, nullptr);
  // Pruned at the watermark: EUR is gone; USD's version at 25 is still seen until 34.
  EXPECT_EQ(op->keys(), 1u);
  EXPECT_EQ(op->Counters().back(), (std::pair<std::string, uint64_t>("ttl_expired_keys", 1)));
  h.WatermarkAll(40);  // the next TTL pass (every ttl/2: 35 on)
  EXPECT_EQ(op->keys(), 0u);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(TemporalJoinTest, ExpiredVersionsAreNotRestored) {
  const std::string spec = std::string(kTemporal) + "\n    state_ttl: 10ms";
  std::string saved;
  {
    Harness a(Spec(spec));
    a.Push({{R"({"_key":"EUR","rate":1.1})", 10}, {R"({"_key":"USD","rate":0.9})", 15}}, kRight);
    a.WatermarkAll(15);  // prunes (nothing expired); the next TTL pass is at 20
    a.WatermarkAll(19);  // EUR@10 is invisible to every left event from 20 on, but still kept
    auto* op = dynamic_cast<TemporalJoinOperator*>(a.Find("j"));
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->keys(), 2u);
    saved = a.graph->SaveState();
  }
  Harness b(Spec(spec));
  ASSERT_TRUE(b.graph->LoadState(saved).ok());
  auto* op = dynamic_cast<TemporalJoinOperator*>(b.Find("j"));
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->keys(), 1u);  // EUR did not come back
  b.Push({{R"({"cur":"EUR","n":1})", 20}, {R"({"cur":"USD","n":2})", 20}}, kLeft);
  b.WatermarkAll(30);
  EXPECT_THAT(b.Take(), ElementsAre(R"({"o":{"cur":"USD","n":2},"r":{"_key":"USD","rate":0.9}})"));
}

TEST(TemporalJoinTest, LateTableRowsGoToTheLateOutput) {
  Harness h(Spec(kTemporal));
  h.Watermark(30, kRight);
  h.Push({{R"({"_key":"EUR","rate":1.1})", 30}, {R"({"_key":"EUR","rate":1.2})", 31}}, kRight);
  ASSERT_EQ(h.late.size(), 1u);
  EXPECT_THAT(h.late[0], HasSubstr("right (table) event time 30"));
}

TEST(TemporalJoinTest, NullKeysNeverMatch) {
  Harness h(Spec("{kind: temporal, left_key: cur, right_key: cur, type: left}"));
  h.Push({{R"({"cur":null,"rate":1})", 1}}, kRight);
  h.Push({{R"({"amt":1})", 5}}, kLeft);
  // A NULL left key cannot match: emitted at once with right NULL (left outer).
  EXPECT_THAT(h.Take(), ElementsAre(R"({"orders":{"amt":1},"payments":null})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowJoinTest, WindowResultsJoinBackToTheEventsOfTheirWindowAndItsEndInstant) {
  // Nexmark q7's shape: MAX(price) per tumbling window joined back to the bids with
  // time BETWEEN end - size AND end (both inclusive): a window join for [start, end) and a
  // zero-width interval join (right.time = left.time - 1 = end - 1) for bids at exactly end.
  Harness h(R"(name: p
sources: [{name: bids, topic: b}]
operators:
  - {name: maxes, type: window, input: bids, window: {kind: tumbling, size: 10ms}, aggregates: {m: max(price)}}
  - name: inside
    type: join
    inputs: [bids, maxes]
    join: {kind: window, window: {kind: tumbling, size: 10ms}, left_key: price, right_key: m, as: [b, w]}
  - {name: edge, type: filter, input: bids, condition: "t % 10 = 0"}
  - name: atend
    type: join
    inputs: [edge, maxes]
    join: {kind: interval, lower: -1ms, upper: -1ms, left_key: price, right_key: m, as: [b, w]}
  - {name: both, type: union, inputs: [inside, atend]}
  - {name: q, type: map, input: both, fields: {t: b.t, price: b.price, window_end: w.window_end}}
outputs: [{name: out, input: q, type: discard}]
)");
  h.Push({{R"({"t":1,"price":5})", 1}, {R"({"t":3,"price":9})", 3}, {R"({"t":9,"price":9})", 9},
          {R"({"t":10,"price":9})", 10}, {R"({"t":10,"price":4})", 10},
          {R"({"t":15,"price":7})", 15}});
  h.Watermark(100);
  std::vector<std::string> rows = h.Take();
  std::sort(rows.begin(), rows.end());
  // The bid at 10 belongs to [10, 20) (where it is the max) and is the end instant of [0, 10).
  EXPECT_THAT(rows, ElementsAre(R"({"t":10,"price":9,"window_end":10})",
                                R"({"t":10,"price":9,"window_end":20})",
                                R"({"t":3,"price":9,"window_end":10})",
                                R"({"t":9,"price":9,"window_end":10})"));
  EXPECT_THAT(h.late, IsEmpty());
}

// ---------------------------------------------------------------------------- regular join

constexpr std::string_view kRegular = "{kind: regular, left_key: id, right_key: id, as: [o, p]}";

TEST(RegularJoinTest, EachArrivingEventJoinsEveryBufferedEventOfTheOtherSide) {
  Harness h(Spec(kRegular));
  h.Push({{R"({"id":1,"a":1})", 100}}, kLeft);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Push({{R"({"id":1,"s":"x"})", 5}, {R"({"id":2,"s":"y"})", 6}}, kRight);
  EXPECT_THAT(h.out_times, ElementsAre(100));  // the later of the two
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"x"}})"));
  h.Push({{R"({"id":1,"a":2})", 7}, {R"({"id":2,"a":3})", 8}}, kLeft);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":2},"p":{"id":1,"s":"x"}})",
                                    R"({"o":{"id":2,"a":3},"p":{"id":2,"s":"y"}})"));
  h.Push({{R"({"id":1,"s":"z"})", 9}}, kRight);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"z"}})",
                                    R"({"o":{"id":1,"a":2},"p":{"id":1,"s":"z"}})"));
}

TEST(RegularJoinTest, WatermarksNeitherDropNorExpireAnything) {
  Harness h(Spec(kRegular));
  h.Push({{R"({"id":1,"a":1})", 1}}, kLeft);
  size_t bytes = h.graph->StateBytes();
  EXPECT_GT(bytes, 0u);
  h.WatermarkAll(1'000'000);
  EXPECT_EQ(h.graph->StateBytes(), bytes);  // unbounded state, by definition
  h.Push({{R"({"id":1,"s":"old"})", 2}}, kRight);  // far behind the watermark: not late
  EXPECT_THAT(h.late, IsEmpty());
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"old"}})"));
}

TEST(RegularJoinTest, NullKeysNeverMatchAndAreNotKept) {
  Harness h(Spec(kRegular));
  h.Push({{R"({"a":1})", 1}}, kLeft);
  h.Push({{R"({"id":null})", 2}}, kRight);
  EXPECT_THAT(h.Take(), IsEmpty());
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(RegularJoinTest, StateSurvivesSaveAndLoad) {
  std::string saved;
  {
    Harness a(Spec(kRegular));
    a.Push({{R"({"id":1,"a":1})", 1}, {R"({"id":2,"a":2})", 2}}, kLeft);
    a.Push({{R"({"id":3,"s":"r"})", 3}}, kRight);
    saved = a.graph->SaveState();
  }
  Harness b(Spec(kRegular));
  ASSERT_TRUE(b.graph->LoadState(saved).ok());
  EXPECT_GT(b.graph->StateBytes(), 0u);
  b.Push({{R"({"id":1,"s":"x"})", 4}}, kRight);
  b.Push({{R"({"id":3,"a":3})", 5}}, kLeft);
  EXPECT_THAT(b.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"x"}})",
                                    R"({"o":{"id":3,"a":3},"p":{"id":3,"s":"r"}})"));
}

// Events of `n` keys on both sides, interleaved in batches, the same for every run.
void PushMany(Harness& h, int rounds, int keys, int64_t t0 = 0) {
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::pair<std::string, int64_t>> left, right;
    for (int i = 0; i < 7; ++i) {
      int k = (r * 7 + i * 13) % keys;
      left.emplace_back(fmt::format(R"({{"id":{},"l":{},"pad":"{}"}})", k, r * 7 + i,
                                    std::string(40, 'x')),
                        t0 + r);
      if (i % 2 == 0) {
        right.emplace_back(fmt::format(R"({{"id":{},"r":{}}})", (k + r) % keys, r * 7 + i), t0 + r);
      }
    }
    h.Push(left, kLeft);
    h.Push(right, kRight);
  }
}

uint64_t CounterOf(const Harness& h, std::string_view name) {
  for (const auto& [n, v] : h.Find("j")->Counters()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(RegularJoinTest, SpillingUnderATinyBudgetGivesTheSameResultsAsMemory) {
  Harness mem(Spec(kRegular));
  PushMany(mem, 60, 40);
  testing::TempDir dir;
  Harness spill(Spec(std::string(kRegular) + "\n    state_memory: 2KiB"), nullptr, dir.path());
  PushMany(spill, 60, 40);
  ASSERT_GT(mem.out.size(), 500u);
  EXPECT_EQ(spill.out, mem.out);  // same rows, same order
  EXPECT_EQ(spill.out_times, mem.out_times);
  EXPECT_GT(CounterOf(spill, "spills"), 0u);
  EXPECT_GT(CounterOf(spill, "unspills"), 0u);
  EXPECT_GT(CounterOf(spill, "spilled_keys"), 0u);
  EXPECT_EQ(CounterOf(spill, "keys"), CounterOf(mem, "keys"));
  EXPECT_LE(spill.graph->StateBytes(), 2048u);
  EXPECT_GT(spill.graph->SpilledBytes(), 0u);
  EXPECT_GT(mem.graph->StateBytes(), 10 * 2048u);
  EXPECT_EQ(mem.graph->SpilledBytes(), 0u);
}

TEST(RegularJoinTest, CheckpointsHoldSpilledKeysAndRestoreUnderAnyBudget) {
  Harness whole(Spec(kRegular));
  PushMany(whole, 30, 40);
  PushMany(whole, 30, 40, /*t0=*/100);
  std::vector<std::string> expected(whole.out.begin(), whole.out.end());

  testing::TempDir dir;
  const std::string tiny = std::string(kRegular) + "\n    state_memory: 2KiB";
  std::string saved;
  std::vector<std::string> got;
  uint64_t keys = 0;
  {
    Harness a(Spec(tiny), nullptr, dir.path());
    PushMany(a, 30, 40);
    ASSERT_GT(CounterOf(a, "spilled_keys"), 0u);
    keys = CounterOf(a, "keys");
    saved = a.graph->SaveState();
    got = a.Take();
  }
  // Restored with a spilling budget (it spills while loading) and fully in memory: both carry on
  // exactly as the uninterrupted run.
  for (std::string spec : {tiny, std::string(kRegular)}) {
    Harness b(Spec(spec), nullptr, dir.path());
    ASSERT_TRUE(b.graph->LoadState(saved).ok());
    EXPECT_EQ(CounterOf(b, "keys"), keys);
    PushMany(b, 30, 40, /*t0=*/100);
    std::vector<std::string> all = got;
    all.insert(all.end(), b.out.begin(), b.out.end());
    EXPECT_EQ(all, expected) << spec;
  }
}

TEST(RegularJoinTest, KeysNotUpdatedForTheTtlExpire) {
  Harness h(Spec(std::string(kRegular) + "\n    state_ttl: 10ms"));
  h.Push({{R"({"id":1,"a":1})", 0}, {R"({"id":2,"a":2})", 0}}, kLeft);
  h.WatermarkAll(5);
  h.Push({{R"({"id":1,"s":"x"})", 9}}, kRight);  // key 1 updated at 9, key 2 last at 0
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"x"}})"));
  h.WatermarkAll(10);  // key 2 expires (0 + 10 <= 10); key 1 lives until 19
  h.Push({{R"({"id":2,"s":"y"})", 11}, {R"({"id":1,"s":"z"})", 12}}, kRight);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"id":1,"a":1},"p":{"id":1,"s":"z"}})"));
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 1u);
  h.WatermarkAll(100);  // the sweep frees everything older than 90
  EXPECT_EQ(CounterOf(h, "keys"), 0u);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 3u);
}

TEST(RegularJoinTest, ExpiredKeysStayExpiredAfterARestore) {
  const std::string spec = std::string(kRegular) + "\n    state_ttl: 100ms\n    state_memory: 1KiB";
  testing::TempDir dir;
  std::string saved;
  {
    Harness a(Spec(spec), nullptr, dir.path());
    a.WatermarkAll(1);  // sweeps at 1, next at 51
    a.Push({{R"({"id":1,"a":1})", 0}}, kLeft);
    for (int i = 2; i < 40; ++i) {  // enough keys for key 1 to spill
      a.Push({{fmt::format(R"({{"id":{},"a":"{}"}})", i, std::string(50, 'p')), 60}}, kLeft);
    }
    a.WatermarkAll(60);   // sweeps (nothing expired), next at 110
    a.WatermarkAll(105);  // key 1 expired (0 + 100 <= 105) but not swept yet
    EXPECT_EQ(CounterOf(a, "keys"), 39u);
    EXPECT_GT(CounterOf(a, "spilled_keys"), 0u);
    saved = a.graph->SaveState();
  }
  Harness b(Spec(spec), nullptr, dir.path());
  ASSERT_TRUE(b.graph->LoadState(saved).ok());
  EXPECT_EQ(CounterOf(b, "keys"), 38u);
  b.Push({{R"({"id":1,"s":"late"})", 106}, {R"({"id":2,"s":"ok"})", 106}}, kRight);
  EXPECT_THAT(b.Take(),
              ElementsAre(fmt::format(R"({{"o":{{"id":2,"a":"{}"}},"p":{{"id":2,"s":"ok"}}}})",
                                      std::string(50, 'p'))));
}

TEST(RegularJoinTest, StateOfTheFormatBeforeTtlStillLoads) {
  // Format 1: `u` keys, each key and its left and right events, no stamps.
  std::string key, left, state, op, graph;
  EncodeValue(model::Value::Int(1), key);
  EncodeValue(model::Value::Object({}), left);  // any stored event: {}
  StateWriter s(state);
  s.U64(1);
  s.Bytes(key);
  s.U64(1);  // one left event: time, bytes, matched
  s.I64(1);
  s.Bytes(left);
  s.U64(0);
  s.U64(0);  // no right events
  StateWriter o(op);
  o.U64(2);  // inputs and their watermarks, combined, output
  for (int i = 0; i < 4; ++i) o.I64(50);
  o.Bytes(state);
  StateWriter g(graph);
  g.U64(1);
  g.Bytes("j");
  g.Bytes(op);
  Harness b(Spec(std::string(kRegular) + "\n    state_ttl: 100ms"));
  ASSERT_TRUE(b.graph->LoadState(graph).ok());
  EXPECT_EQ(CounterOf(b, "keys"), 1u);
  b.Push({{R"({"id":1,"s":"x"})", 60}}, kRight);
  EXPECT_THAT(b.Take(), ElementsAre(R"({"o":{},"p":{"id":1,"s":"x"}})"));
  // Stamped with the restored watermark (50); the right event at 60 updated it: it lives until
  // the watermark reaches 160.
  b.WatermarkAll(159);
  EXPECT_EQ(CounterOf(b, "keys"), 1u);
  b.WatermarkAll(400);
  EXPECT_EQ(CounterOf(b, "keys"), 0u);
}

constexpr std::string_view kTemporalLeft =
    "{kind: temporal, left_key: cur, right_key: _key, as: [o, r], type: left}";

// `rounds` rounds over `keys` table keys: table versions (some deletions) and left events that
// wait for the table's watermark, which every round moves on.
void PushTemporal(Harness& h, int rounds, int keys, int64_t t0 = 0) {
  for (int r = 0; r < rounds; ++r) {
    const int64_t base = t0 + r * 10;
    std::vector<std::pair<std::string, int64_t>> table, left;
    for (int i = 0; i < 6; ++i) {
      int k = (r * 7 + i * 11) % keys;
      if ((r + i) % 9 == 0) {
        table.emplace_back(fmt::format(R"({{"_key":"k{}","value":null}})", k), base + i);
      } else {
        table.emplace_back(fmt::format(R"({{"_key":"k{}","rate":{},"pad":"{}"}})", k, r * 10 + i,
                                       std::string(20, 'x')),
                           base + i);
      }
    }
    for (int i = 0; i < 7; ++i) {
      left.emplace_back(fmt::format(R"({{"cur":"k{}","n":{}}})", (r * 5 + i * 3) % keys, r * 7 + i),
                        base + i);
    }
    h.Push(table, kRight);
    h.Push(left, kLeft);
    h.WatermarkAll(base + 5);
  }
}

TEST(TemporalJoinTest, SpillingTheTableUnderATinyBudgetGivesTheSameResultsAsMemory) {
  Harness mem(Spec(kTemporalLeft));
  PushTemporal(mem, 120, 120);
  testing::TempDir dir;
  Harness spill(Spec(std::string(kTemporalLeft) + "\n    state_memory: 2KiB"), nullptr,
                dir.path());
  PushTemporal(spill, 120, 120);
  ASSERT_GT(mem.out.size(), 500u);
  EXPECT_EQ(spill.out, mem.out);  // same rows, same order
  EXPECT_EQ(spill.out_times, mem.out_times);
  EXPECT_GT(CounterOf(spill, "spills"), 0u);
  EXPECT_GT(CounterOf(spill, "unspills"), 0u);
  EXPECT_GT(CounterOf(spill, "spilled_keys"), 0u);
  EXPECT_EQ(CounterOf(spill, "keys_in_memory") + CounterOf(spill, "spilled_keys"),
            CounterOf(spill, "keys"));
  EXPECT_LE(spill.graph->StateBytes(), 2048u);
  EXPECT_GT(spill.graph->SpilledBytes(), 0u);
  EXPECT_GT(mem.graph->StateBytes(), 4 * 2048u);
  EXPECT_EQ(mem.graph->SpilledBytes(), 0u);
}

TEST(TemporalJoinTest, CheckpointsHoldSpilledTableKeysAndRestoreUnderAnyBudget) {
  Harness whole(Spec(kTemporalLeft));
  PushTemporal(whole, 60, 120);
  PushTemporal(whole, 60, 120, /*t0=*/600);
  std::vector<std::string> expected(whole.out.begin(), whole.out.end());

  testing::TempDir dir;
  const std::string tiny = std::string(kTemporalLeft) + "\n    state_memory: 2KiB";
  std::string saved;
  std::vector<std::string> got;
  uint64_t keys = 0;
  {
    Harness a(Spec(tiny), nullptr, dir.path());
    PushTemporal(a, 60, 120);
    ASSERT_GT(CounterOf(a, "spilled_keys"), 0u);
    keys = CounterOf(a, "keys");
    saved = a.graph->SaveState();
    got = a.Take();
  }
  for (std::string spec : {tiny, std::string(kTemporalLeft)}) {
    Harness b(Spec(spec), nullptr, dir.path());
    ASSERT_TRUE(b.graph->LoadState(saved).ok());
    EXPECT_EQ(CounterOf(b, "keys"), keys);
    PushTemporal(b, 60, 120, /*t0=*/600);
    std::vector<std::string> all = got;
    all.insert(all.end(), b.out.begin(), b.out.end());
    EXPECT_EQ(all, expected) << spec;
  }
}

// Key k0 at 5, then 40 keys at 60 with enough bytes for k0 to spill (the coldest).
void PushOldKeyThenMany(Harness& h) {
  h.Push({{R"({"_key":"k0","rate":1})", 5}}, kRight);
  std::vector<std::pair<std::string, int64_t>> table;
  for (int i = 1; i <= 40; ++i) {
    table.emplace_back(fmt::format(R"({{"_key":"k{}","pad":"{}"}})", i, std::string(50, 'p')), 60);
  }
  h.Push(table, kRight);
}

TEST(TemporalJoinTest, TtlExpiresSpilledTableKeysOnDisk) {
  testing::TempDir dir;
  Harness h(Spec(std::string(kTemporalLeft) + "\n    state_ttl: 50ms\n    state_memory: 1KiB"),
            nullptr, dir.path());
  PushOldKeyThenMany(h);
  ASSERT_GT(CounterOf(h, "spilled_keys"), 0u);
  EXPECT_EQ(CounterOf(h, "keys"), 41u);
  EXPECT_EQ(CounterOf(h, "versions"), 41u);
  h.WatermarkAll(60);  // TTL pass: k0@5 is invisible from 55 on, so it goes, from disk
  EXPECT_EQ(CounterOf(h, "keys"), 40u);
  EXPECT_EQ(CounterOf(h, "versions"), 40u);
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 1u);
  h.Push({{R"({"cur":"k0","n":1})", 70}, {R"({"cur":"k1","n":2})", 70}}, kLeft);
  h.WatermarkAll(70);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"o":{"cur":"k0","n":1},"r":null})",
                                    fmt::format(R"({{"o":{{"cur":"k1","n":2}},"r":{{"_key":"k1",)"
                                                R"("pad":"{}"}}}})",
                                                std::string(50, 'p'))));
}

TEST(TemporalJoinTest, SpilledExpiredTableKeysAreNotRestored) {
  const std::string spec =
      std::string(kTemporalLeft) + "\n    state_ttl: 50ms\n    state_memory: 1KiB";
  testing::TempDir dir;
  std::string saved;
  {
    Harness a(Spec(spec), nullptr, dir.path());
    PushOldKeyThenMany(a);
    a.WatermarkAll(30);  // TTL pass (nothing expired); the next at 55
    a.WatermarkAll(54);  // k0@5 is invisible to every left event from 55 on, but still kept
    EXPECT_EQ(CounterOf(a, "keys"), 41u);
    EXPECT_GT(CounterOf(a, "spilled_keys"), 0u);
    saved = a.graph->SaveState();
  }
  Harness b(Spec(spec), nullptr, dir.path());
  ASSERT_TRUE(b.graph->LoadState(saved).ok());
  EXPECT_EQ(CounterOf(b, "keys"), 40u);  // k0 did not come back
  EXPECT_EQ(CounterOf(b, "versions"), 40u);
  b.Push({{R"({"cur":"k0","n":1})", 55}}, kLeft);
  b.WatermarkAll(70);
  EXPECT_THAT(b.Take(), ElementsAre(R"({"o":{"cur":"k0","n":1},"r":null})"));
}

TEST(RegularJoinTest, StateOptionsAreValidatedWithPositions) {
  EXPECT_THAT(ErrorOf(Spec(std::string(kRegular) + "\n    state_ttl: soon")),
              HasSubstr("operators[0].state_ttl: 'soon' is not a duration"));
  EXPECT_THAT(ErrorOf(Spec(std::string(kRegular) + "\n    state_memory: 10")),
              HasSubstr("operators[0].state_memory: must be at least 1024 bytes"));
  EXPECT_THAT(ErrorOf(Spec(std::string(kRegular) + "\n    state_memory: lots")),
              HasSubstr("'lots' is not a size"));
  EXPECT_THAT(ErrorOf(Spec("{kind: interval, lower: 0, upper: 1s, left_key: id, right_key: id}"
                           "\n    state_ttl: 1h")),
              HasSubstr("state_ttl is for aggregates and regular and temporal joins"));
  EXPECT_THAT(ErrorOf(Spec("{kind: interval, lower: 0, upper: 1s, left_key: id, right_key: id}"
                           "\n    state_memory: 1MiB")),
              HasSubstr("state_memory is for aggregates, dedup and regular and temporal joins"));
  EXPECT_EQ(ErrorOf(Spec(std::string(kTemporal) + "\n    state_memory: 1MiB")), "");
  EXPECT_EQ(ErrorOf(Spec(std::string(kRegular) + "\n    state_ttl: 1h\n    state_memory: 64MiB")),
            "");
  EXPECT_EQ(ErrorOf(Spec(std::string(kTemporal) + "\n    state_ttl: 1d")), "");
}

TEST(RegularJoinTest, LeftOuterIsRefused) {
  EXPECT_THAT(ErrorOf(Spec("{kind: regular, left_key: id, right_key: id, type: left}")),
              HasSubstr("operators[0].join.type: a regular join is inner only"));
  EXPECT_THAT(ErrorOf(Spec("{kind: regular, lower: 0, left_key: id, right_key: id}")),
              HasSubstr("`lower` is only for interval joins"));
  EXPECT_EQ(ErrorOf(Spec(kRegular)), "");
}

// ------------------------------------------------------------------------------------- spec

TEST(JoinSpecTest, ParsesEveryKind) {
  auto spec = ParsePipelineSpec(Spec("{kind: interval, lower: -5s, upper: 10s, left_key: id, "
                                     "right_key: order_id, type: left, as: [o, p]}"));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const JoinSpec& j = spec->operators[0].join;
  EXPECT_EQ(spec->operators[0].kind, OperatorKind::kJoin);
  EXPECT_EQ(j.kind, JoinKind::kInterval);
  EXPECT_EQ(j.type, JoinType::kLeft);
  EXPECT_EQ(j.lower_ms, -5000);
  EXPECT_EQ(j.upper_ms, 10000);
  EXPECT_EQ(j.left_key.text, "id");
  EXPECT_EQ(j.right_key.text, "order_id");
  EXPECT_EQ(j.left_as, "o");
  EXPECT_EQ(j.right_as, "p");

  spec = ParsePipelineSpec(Spec("{kind: window, window: {kind: hopping, size: 10s, slide: 5s}, "
                                "left_key: id, right_key: id}"));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->operators[0].join.window.kind, WindowKind::kHopping);
  EXPECT_EQ(spec->operators[0].join.left_as, "orders");
  EXPECT_EQ(spec->operators[0].join.right_as, "payments");
  EXPECT_EQ(spec->operators[0].join.type, JoinType::kInner);

  EXPECT_EQ(ErrorOf(Spec("{kind: temporal, left_key: id, right_key: id}")), "");
}

TEST(JoinSpecTest, RefusesBadJoinsWithTheirPosition) {
  EXPECT_THAT(ErrorOf(Spec("{kind: cross, left_key: id, right_key: id}")),
              HasSubstr("line 7, column 18: operators[0].join.kind: unknown join kind 'cross' "
                        "(window, interval, temporal, regular, lifetime)"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, right_key: id}")),
              HasSubstr("operators[0].join.left_key: required field is missing"));
  EXPECT_THAT(ErrorOf(Spec("{kind: window, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.window: required field is missing"));
  EXPECT_THAT(ErrorOf(Spec("{kind: interval, lower: 0, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.upper: required field is missing"));
  EXPECT_THAT(ErrorOf(Spec("{kind: interval, lower: 5s, upper: -1s, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.lower: lower (5000 ms) may not exceed upper (-1000 ms)"));
  EXPECT_THAT(ErrorOf(Spec("{kind: interval, lower: 5x, upper: 6s, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.lower: '5x' is not a duration"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, lower: 0, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.lower: `lower` is only for interval joins"));
  EXPECT_THAT(ErrorOf(Spec("{kind: window, window: {kind: session, gap: 1s}, left_key: id, "
                           "right_key: id}")),
              HasSubstr("operators[0].join.window.kind: a window join takes tumbling or hopping"));
  EXPECT_THAT(ErrorOf(Spec("{kind: window, window: {kind: tumbling, size: 1s, "
                           "allowed_lateness: 1s}, left_key: id, right_key: id}")),
              HasSubstr("operators[0].join.window.allowed_lateness: unknown field"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, left_key: id, right_key: id, type: full}")),
              HasSubstr("operators[0].join.type: unknown join type 'full' (inner, left)"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, left_key: id, rigth_key: id}")),
              HasSubstr("operators[0].join.rigth_key: unknown field (did you mean 'right_key'?)"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, left_key: id, right_key: id, as: [a, a]}")),
              HasSubstr("both sides would be named 'a'"));
  EXPECT_THAT(ErrorOf(Spec("{kind: window, window: {kind: tumbling, size: 1s}, left_key: id, "
                           "right_key: id, as: [window_start, p]}")),
              HasSubstr("clashes with a window join result field"));
  EXPECT_THAT(ErrorOf(Spec("{kind: temporal, left_key: id, right_key: 'lenght(id)'}")),
              HasSubstr("operators[0].join.right_key: 1:1: unknown function 'lenght'"));
}

TEST(JoinSpecTest, NeedsExactlyTwoInputsAndAJoinSection) {
  EXPECT_THAT(ErrorOf(R"(name: p
sources: [{name: orders, topic: o}]
operators:
  - {name: j, type: join, inputs: [orders], join: {kind: temporal, left_key: id, right_key: id}}
outputs: [{name: out, input: j, type: discard}]
)"),
              HasSubstr("operators[0].inputs: join needs `inputs: [left, right]` with exactly two"));
  EXPECT_THAT(ErrorOf(R"(name: p
sources: [{name: orders, topic: o}]
operators:
  - {name: j, type: join, input: orders, join: {kind: temporal, left_key: id, right_key: id}}
outputs: [{name: out, input: j, type: discard}]
)"),
              HasSubstr("join needs `inputs: [left, right]`"));
  EXPECT_THAT(ErrorOf(R"(name: p
sources: [{name: orders, topic: o}, {name: payments, topic: q}]
operators:
  - {name: j, type: join, inputs: [orders, payments]}
outputs: [{name: out, input: j, type: discard}]
)"),
              HasSubstr("operators[0].join: required field is missing"));
  EXPECT_THAT(ErrorOf(R"(name: p
sources: [{name: orders, topic: o}, {name: payments, topic: q}]
operators:
  - {name: j, type: join, inputs: [orders, nope], join: {kind: temporal, left_key: id, right_key: id}}
outputs: [{name: out, input: j, type: discard}]
)"),
              HasSubstr("input 'nope' is not a source or operator"));
  std::string parallel = Spec("{kind: temporal, left_key: id, right_key: id}");
  parallel.replace(parallel.find("sources:"), 8, "parallelism: 2\nsources:");
  // Both inputs go through keyed exchanges, by their own key.
  EXPECT_EQ(ErrorOf(parallel), "");
  auto planned = ParsePipelineSpec(parallel);
  ASSERT_TRUE(planned.ok());
  EXPECT_EQ(planned->operators[0].inputs, (std::vector<std::string>{"j:in0", "j:in1"}));
}

}  // namespace
}  // namespace sluice::stream
