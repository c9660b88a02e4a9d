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

}  // namespace
}  // namespace sluice::stream
