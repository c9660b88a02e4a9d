#include "metrics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

TEST(HistogramTest, ObservationOnABoundCountsInThatBucket) {
  Histogram h({1, 2, 5});
  h.Observe(1);  // le=1 is inclusive
  h.Observe(1.5);
  h.Observe(5);
  h.Observe(7);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 14.5);
}

TEST(HistogramTest, NanGoesToInfBucketOnly) {
  Histogram h({1});
  h.Observe(std::nan(""));
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{0, 1}));
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram h({0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.Observe(i % 2);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{20000, 40000}));
  EXPECT_DOUBLE_EQ(h.sum(), 20000);
}

TEST(HistogramDeathTest, UnsortedBoundsAbort) {
  EXPECT_DEATH(Histogram({1, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({1, INFINITY}), "not finite");
}

}  // namespace
}  // namespace sluice::metrics
