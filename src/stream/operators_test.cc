#include "stream/operators.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stream/testing.h"

namespace sluice::stream {
namespace {

using testing::Harness;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string Spec(std::string_view operators, std::string_view output_input) {
  return fmt::format(R"(name: p
sources: [{{name: s, topic: t}}, {{name: s2, topic: t2}}]
operators:
{}
outputs: [{{name: o, input: {}, type: discard}}]
)",
                     operators, output_input);
}

TEST(OperatorsTest, FilterKeepsOnlyTrueRows) {
  Harness h(Spec("  - {name: f, type: filter, input: s, condition: 'amount > 10'}", "f"));
  h.Push({{R"({"amount":5})", 0}, {R"({"amount":50})", 0}, {R"({"other":1})", 0},
          {R"({"amount":null})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"amount":50})"));
}

TEST(OperatorsTest, MapProjectsAndDeriveExtends) {
  Harness h(Spec(R"(  - {name: m, type: map, input: s, fields: {id: order_id, total: 'price * qty'}}
  - {name: d, type: derive, input: m, fields: {total: 'total + 1', big: 'total > 10'}})",
                 "d"));
  h.Push({{R"({"order_id":"o1","price":3,"qty":4,"junk":true})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":"o1","total":13,"big":true})"));
}

TEST(OperatorsTest, MapPathFieldsFollowEveryEventsOwnShape) {
  // Plain paths are looked up without the evaluator, sharing the `a` lookup; member positions
  // change between events, members go missing and `a` is sometimes not an object.
  Harness h(Spec(R"(  - {name: m, type: map, input: s, fields: {x: a.x, y: a.y, deep: a.b.c, top: t, sum: 'a.x + 1', q: "`a.x`"}})",
                 "m"));
  h.Push({{R"({"a":{"x":1,"y":2,"b":{"c":3}},"t":4,"a.x":9})", 0},
          {R"({"t":5,"a":{"b":{"c":6},"y":7,"x":8}})", 0},
          {R"({"a":{"y":1}})", 0},
          {R"({"a":[1,2],"t":null})", 0}});
  EXPECT_THAT(h.Take(),
              ElementsAre(R"({"x":1,"y":2,"deep":3,"top":4,"sum":2,"q":9})",
                          R"({"x":8,"y":7,"deep":6,"top":5,"sum":9,"q":null})",
                          R"({"x":null,"y":1,"deep":null,"top":null,"sum":null,"q":null})",
                          R"({"x":null,"y":null,"deep":null,"top":null,"sum":null,"q":null})"));
}

TEST(OperatorsTest, RuntimeErrorsGoToTheErrorOutputAndTheRestContinue) {
  Harness h(Spec("  - {name: m, type: map, input: s, fields: {n: 'CAST(v AS BIGINT)'}}", "m"));
  h.Push({{R"({"v":"7"})", 0}, {R"({"v":"seven"})", 0}, {R"({"v":"8"})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"n":7})", R"({"n":8})"));
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_NE(h.errors[0].find("field 'n'"), std::string::npos) << h.errors[0];
}

TEST(OperatorsTest, FlattenEmitsOneRowPerItem) {
  Harness h(Spec("  - {name: f, type: flatten, input: s, field: items, as: item}", "f"));
  h.Push({{R"({"id":1,"items":[{"sku":"a"},{"sku":"b"}]})", 0}, {R"({"id":2,"items":[]})", 0},
          {R"({"id":3})", 0}, {R"({"id":4,"items":"oops"})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":1,"items":[{"sku":"a"},{"sku":"b"}],"item":{"sku":"a"}})",
                                    R"({"id":1,"items":[{"sku":"a"},{"sku":"b"}],"item":{"sku":"b"}})"));
  EXPECT_EQ(h.errors.size(), 1u);
}

TEST(OperatorsTest, RouteSendsRowsToEveryMatchingBranch) {
  Harness h(Spec(R"(  - {name: r, type: route, input: s, routes: {big: 'v > 10', even: 'v % 2 = 0'}})",
                 "r.even"));
  h.Push({{R"({"v":12})", 0}, {R"({"v":3})", 0}, {R"({"v":4})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"v":12})", R"({"v":4})"));
}

TEST(OperatorsTest, UnionMergesStreamsAndWaitsForBothWatermarks) {
  Harness h(Spec(R"(  - {name: u, type: union, inputs: [s, s2]}
  - name: w
    type: window
    input: u
    window: {kind: tumbling, size: 10ms}
    aggregates: {n: count(*)})",
                 "w"));
  h.Push({{"{}", 1}}, 0);
  h.Push({{"{}", 2}}, 1);
  h.Watermark(50, 0);
  EXPECT_THAT(h.Take(), IsEmpty());  // s2 has not reached 9 yet
  h.Watermark(50, 1);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"n":2})"));
}

TEST(OperatorsTest, DedupDropsRepeatsWithinTheWindowAndForgetsAfter) {
  Harness h(Spec("  - {name: d, type: dedup, input: s, key: id, within: 10ms}", "d"));
  h.Push({{R"({"id":1,"n":1})", 0}, {R"({"id":1,"n":2})", 5}, {R"({"id":2,"n":3})", 6}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":1,"n":1})", R"({"id":2,"n":3})"));
  h.Watermark(100);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
  h.Push({{R"({"id":1,"n":4})", 101}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":1,"n":4})"));
}

TEST(OperatorsTest, KeyByKeysTheWindow) {
  Harness h(Spec(R"(  - {name: k, type: key_by, input: s, key: 'lower(user)'}
  - name: w
    type: window
    input: k
    key_name: user
    window: {kind: tumbling, size: 10ms}
    aggregates: {n: count(*)})",
                 "w"));
  h.Push({{R"({"user":"A"})", 1}, {R"({"user":"a"})", 2}});
  h.Watermark(20);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":0,"window_end":10,"user":"a","n":2})"));
}

