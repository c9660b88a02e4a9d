#include "model/value.h"

#include <gtest/gtest.h>

#include "model/arena.h"
#include "model/partitioner.h"

namespace sluice::model {
namespace {

TEST(ValueTest, FindUsesAndUpdatesTheHint) {
  Member a[] = {{"x", Value::Int(1)}, {"y", Value::String("b")}};
  Member b[] = {{"y", Value::String("c")}, {"x", Value::Int(2)}};
  Value va = Value::Object(a), vb = Value::Object(b);
  uint32_t hint = 0;
  ASSERT_NE(va.Find("y", &hint), nullptr);
  EXPECT_EQ(hint, 1u);
  EXPECT_EQ(va.Find("y", &hint)->string_value(), "b");
  EXPECT_EQ(vb.Find("y", &hint)->string_value(), "c");
  EXPECT_EQ(hint, 0u);
  EXPECT_EQ(vb.Find("z", &hint), nullptr);
  EXPECT_EQ(Value::Int(3).Find("x"), nullptr);
}

TEST(ValueTest, NameEqualsAgreesWithStringCompareForEveryLength) {
  std::string a(40, 'x'), b(40, 'x');
  for (size_t n = 0; n <= 40; ++n) {
    EXPECT_TRUE(NameEquals(std::string_view(a.data(), n), std::string_view(b.data(), n))) << n;
    for (size_t i = 0; i < n; ++i) {
      b[i] = 'y';
      EXPECT_FALSE(NameEquals(std::string_view(a.data(), n), std::string_view(b.data(), n))) << n << " " << i;
      b[i] = 'x';
    }
    if (n > 0) {
      EXPECT_FALSE(NameEquals(std::string_view(a.data(), n), std::string_view(b.data(), n - 1)));
    }
  }
}

TEST(ValueTest, NumbersCompareAndHashByValue) {
  EXPECT_TRUE(Value::Int(2).Equals(Value::Double(2.0)));
  EXPECT_EQ(Value::Int(2).Hash(), Value::Double(2.0).Hash());
  EXPECT_FALSE(Value::Int(2).Equals(Value::Double(2.5)));
  EXPECT_FALSE(Value::Int(2).Equals(Value::String("2")));
  EXPECT_FALSE(Value::Int(2).Equals(Value::Timestamp(2)));
  EXPECT_TRUE(Value::Null().Equals(Value::Null()));
}

TEST(ValueTest, ObjectsCompareRegardlessOfMemberOrder) {
  Member a[] = {{"x", Value::Int(1)}, {"y", Value::String("b")}};
  Member b[] = {{"y", Value::String("b")}, {"x", Value::Int(1)}};
  Member c[] = {{"y", Value::String("b")}, {"x", Value::Int(2)}};
  EXPECT_TRUE(Value::Object(a).Equals(Value::Object(b)));
  EXPECT_EQ(Value::Object(a).Hash(), Value::Object(b).Hash());
  EXPECT_FALSE(Value::Object(a).Equals(Value::Object(c)));
}

TEST(ArenaTest, DeepCopySurvivesTheSourceAndResetKeepsOneBlock) {
  Arena arena(256);
  Value copy;
  {
    std::string s = "hello world";
    Value items[] = {Value::String(s), Value::Int(7)};
    Member m[] = {{"list", Value::Array(items)}};
    copy = arena.DeepCopy(Value::Object(m));
    s.assign("XXXXXXXXXXX");
  }
  EXPECT_EQ(copy.Find("list")->items()[0].string_value(), "hello world");
  for (int i = 0; i < 1000; ++i) arena.Allocate(100);
  size_t reserved = arena.reserved_bytes();
  arena.Reset();
  EXPECT_EQ(arena.used_bytes(), 0u);
  EXPECT_LT(arena.reserved_bytes(), reserved);
  void* p = arena.Allocate(24, 8);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
}

TEST(PartitionerTest, Murmur2MatchesKafka) {
  // Vectors from Kafka's UtilsTest.testMurmur2.
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(PartitionerTest, PartitionForKeyIsInRange) {
  for (int i = 0; i < 100; ++i) {
    int32_t p = PartitionForKey(std::to_string(i), 7);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 7);
  }
}

}  // namespace
}  // namespace sluice::model
