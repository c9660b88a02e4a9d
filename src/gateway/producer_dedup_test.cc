// ProducerDedup: results replayed for retried sequences, the window, eviction by bytes.
#include "gateway/producer_dedup.h"

#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

using Outcome = ProducerDedup::Outcome;

TEST(ProducerDedupTest, RetriedSequenceGetsTheOriginalResult) {
  ProducerDedup d;
  EXPECT_EQ(d.Begin("t\np1", 7).outcome, Outcome::kNew);
  EXPECT_EQ(d.Begin("t\np1", 7).outcome, Outcome::kInProgress);
  d.Finish("t\np1", 7, "R7");
  auto l = d.Begin("t\np1", 7);
  EXPECT_EQ(l.outcome, Outcome::kDuplicate);
  EXPECT_EQ(l.result, "R7");
  // Another producer with the same sequence is a different request.
  EXPECT_EQ(d.Begin("t\np2", 7).outcome, Outcome::kNew);
}

TEST(ProducerDedupTest, AbandonedSequenceRunsAgain) {
  ProducerDedup d;
  EXPECT_EQ(d.Begin("k", 1).outcome, Outcome::kNew);
  d.Abandon("k", 1);
  EXPECT_EQ(d.Begin("k", 1).outcome, Outcome::kNew);
}

TEST(ProducerDedupTest, SequencesBelowAFullWindowAreTooOld) {
  ProducerDedup d(ProducerDedupOptions{.window = 4, .max_bytes = 1 << 20});
  for (int64_t s = 10; s < 20; ++s) {
    ASSERT_EQ(d.Begin("k", s).outcome, Outcome::kNew);
    d.Finish("k", s, "r" + std::to_string(s));
  }
  EXPECT_EQ(d.Begin("k", 19).outcome, Outcome::kDuplicate);
  EXPECT_EQ(d.Begin("k", 16).outcome, Outcome::kDuplicate);
  EXPECT_EQ(d.Begin("k", 15).outcome, Outcome::kTooOld);
  EXPECT_EQ(d.Begin("k", 3).outcome, Outcome::kTooOld);
}

TEST(ProducerDedupTest, LeastRecentlyUsedProducersGoWhenOverTheByteBudget) {
  ProducerDedup d(ProducerDedupOptions{.window = 64, .max_bytes = 3000});
  const std::string big(1000, 'x');
  for (int p = 0; p < 5; ++p) {
    std::string key = "p" + std::to_string(p);
    ASSERT_EQ(d.Begin(key, 0).outcome, Outcome::kNew);
    d.Finish(key, 0, big);
  }
  EXPECT_LE(d.bytes(), 3000u);
  EXPECT_LT(d.producers(), 5u);
  EXPECT_EQ(d.Begin("p4", 0).outcome, Outcome::kDuplicate);  // the most recent stays
  EXPECT_EQ(d.Begin("p0", 0).outcome, Outcome::kNew);        // the oldest was forgotten
}

}  // namespace
}  // namespace sluice::gateway