TEST(OperatorsTest, TopNKeepsTheBestRowsPerWindowWithTies) {
  // Nexmark q5's shape: counts per auction per window, then the auctions with the max count.
  Harness h(Spec(R"(  - name: counts
    type: window
    input: s
    key: auction
    key_name: auction
    window: {kind: tumbling, size: 10ms}
    aggregates: {num: count(*)}
  - {name: hot, type: top_n, input: counts, partition_by: window_start, order_by: num, n: 1, with_ties: true})",
                 "hot"));
  h.Push({{R"({"auction":1})", 1}, {R"({"auction":2})", 2}, {R"({"auction":2})", 3},
          {R"({"auction":3})", 4}, {R"({"auction":3})", 5}, {R"({"auction":4})", 12}});
  h.Watermark(9);
  EXPECT_THAT(h.Take(), UnorderedElementsAre(R"({"window_start":0,"window_end":10,"auction":2,"num":2})",
                                             R"({"window_start":0,"window_end":10,"auction":3,"num":2})"));
  EXPECT_EQ(h.graph->StateBytes() > 0, true);  // window [10, 20) still open
  h.Watermark(100);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"window_start":10,"window_end":20,"auction":4,"num":1})"));
  EXPECT_EQ(h.graph->StateBytes(), 0u);
}

TEST(OperatorsTest, TopNAscendingWithoutTiesKeepsN) {
  Harness h(Spec("  - {name: t, type: top_n, input: s, order_by: v, order: asc, n: 2}", "t"));
  h.Push({{R"({"v":5})", 1}, {R"({"v":1})", 1}, {R"({"v":3})", 1}, {R"({"v":1})", 1}, {R"({"v":null})", 1}});
  h.Watermark(1);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"v":1})", R"({"v":1})"));
}

// ------------------------------------------------------------------- dedup state_memory

std::string DedupSpec(std::string_view extra = "") {
  return Spec(fmt::format("  - {{name: d, type: dedup, input: s, key: id, within: 50ms{}}}", extra),
              "d");
}

// `rounds` batches over `keys` ids, event times t0 + round, watermarks every 10 rounds.
void PushDedup(Harness& h, int rounds, int keys, int64_t t0 = 0) {
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::pair<std::string, int64_t>> rows;
    for (int i = 0; i < 8; ++i) {
      rows.emplace_back(fmt::format(R"({{"id":"{}-{}","r":{}}})", std::string(20, 'k'),
                                    (r * 8 + i * 37) % keys, r),
                        t0 + r);
    }
    h.Push(rows);
    if (r % 10 == 9) h.Watermark(t0 + r - 20);
  }
}

uint64_t DedupCounter(const Harness& h, std::string_view name) {
  for (const auto& [n, v] : h.Find("d")->Counters()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(OperatorsTest, DedupSpillingUnderATinyBudgetGivesTheSameResultsAsMemory) {
  Harness mem(DedupSpec());
  PushDedup(mem, 200, 300);
  testing::TempDir dir;
  Harness spill(DedupSpec(", state_memory: 2KiB"), nullptr, dir.path());
  PushDedup(spill, 200, 300);
  ASSERT_GT(mem.out.size(), 200u);
  ASSERT_LT(mem.out.size(), 1600u);  // some rows are duplicates
  EXPECT_EQ(spill.out, mem.out);
  EXPECT_GT(DedupCounter(spill, "spills"), 0u);
  EXPECT_GT(DedupCounter(spill, "unspills"), 0u);
  EXPECT_EQ(DedupCounter(spill, "keys"), DedupCounter(mem, "keys"));
  EXPECT_LE(spill.graph->StateBytes(), 2048u);
  EXPECT_GT(spill.graph->SpilledBytes(), 0u);
  // Expiry reaches the keys on disk: after the watermark passes everything, nothing is left.
  spill.Watermark(10000);
  EXPECT_EQ(DedupCounter(spill, "keys"), 0u);
  EXPECT_EQ(spill.graph->SpilledBytes(), 0u);
  EXPECT_EQ(spill.graph->StateBytes(), 0u);
}

TEST(OperatorsTest, DedupCheckpointsHoldSpilledKeysAndRestoreUnderAnyBudget) {
  Harness whole(DedupSpec());
  PushDedup(whole, 100, 300);
  PushDedup(whole, 100, 300, /*t0=*/100);
  std::vector<std::string> expected(whole.out.begin(), whole.out.end());

  testing::TempDir dir;
  const std::string tiny = ", state_memory: 2KiB";
  std::string saved;
  std::vector<std::string> got;
  uint64_t keys = 0;
  {
    Harness a(DedupSpec(tiny), nullptr, dir.path());
    PushDedup(a, 100, 300);
    ASSERT_GT(DedupCounter(a, "spilled_keys"), 0u);
    keys = DedupCounter(a, "keys");
    saved = a.graph->SaveState();
    got = a.Take();
  }
  for (std::string extra : {tiny, std::string()}) {
    Harness b(DedupSpec(extra), nullptr, dir.path());
    ASSERT_TRUE(b.graph->LoadState(saved).ok());
    EXPECT_EQ(DedupCounter(b, "keys"), keys);
    PushDedup(b, 100, 300, /*t0=*/100);
    std::vector<std::string> all = got;
    all.insert(all.end(), b.out.begin(), b.out.end());
    EXPECT_EQ(all, expected) << extra;
    b.Watermark(10000);  // restored spilled keys expire as the others do
    EXPECT_EQ(DedupCounter(b, "keys"), 0u);
  }
}

}  // namespace
}  // namespace sluice::stream
