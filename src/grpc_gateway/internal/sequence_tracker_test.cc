// Unit tests of SequenceTracker: dedup of resent sequences, gaps, retries, bounds.
#include "grpc_gateway/internal/sequence_tracker.h"

#include <gtest/gtest.h>

namespace sluice::grpc_gateway::internal {
namespace {

using V = SequenceTracker::Verdict;

std::shared_ptr<const std::string> R(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

TEST(SequenceTrackerTest, ResentSequenceGetsTheStoredResult) {
  SequenceTracker t(10, 8, 1 << 20);
  EXPECT_EQ(t.Begin("p", 5).verdict, V::kNew);  // a new producer may start anywhere
  t.Succeeded("p", 5, R("five"));
  EXPECT_EQ(t.Begin("p", 6).verdict, V::kNew);
  auto d = t.Begin("p", 5);
  EXPECT_EQ(d.verdict, V::kDuplicate);
  ASSERT_TRUE(d.stored);
  EXPECT_EQ(*d.stored, "five");
  EXPECT_EQ(t.Begin("p", 6).verdict, V::kInFlight);
}

TEST(SequenceTrackerTest, GapIsRefusedAndNamesTheExpectedSequence) {
  SequenceTracker t(10, 8, 1 << 20);
  EXPECT_EQ(t.Begin("p", 0).verdict, V::kNew);
  auto d = t.Begin("p", 2);
  EXPECT_EQ(d.verdict, V::kGap);
  EXPECT_EQ(d.expected, 1u);
  EXPECT_EQ(t.Begin("p", 1).verdict, V::kNew);  // the refused gap did not move anything
}

TEST(SequenceTrackerTest, FailedSequenceIsPublishedAgainOnResend) {
  SequenceTracker t(10, 8, 1 << 20);
  EXPECT_EQ(t.Begin("p", 0).verdict, V::kNew);
  t.Failed("p", 0);
  EXPECT_EQ(t.Begin("p", 0).verdict, V::kRetry);
  t.Succeeded("p", 0, R("ok"));
  EXPECT_EQ(t.Begin("p", 0).verdict, V::kDuplicate);
}

TEST(SequenceTrackerTest, SequencesBelowTheWindowAreTooOld) {
  SequenceTracker t(10, 2, 1 << 20);
  for (uint64_t s = 0; s < 4; ++s) {
    EXPECT_EQ(t.Begin("p", s).verdict, V::kNew);
    t.Succeeded("p", s, R("r"));
  }
  EXPECT_EQ(t.Begin("p", 1).verdict, V::kTooOld);
  EXPECT_EQ(t.Begin("p", 2).verdict, V::kDuplicate);
  EXPECT_EQ(t.result_bytes(), 2u);
}

TEST(SequenceTrackerTest, ProducersAreBoundedLeastRecentlyUsedFirst) {
  SequenceTracker t(2, 8, 1 << 20);
  EXPECT_EQ(t.Begin("a", 0).verdict, V::kNew);
  EXPECT_EQ(t.Begin("b", 0).verdict, V::kNew);
  EXPECT_EQ(t.Begin("a", 1).verdict, V::kNew);  // a is now the most recent
  EXPECT_EQ(t.Begin("c", 0).verdict, V::kNew);  // evicts b
  EXPECT_EQ(t.producers(), 2u);
  EXPECT_EQ(t.Begin("a", 5).verdict, V::kGap);  // a is still known
  EXPECT_EQ(t.Begin("b", 7).verdict, V::kNew);  // b was forgotten: starts anew
}

TEST(SequenceTrackerTest, StoredResultBytesAreBounded) {
  SequenceTracker t(100, 8, 10);
  EXPECT_EQ(t.Begin("a", 0).verdict, V::kNew);
  t.Succeeded("a", 0, R("123456"));
  EXPECT_EQ(t.Begin("b", 0).verdict, V::kNew);
  t.Succeeded("b", 0, R("123456"));  // over 10 bytes: a (least recent) is dropped
  EXPECT_EQ(t.producers(), 1u);
  EXPECT_EQ(t.result_bytes(), 6u);
  EXPECT_EQ(t.Begin("b", 0).verdict, V::kDuplicate);
}

}  // namespace
}  // namespace sluice::grpc_gateway::internal
