// The engine's Nexmark results must equal the hand-written baselines': `sluice bench nexmark`
// prints an order-independent checksum of every output row, for both paths.
#include <gtest/gtest.h>

#include "codec/json_parser.h"
#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

codec::JsonValue Bench(const std::string& query, bool baseline, const std::string& events) {
  std::vector<std::string> argv = {SluiceBinary(), "bench", "nexmark", "--query", query,
                                   "--events", events, "--rate", "100000"};
  if (baseline) argv.push_back("--baseline");
  auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  codec::JsonParser parser;
  auto v = parser.Parse(r.out);
  EXPECT_TRUE(v.ok()) << r.out;
  return v.ok() ? *v : codec::JsonValue();
}

class NexmarkTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NexmarkTest, EngineResultsEqualTheHandWrittenBaseline) {
  // 300k events at 100k events/s of event time: 3 s, so q5's 10 s windows also fire mid-run.
  auto engine = Bench(GetParam(), false, "300000");
  auto baseline = Bench(GetParam(), true, "300000");
  ASSERT_TRUE(engine.is_object() && baseline.is_object());
  EXPECT_EQ(engine.Find("mode")->text(), "engine");
  EXPECT_EQ(engine.Find("events")->AsInt64(), 300000);
  EXPECT_GT(engine.Find("output_rows")->AsInt64().value_or(0), 0);
  EXPECT_EQ(engine.Find("output_rows")->AsInt64(), baseline.Find("output_rows")->AsInt64());
  EXPECT_EQ(engine.Find("checksum")->text(), baseline.Find("checksum")->text());
}

INSTANTIATE_TEST_SUITE_P(Queries, NexmarkTest, ::testing::Values("q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"));

TEST(NexmarkCliTest, UnknownQueriesAreUsageErrors) {
  auto r = RunCommand({SluiceBinary(), "bench", "nexmark", "--query", "q99", "--events", "10"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("q99"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::e2e
