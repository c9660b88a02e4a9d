// Tests for the DDSketch: every quantile within the relative accuracy of the exact one on
// uniform, normal and skewed data, exact merges, and serialization.
#include "stream/quantile_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace sluice::stream {
namespace {

std::vector<double> Data(const std::string& shape, int n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v;
  std::uniform_real_distribution<double> uniform(0, 1000);
  std::normal_distribution<double> normal(0, 50);  // both signs
  std::lognormal_distribution<double> lognormal(3, 2);
  std::exponential_distribution<double> expo(0.01);
  for (int i = 0; i < n; ++i) {
    if (shape == "uniform") v.push_back(uniform(rng));
    if (shape == "normal") v.push_back(normal(rng));
    if (shape == "lognormal") v.push_back(lognormal(rng));
    if (shape == "pareto") v.push_back(std::pow(1 - std::uniform_real_distribution<>(0, 1)(rng), -1 / 1.2));
    if (shape == "latency") v.push_back(i % 100 == 0 ? 1000 + expo(rng) * 50 : 5 + expo(rng));
  }
  return v;
}

void ExpectWithinAccuracy(const QuantileSketch& s, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double exact = values[static_cast<size_t>(q * static_cast<double>(values.size() - 1))];
    const auto est = s.Quantile(q);
    ASSERT_TRUE(est.has_value());
    EXPECT_LE(std::fabs(*est - exact), s.relative_accuracy() * std::fabs(exact) + 1e-12)
        << "q=" << q << " exact=" << exact << " est=" << *est;
  }
}

TEST(QuantileSketchTest, QuantilesAreWithinTheRelativeAccuracy) {
  for (const char* shape : {"uniform", "normal", "lognormal", "pareto", "latency"}) {
    SCOPED_TRACE(shape);
    for (double alpha : {0.01, 0.001}) {
      QuantileSketch s(alpha);
      const auto v = Data(shape, 100000, 42);
      for (double x : v) ASSERT_TRUE(s.Add(x));
      EXPECT_EQ(s.count(), v.size());
      ExpectWithinAccuracy(s, v);
    }
  }
}

TEST(QuantileSketchTest, EmptyZerosAndNonFinite) {
  QuantileSketch s;
  EXPECT_FALSE(s.Quantile(0.5).has_value());
  EXPECT_FALSE(s.Add(std::nan("")));
  EXPECT_FALSE(s.Add(INFINITY));
  EXPECT_EQ(s.count(), 0u);
  for (double x : {0.0, 0.0, -0.0, 1e-320, 5.0}) s.Add(x);
  EXPECT_EQ(*s.Quantile(0.5), 0.0);
  EXPECT_EQ(*s.Quantile(1.0), 5.0);  // clamped to the exact max
}

TEST(QuantileSketchTest, MergeEqualsTheSketchOfTheUnion) {
  const auto a = Data("lognormal", 20000, 1);
  const auto b = Data("normal", 30000, 2);
  QuantileSketch sa, sb, all;
  for (double x : a) sa.Add(x), all.Add(x);
  for (double x : b) sb.Add(x), all.Add(x);
  sa.Merge(sb);
  std::string merged, whole;
  sa.Serialize(merged);
  all.Serialize(whole);
  EXPECT_EQ(merged, whole);
  std::vector<double> union_values = a;
  union_values.insert(union_values.end(), b.begin(), b.end());
  ExpectWithinAccuracy(sa, union_values);
}

TEST(QuantileSketchTest, BucketLimitFoldsTheSmallestValues) {
  QuantileSketch s(0.01, 64);
  std::vector<double> v;
  for (int e = -30; e <= 30; ++e) v.push_back(std::pow(10.0, e));
  for (double x : v) s.Add(x);
  // The top of the distribution keeps its guarantee.
  EXPECT_NEAR(*s.Quantile(1.0), 1e30, 1e28);
  EXPECT_LE(s.MemoryBytes(), sizeof(QuantileSketch) + 4 * 64 * 8);
}

TEST(QuantileSketchTest, SerializeRoundTripsAndRejectsTruncation) {
  QuantileSketch s;
  for (double x : Data("normal", 5000, 3)) s.Add(x);
  std::string bytes;
  s.Serialize(bytes);
  auto back = QuantileSketch::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->count(), s.count());
  EXPECT_EQ(*back->Quantile(0.37), *s.Quantile(0.37));
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(QuantileSketch::Deserialize(bytes.substr(0, len)).ok()) << len;
  }
}

}  // namespace
}  // namespace sluice::stream
