#include "stream/aggregate_operator.h"

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

std::string Spec(std::string_view key = "    key: category\n    key_name: category\n") {
  return fmt::format(R"(name: p
sources: [{{name: s, topic: t}}]
operators:
  - name: g
    type: aggregate
    input: s
{}    aggregates: {{avg_price: avg(price), n: count(*)}}
outputs: [{{name: out, input: g, type: discard}}]
)",
                     key);
}

TEST(AggregateOperatorTest, EachBatchEmitsTheUpdatedResultOfEveryKeyItChanged) {
  Harness h(Spec());
  h.Push({{R"({"category":1,"price":10})", 5}, {R"({"category":2,"price":7})", 6},
          {R"({"category":1,"price":20})", 4}});
  EXPECT_THAT(h.out_times, ElementsAre(5, 6));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":15,"n":2})",
                                    R"({"category":2,"avg_price":7,"n":1})"));
  h.Push({{R"({"category":2,"price":8})", 7}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":2,"avg_price":7.5,"n":2})"));
  h.Watermark(1000);  // nothing expires
  EXPECT_THAT(h.Take(), IsEmpty());
  h.Push({{R"({"category":1,"price":0})", 1}});  // nothing is late either
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":10,"n":3})"));
}

TEST(AggregateOperatorTest, WithoutAKeyThereIsOneGlobalGroup) {
  Harness h(Spec(""));
  h.Push({{R"({"category":1,"price":10})", 5}, {R"({"category":2,"price":20})", 6}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"avg_price":15,"n":2})"));
}

TEST(AggregateOperatorTest, IgnoredInputsGoToTheErrorOutputAndTheEventStillCounts) {
  Harness h(Spec(""));
  h.Push({{R"({"price":10})", 5}, {R"({"price":"cheap"})", 6}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"avg_price":10,"n":2})"));
  EXPECT_THAT(h.errors, ElementsAre(R"(g {"price":"cheap"}: avg: ignored a string input)"));
}

TEST(AggregateOperatorTest, StateSurvivesACheckpoint) {
  Harness a(Spec());
  a.Push({{R"({"category":1,"price":10})", 5}});
  std::string state = a.graph->SaveState();
  Harness b(Spec());
  ASSERT_TRUE(b.graph->LoadState(state).ok());
  b.Push({{R"({"category":1,"price":20})", 6}});
  EXPECT_THAT(b.Take(), ElementsAre(R"({"category":1,"avg_price":15,"n":2})"));
}

TEST(AggregateOperatorTest, KeyErrorsGoToTheErrorOutputAndClashingNamesAreRefused) {
  Harness h(Spec("    key: \"category / 0\"\n    key_name: category\n"));
  h.Push({{R"({"category":1,"price":10})", 5}});
  EXPECT_THAT(h.Take(), IsEmpty());
  EXPECT_EQ(h.errors.size(), 1u);
  auto spec = ParsePipelineSpec(Spec("    key: category\n    key_name: n\n"));
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("clashes"));
}

// ------------------------------------------------------------------------ keyed state

constexpr std::string_view kByCategory = "    key: category\n    key_name: category\n";

// A keyed aggregate with a heavy aggregate (its rows grow) and `extra` operator fields.
std::string StateSpec(std::string_view extra) {
  return fmt::format(R"(name: p
sources: [{{name: s, topic: t}}]
operators:
  - name: g
    type: aggregate
    input: s
    key: category
    key_name: category
{}    aggregates: {{total: sum(price), n: count(*), prices: count_distinct(price), pad: max(pad)}}
outputs: [{{name: out, input: g, type: discard}}]
)",
                     extra);
}

// `rounds` batches of 9 rows over `keys` keys, event times t0 + round.
void PushMany(Harness& h, int rounds, int keys, int64_t t0 = 0) {
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::pair<std::string, int64_t>> rows;
    for (int i = 0; i < 9; ++i) {
      int k = (r * 9 + i * 13) % keys;
      rows.emplace_back(fmt::format(R"({{"category":{},"price":{},"pad":"{}{}"}})", k,
                                    (r * 7 + i) % 23, std::string(30, 'x'), r),
                        t0 + r);
    }
    h.Push(rows);
  }
}

