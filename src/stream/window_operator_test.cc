#include "stream/window_operator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stream/testing.h"

namespace sluice::stream {
namespace {

using testing::Harness;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string Spec(std::string_view window, std::string_view aggregates = "n: count(*)",
                 std::string_view key = "key: user") {
  return fmt::format(R"(name: w
sources: [{{name: s, topic: t}}]
operators:
  - name: win
    type: window
    input: s
    {}
    window: {}
    aggregates: {{{}}}
outputs: [{{name: o, input: win, type: discard}}]
)",
                     key, window, aggregates);
}

TEST(WindowOperatorTest, TumblingWindowsFireAtTheWatermarkPerKey) {
  Harness h(Spec("{kind: tumbling, size: 10ms}", "n: count(*), total: sum(v)"));
  h.Push({{R"({"user":"a","v":1})", 1}, {R"({"user":"b","v":5})", 3}, {R"({"user":"a","v":2})", 9},
          {R"({"user":"a","v":4})", 10}});
  h.Watermark(8);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Watermark(9);
  EXPECT_THAT(h.Take(),
              UnorderedElementsAre(R"({"window_start":0,"window_end":10,"key":"a","n":2,"total":3})",
                                   R"({"window_start":0,"window_end":10,"key":"b","n":1,"total":5})"));
  h.Watermark(100);
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"window_start":10,"window_end":20,"key":"a","n":1,"total":4})"));
}

TEST(WindowOperatorTest, HoppingWindowsCountEveryOverlap) {
  Harness h(Spec("{kind: hopping, size: 10ms, slide: 5ms}", "n: count(*)", ""));
  h.Push({{"{}", 1}, {"{}", 6}, {"{}", 12}});
  h.Watermark(1000);
  // Windows: [-5,5) {1}, [0,10) {1,6}, [5,15) {6,12}, [10,20) {12}.
  // Windows fire in start order; rows within one window in no particular order.
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":-5,"window_end":5,"n":1})",
                                    R"({"window_start":0,"window_end":10,"n":2})",
                                    R"({"window_start":5,"window_end":15,"n":2})",
                                    R"({"window_start":10,"window_end":20,"n":1})"));
}

TEST(WindowOperatorTest, HoppingWindowsSkipLongGapsWithoutFiringEmptyWindows) {
  Harness h(Spec("{kind: hopping, size: 4ms, slide: 2ms}", "n: count(*)", ""));
  h.Push({{"{}", 0}, {"{}", 1'000'000}});
  h.Watermark(2'000'000);
  EXPECT_EQ(h.Take().size(), 4u);
}

TEST(WindowOperatorTest, AnEventForAnEarlierOpenWindowIsNotSkipped) {
  // The watermark advances while the only data is in a later window; an event for an earlier
  // window that is still open must still be counted and fired.
  Harness h(Spec("{kind: tumbling, size: 10ms}", "n: count(*)", ""));
  h.Push({{"{}", 35}});
  h.Watermark(12);  // windows [0,10) closed, [10,20) open
  h.Push({{"{}", 15}});
  h.Watermark(100);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":10,"window_end":20,"n":1})",
                                    R"({"window_start":30,"window_end":40,"n":1})"));
  EXPECT_TRUE(h.late.empty());
}

TEST(WindowOperatorTest, SessionsMergeAcrossAGapAndCloseAfterIt) {
  Harness h(Spec("{kind: session, gap: 10ms}", "n: count(*), first: first(v), last: last(v)"));
  h.Push({{R"({"user":"a","v":1})", 0}, {R"({"user":"a","v":3})", 16}});
  // [0, 10) and [16, 26) are separate sessions until 8 bridges them: [0, 26).
  h.Push({{R"({"user":"a","v":2})", 8}});
  h.Watermark(24);
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Push({{R"({"user":"b","v":9})", 40}});
  h.Watermark(25);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":26,"key":"a","n":3,"first":1,"last":3})"));
  h.Watermark(60);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":40,"window_end":50,"key":"b","n":1,"first":9,"last":9})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowOperatorTest, AllowedLatenessUpdatesAResultAndLaterEventsGoToTheLateOutput) {
  Harness h(Spec("{kind: tumbling, size: 10ms, allowed_lateness: 5ms}"));
  h.Push({{R"({"user":"a"})", 1}});
  h.Watermark(10);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"key":"a","n":1})"));
  h.Push({{R"({"user":"a"})", 2}});  // late but allowed: an updated result right away
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"key":"a","n":2})"));
  h.Watermark(14);
  h.Push({{R"({"user":"a"})", 3}});  // past end - 1 + lateness = 13
  EXPECT_THAT(h.Take(), IsEmpty());
  ASSERT_EQ(h.late.size(), 1u);
  EXPECT_NE(h.late[0].find("past every window"), std::string::npos) << h.late[0];
}

TEST(WindowOperatorTest, SessionLateEventsAreReported) {
  Harness h(Spec("{kind: session, gap: 10ms}"));
  h.Push({{R"({"user":"a"})", 100}});
  h.Watermark(200);
  EXPECT_EQ(h.Take().size(), 1u);
  h.Push({{R"({"user":"a"})", 50}});
  EXPECT_THAT(h.Take(), IsEmpty());
  EXPECT_EQ(h.late.size(), 1u);
}

