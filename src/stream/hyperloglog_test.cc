// Tests for HyperLogLog: accuracy at several cardinalities, union by merge, sparse/dense forms
// and serialization.
#include "stream/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace sluice::stream {
namespace {

using model::Value;

// Fills a sketch with `n` distinct strings (starting at `from`).
void AddStrings(HyperLogLog& h, int64_t from, int64_t n) {
  for (int64_t i = from; i < from + n; ++i) {
    const std::string s = "user-" + std::to_string(i);
    h.Add(Value::String(s));
  }
}

TEST(HyperLogLogTest, RelativeErrorStaysWithinThreeStandardErrors) {
  for (int64_t n : {int64_t{1000}, int64_t{100000}, int64_t{1000000}}) {
    HyperLogLog ints, strings;
    for (int64_t i = 0; i < n; ++i) ints.Add(Value::Int(i));
    AddStrings(strings, 0, n);
    const double bound = 3 * ints.StandardError();
    EXPECT_LT(std::fabs(ints.Estimate() / n - 1), bound) << "ints n=" << n;
    EXPECT_LT(std::fabs(strings.Estimate() / n - 1), bound) << "strings n=" << n;
  }
}

TEST(HyperLogLogTest, SmallCardinalitiesAreNearlyExactAndSparse) {
  HyperLogLog h;
  EXPECT_EQ(h.Estimate(), 0);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) h.Add(Value::Int(i));
  }
  EXPECT_TRUE(h.is_sparse());
  EXPECT_NEAR(h.Estimate(), 100, 2);
  EXPECT_LT(h.MemoryBytes(), 2048u);
}

TEST(HyperLogLogTest, MergeEqualsTheSketchOfTheUnion) {
  // Sparse + sparse, sparse + dense, dense + dense, with overlap.
  for (auto [na, nb] : {std::pair<int64_t, int64_t>{300, 500}, {300, 50000}, {60000, 90000}}) {
    HyperLogLog a, b, both;
    AddStrings(a, 0, na);
    AddStrings(b, na / 2, nb);
    AddStrings(both, 0, na);
    AddStrings(both, na / 2, nb);
    a.Merge(b);
    EXPECT_EQ(a.Estimate(), both.Estimate());
    // Merge in the other direction gives the same sketch too.
    HyperLogLog c;
    AddStrings(c, na / 2, nb);
    HyperLogLog d;
    AddStrings(d, 0, na);
    c.Merge(d);
    EXPECT_EQ(c.Estimate(), both.Estimate());
  }
}

TEST(HyperLogLogTest, SerializeRoundTripsBothForms) {
  for (int64_t n : {int64_t{0}, int64_t{10}, int64_t{100000}}) {
    HyperLogLog h(12);
    AddStrings(h, 0, n);
    std::string bytes;
    h.Serialize(bytes);
    auto back = HyperLogLog::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->precision(), 12);
    EXPECT_EQ(back->Estimate(), h.Estimate());
    EXPECT_EQ(back->is_sparse(), h.is_sparse());
    for (size_t len = 0; len < bytes.size(); len += 1 + bytes.size() / 50) {
      EXPECT_FALSE(HyperLogLog::Deserialize(bytes.substr(0, len)).ok());
    }
  }
  EXPECT_FALSE(HyperLogLog::Deserialize(std::string("\x20\x00", 2)).ok());  // p = 32
}

TEST(HyperLogLogTest, PrecisionSetsTheError) {
  HyperLogLog small(6);
  EXPECT_NEAR(small.StandardError(), 0.13, 0.001);
  for (int i = 0; i < 20000; ++i) small.Add(Value::Int(i));
  EXPECT_LT(std::fabs(small.Estimate() / 20000 - 1), 3 * small.StandardError());
  EXPECT_LE(small.MemoryBytes(), sizeof(HyperLogLog) + 64);
}

}  // namespace
}  // namespace sluice::stream