uint64_t CounterOf(const Harness& h, std::string_view name) {
  for (const auto& [n, v] : h.Find("g")->Counters()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(AggregateOperatorTest, SpillingUnderATinyBudgetGivesTheSameResultsAsMemory) {
  Harness mem(StateSpec(""));
  PushMany(mem, 80, 150);
  testing::TempDir dir;
  Harness spill(StateSpec("    state_memory: 4KiB\n"), nullptr, dir.path());
  PushMany(spill, 80, 150);
  ASSERT_GT(mem.out.size(), 500u);
  EXPECT_EQ(spill.out, mem.out);  // same rows, same order
  EXPECT_EQ(spill.out_times, mem.out_times);
  EXPECT_GT(CounterOf(spill, "spills"), 0u);
  EXPECT_GT(CounterOf(spill, "unspills"), 0u);
  EXPECT_GT(CounterOf(spill, "spilled_keys"), 0u);
  EXPECT_EQ(CounterOf(spill, "keys"), 150u);
  EXPECT_EQ(CounterOf(mem, "keys"), 150u);
  EXPECT_EQ(CounterOf(mem, "spilled_keys"), 0u);
  EXPECT_EQ(CounterOf(spill, "keys_in_memory") + CounterOf(spill, "spilled_keys"), 150u);
  EXPECT_LE(spill.graph->StateBytes(), 4096u);
  EXPECT_GT(spill.graph->SpilledBytes(), 0u);
  EXPECT_GT(mem.graph->StateBytes(), 10 * 4096u);
  EXPECT_EQ(mem.graph->SpilledBytes(), 0u);
}

TEST(AggregateOperatorTest, CheckpointsHoldSpilledKeysAndRestoreUnderAnyBudget) {
  Harness whole(StateSpec(""));
  PushMany(whole, 40, 150);
  PushMany(whole, 40, 150, /*t0=*/100);
  std::vector<std::string> expected(whole.out.begin(), whole.out.end());

  testing::TempDir dir;
  const std::string tiny = "    state_memory: 4KiB\n";
  std::string saved;
  std::vector<std::string> got;
  {
    Harness a(StateSpec(tiny), nullptr, dir.path());
    PushMany(a, 40, 150);
    ASSERT_GT(CounterOf(a, "spilled_keys"), 0u);
    saved = a.graph->SaveState();
    got = a.Take();
  }
  for (std::string extra : {tiny, std::string()}) {
    Harness b(StateSpec(extra), nullptr, dir.path());
    ASSERT_TRUE(b.graph->LoadState(saved).ok());
    EXPECT_EQ(CounterOf(b, "keys"), 150u);
    if (!extra.empty()) {
      EXPECT_GT(CounterOf(b, "spilled_keys"), 0u);  // spilled while loading
    }
    PushMany(b, 40, 150, /*t0=*/100);
    std::vector<std::string> all = got;
    all.insert(all.end(), b.out.begin(), b.out.end());
    EXPECT_EQ(all, expected) << extra;
  }
}

TEST(AggregateOperatorTest, KeysNotUpdatedForTheTtlStartAFreshGroup) {
  Harness h(Spec(std::string(kByCategory) + "    state_ttl: 10ms\n"));
  h.Push({{R"({"category":1,"price":10})", 0}, {R"({"category":2,"price":20})", 0}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":10,"n":1})",
                                    R"({"category":2,"avg_price":20,"n":1})"));
  h.Watermark(5);
  h.Push({{R"({"category":1,"price":30})", 9}});  // key 1 updated at 9, key 2 last at 0
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":20,"n":2})"));
  h.Watermark(10);  // key 2 expires (0 + 10 <= 10); key 1 lives until 19
  h.Push({{R"({"category":2,"price":4})", 11}, {R"({"category":1,"price":2})", 12}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":2,"avg_price":4,"n":1})",
                                    R"({"category":1,"avg_price":14,"n":3})"));
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 1u);
  EXPECT_EQ(CounterOf(h, "keys"), 2u);
  h.Watermark(100);  // the sweep frees everything older than 90
  EXPECT_EQ(CounterOf(h, "keys"), 0u);
  EXPECT_EQ(h.graph->StateBytes(), 0u);
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 3u);
  h.Push({{R"({"category":1,"price":1})", 101}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":1,"n":1})"));
}

TEST(AggregateOperatorTest, ARowOlderThanTheTtlStartsAGroupTheNextRowFindsExpired) {
  Harness h(Spec(std::string(kByCategory) + "    state_ttl: 10ms\n"));
  h.Watermark(50);
  // Both rows are behind the cutoff (40): each one starts the group afresh, in one batch.
  h.Push({{R"({"category":1,"price":10})", 1}, {R"({"category":1,"price":20})", 2}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"category":1,"avg_price":20,"n":1})"));
  EXPECT_EQ(CounterOf(h, "ttl_expired_keys"), 1u);
}

TEST(AggregateOperatorTest, ExpiredKeysStayExpiredAfterARestore) {
  const std::string spec =
      StateSpec("    state_ttl: 100ms\n    state_memory: 1KiB\n");
  testing::TempDir dir;
  std::string saved;
  {
    Harness a(spec, nullptr, dir.path());
    a.Watermark(1);  // sweeps at 1, next at 51
    a.Push({{R"({"category":0,"price":1,"pad":"a"})", 0}});
    for (int i = 1; i < 40; ++i) {  // enough keys for key 0 to spill
      a.Push({{fmt::format(R"({{"category":{},"price":2,"pad":"{}"}})", i, std::string(50, 'p')),
               60}});
    }
    a.Watermark(60);   // sweeps (nothing expired), next at 110
    a.Watermark(105);  // key 0 expired (0 + 100 <= 105) but not swept yet
    EXPECT_EQ(CounterOf(a, "keys"), 40u);
    EXPECT_GT(CounterOf(a, "spilled_keys"), 0u);
    saved = a.graph->SaveState();
  }
  Harness b(spec, nullptr, dir.path());
  ASSERT_TRUE(b.graph->LoadState(saved).ok());
  EXPECT_EQ(CounterOf(b, "keys"), 39u);
  b.Take();
  b.Push({{R"({"category":0,"price":5,"pad":"b"})", 106},
          {R"({"category":1,"price":5,"pad":"b"})", 106}});
  EXPECT_THAT(b.Take(),
              ElementsAre(R"({"category":0,"total":5,"n":1,"prices":1,"pad":"b"})",
                          fmt::format(R"({{"category":1,"total":7,"n":2,"prices":2,"pad":"{}"}})",
                                      std::string(50, 'p'))));
}

TEST(AggregateOperatorTest, StateOptionsAreAccepted) {
  EXPECT_TRUE(ParsePipelineSpec(StateSpec("    state_ttl: 1h\n    state_memory: 64MiB\n")).ok());
  auto bad = ParsePipelineSpec(StateSpec("    state_memory: 10\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("operators[0].state_memory: must be at least"));
}

}  // namespace
}  // namespace sluice::stream