TEST(WindowOperatorTest, SessionsWithLatenessReemitThenExpire) {
  Harness h(Spec("{kind: session, gap: 10ms, allowed_lateness: 20ms}"));
  for (int t = 0; t < 50; t += 5) h.Push({{R"({"user":"a"})", t}});  // one session [0, 55)
  h.Watermark(54);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":55,"key":"a","n":10})"));
  h.Push({{R"({"user":"a"})", 52}});  // late but allowed: extends the session to [0, 62)
  EXPECT_THAT(h.Take(), IsEmpty());   // which closes again at 61
  h.Push({{R"({"user":"a"})", 30}});  // inside [0, 55), which already fired: updated at once
  EXPECT_THAT(h.Take(), IsEmpty());   // (the session is open again until 61)
  h.Watermark(61);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":62,"key":"a","n":12})"));
  h.Push({{R"({"user":"a"})", 1}});   // fired, within lateness: an updated result right away
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":62,"key":"a","n":13})"));
  EXPECT_GT(h.graph->StateBytes(), 0u);
  h.Watermark(81);  // end 62 - 1 + 20 lateness: state goes
  EXPECT_THAT(h.Take(), IsEmpty());
  EXPECT_EQ(h.graph->StateBytes(), 0u);
  h.Push({{R"({"user":"a"})", 40}});  // [40, 50) closed for good at 49 + 20 < 81
  EXPECT_EQ(h.late.size(), 1u);
}

TEST(WindowOperatorTest, EarlyResultsComeBeforeTheWindowCloses) {
  Harness h(Spec("{kind: tumbling, size: 100ms, early_every: 10ms}", "n: count(*)", ""));
  h.Push({{"{}", 1}, {"{}", 2}});
  h.Watermark(20);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":100,"n":2})"));
  h.Push({{"{}", 30}});
  h.Watermark(25);  // not 10 ms since the last early result
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Watermark(99);  // closes the window: the final result only
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":100,"n":3})"));
}

TEST(WindowOperatorTest, StateIsDroppedOnceWindowsExpire) {
  Harness h(Spec("{kind: tumbling, size: 10ms}"));
  for (int i = 0; i < 100; ++i) h.Push({{fmt::format(R"({{"user":"u{}"}})", i), i}});
  EXPECT_GT(h.graph->StateBytes(), 0u);
  h.Watermark(1000);
  EXPECT_EQ(h.Take().size(), 100u);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

// The heavy aggregates allocate their accumulator when a row is created; that was subtracted when
// the window was dropped but never added, so state_bytes wrapped below zero to ~1.8e19.
TEST(WindowOperatorTest, StateOfHeavyAggregatesReturnsToZeroOnceWindowsExpire) {
  Harness h(Spec("{kind: tumbling, size: 10ms}",
                 "d: count_distinct(page), a: approx_count_distinct(page), "
                 "p: \"approx_percentile(v, 0.5)\", l: collect_list(page)"));
  for (int i = 0; i < 20; ++i) {
    h.Push({{fmt::format(R"({{"user":"u{}","page":"p{}","v":{}}})", i % 3, i, i), i}});
  }
  EXPECT_GT(h.graph->StateBytes(), 0u);
  EXPECT_LT(h.graph->StateBytes(), size_t{1} << 30);
  h.Watermark(1000);
  EXPECT_EQ(h.Take().size(), 6u);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(WindowOperatorTest, AggregateInputErrorsGoToTheErrorOutput) {
  Harness h(Spec("{kind: tumbling, size: 10ms}", "n: sum(CAST(v AS BIGINT))"));
  h.Push({{R"({"user":"a","v":"12"})", 1}, {R"({"user":"a","v":"x"})", 2}});
  h.Watermark(100);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"key":"a","n":12})"));
  EXPECT_EQ(h.errors.size(), 1u);
}

// docs/aggregates.md: an input an aggregate ignores reaches the error output with its event and
// reason, once per such input; the window's result is still computed over the usable inputs.
TEST(WindowOperatorTest, IgnoredAggregateInputsGoToTheErrorOutputWithTheirReason) {
  Harness h(Spec("{kind: tumbling, size: 10ms}", "n: count(*), total: sum(v), hi: max(v)"));
  h.Push({{R"({"user":"a","v":5})", 1}, {R"({"user":"a","v":"x"})", 2},
          {R"({"user":"a","v":"y"})", 3}, {R"({"user":"a","v":null})", 4}});
  h.Push({{R"({"user":"a","v":[1]})", 5}});
  h.Watermark(100);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"key":"a","n":5,)"
                                    R"("total":5,"hi":"y"})"));
  EXPECT_THAT(h.errors, ElementsAre(R"(win {"user":"a","v":"x"}: sum: ignored a string input)",
                                    R"(win {"user":"a","v":"y"}: sum: ignored a string input)",
                                    R"(win {"user":"a","v":[1]}: sum: ignored an array input)"));
}

}  // namespace
}  // namespace sluice::stream
