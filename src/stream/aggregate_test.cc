// Tests for the aggregate functions through the Accumulator interface: every kind, NULL handling,
// empty groups, int overflow, merge, serialization round trips and corrupt state.
#include "stream/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace sluice::stream {
namespace {

using model::Value;

AggregateSpec Spec(AggregateKind kind) {
  AggregateSpec s;
  s.kind = kind;
  return s;
}

struct Input {
  Value v;
  int64_t ts = 0;
};

std::unique_ptr<Accumulator> Fold(const AggregateSpec& spec, const std::vector<Input>& in) {
  auto acc = MakeAccumulator(spec);
  for (const Input& i : in) acc->Add(i.v, i.ts);
  return acc;
}

std::unique_ptr<Accumulator> Fold(const AggregateSpec& spec, const std::vector<Value>& in) {
  auto acc = MakeAccumulator(spec);
  int64_t ts = 0;
  for (const Value& v : in) acc->Add(v, ts++);
  return acc;
}

std::string Describe(const Value& v) {
  switch (v.type()) {
    case model::ValueType::kNull: return "null";
    case model::ValueType::kBool: return v.bool_value() ? "true" : "false";
    case model::ValueType::kInt: return "int " + std::to_string(v.int_value());
    case model::ValueType::kDouble: return "double " + std::to_string(v.double_value());
    case model::ValueType::kTimestamp: return "ts " + std::to_string(v.int_value());
    case model::ValueType::kString: return "'" + std::string(v.string_value()) + "'";
    case model::ValueType::kArray: {
      std::string s = "[";
      for (const Value& i : v.items()) s += Describe(i) + ",";
      return s + "]";
    }
    case model::ValueType::kObject: return "object";
  }
  return "?";
}

// Same type and Equals (Equals alone treats 1 and 1.0 alike).
void ExpectSame(const Value& expected, const Value& actual) {
  EXPECT_EQ(expected.type(), actual.type()) << Describe(expected) << " vs " << Describe(actual);
  EXPECT_TRUE(expected.Equals(actual)) << Describe(expected) << " vs " << Describe(actual);
}

Value ResultOf(const Accumulator& acc) {
  static model::Arena arena;  // results outlive the call in these tests
  return acc.Result(arena);
}

TEST(AggregateTest, ParseKnowsEveryNameAndTheAlias) {
  EXPECT_EQ(ParseAggregateName("count")->kind, AggregateKind::kCount);
  EXPECT_EQ(ParseAggregateName("COUNT_ALL")->kind, AggregateKind::kCountAll);
  EXPECT_EQ(ParseAggregateName("Sum")->kind, AggregateKind::kSum);
  EXPECT_EQ(ParseAggregateName("collect_list")->kind, AggregateKind::kCollectList);
  EXPECT_EQ(ParseAggregateName("count_distinct")->kind, AggregateKind::kCountDistinct);
  const Value p[] = {Value::Double(0.9)};
  auto a = ParseAggregateName("percentile_approx", p);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->kind, AggregateKind::kApproxPercentile);
  EXPECT_DOUBLE_EQ(a->percentile, 0.9);
  const Value hp[] = {Value::Int(10)};
  EXPECT_EQ(ParseAggregateName("approx_count_distinct", hp)->hll_precision, 10);
}

TEST(AggregateTest, ParseRejectsUnknownNamesAndBadParameters) {
  EXPECT_EQ(ParseAggregateName("median").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseAggregateName("approx_percentile").ok());  // percentile missing
  const Value big[] = {Value::Double(1.5)};
  EXPECT_FALSE(ParseAggregateName("approx_percentile", big).ok());
  const Value str[] = {Value::String("x")};
  EXPECT_FALSE(ParseAggregateName("approx_percentile", str).ok());
  const Value p30[] = {Value::Int(30)};
  EXPECT_FALSE(ParseAggregateName("approx_count_distinct", p30).ok());
  const Value one[] = {Value::Int(1)};
  EXPECT_FALSE(ParseAggregateName("sum", one).ok());  // sum takes no parameter
  const Value zero[] = {Value::Int(0)};
  EXPECT_FALSE(ParseAggregateName("collect_list", zero).ok());
}

TEST(AggregateTest, CountIgnoresNullsButCountAllDoesNot) {
  const std::vector<Value> in = {Value::Int(1), Value::Null(), Value::String("a"), Value::Null()};
  ExpectSame(Value::Int(2), ResultOf(*Fold(Spec(AggregateKind::kCount), in)));
  ExpectSame(Value::Int(4), ResultOf(*Fold(Spec(AggregateKind::kCountAll), in)));
}

TEST(AggregateTest, EmptyGroupsGiveZeroCountsAndNullOtherwise) {
  const std::vector<Value> nulls = {Value::Null(), Value::Null()};
  ExpectSame(Value::Int(0), ResultOf(*Fold(Spec(AggregateKind::kCount), nulls)));
  ExpectSame(Value::Int(0), ResultOf(*Fold(Spec(AggregateKind::kCountDistinct), nulls)));
  ExpectSame(Value::Int(0), ResultOf(*Fold(Spec(AggregateKind::kApproxCountDistinct), nulls)));
  for (auto k : {AggregateKind::kSum, AggregateKind::kAvg, AggregateKind::kMin,
                 AggregateKind::kMax, AggregateKind::kFirst, AggregateKind::kLast,
                 AggregateKind::kApproxPercentile}) {
    ExpectSame(Value::Null(), ResultOf(*Fold(Spec(k), nulls)));
    ExpectSame(Value::Null(), ResultOf(*MakeAccumulator(Spec(k))));
  }
  const Value list = ResultOf(*Fold(Spec(AggregateKind::kCollectList), nulls));
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list.items().size(), 0u);
}

TEST(AggregateTest, SumOfIntsStaysIntAndMixedBecomesDouble) {
  ExpectSame(Value::Int(6), ResultOf(*Fold(Spec(AggregateKind::kSum),
                                           {Value::Int(1), Value::Null(), Value::Int(5)})));
  ExpectSame(Value::Double(3.5), ResultOf(*Fold(Spec(AggregateKind::kSum),
                                                {Value::Int(1), Value::Double(2.5)})));
  ExpectSame(Value::Double(3.5), ResultOf(*Fold(Spec(AggregateKind::kSum),
                                                {Value::Double(2.5), Value::Int(1)})));
}

TEST(AggregateTest, SumPromotesToDoubleOnInt64Overflow) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  auto acc = Fold(Spec(AggregateKind::kSum), {Value::Int(max), Value::Int(max), Value::Int(2)});
  const Value r = ResultOf(*acc);
  ASSERT_TRUE(r.is_double());
  EXPECT_DOUBLE_EQ(r.double_value(), 2.0 * static_cast<double>(max) + 2);
  EXPECT_TRUE(acc->error().empty());
  // Negative overflow too.
  const int64_t min = std::numeric_limits<int64_t>::min();
  const Value neg = ResultOf(*Fold(Spec(AggregateKind::kSum), {Value::Int(min), Value::Int(-1)}));
  ASSERT_TRUE(neg.is_double());
  EXPECT_DOUBLE_EQ(neg.double_value(), static_cast<double>(min) - 1);
}

TEST(AggregateTest, SumAndAvgFlagNonNumbersAndKeepGoing) {
  auto acc = Fold(Spec(AggregateKind::kSum), {Value::Int(2), Value::String("x"), Value::Int(3),
                                              Value::Bool(true)});
  ExpectSame(Value::Int(5), ResultOf(*acc));
  EXPECT_EQ(acc->error(), "sum: ignored a string input");
  auto avg = Fold(Spec(AggregateKind::kAvg), {Value::Timestamp(5), Value::Int(4)});
  ExpectSame(Value::Double(4), ResultOf(*avg));
  EXPECT_EQ(avg->error(), "avg: ignored a timestamp input");
  avg->Reset();
  EXPECT_TRUE(avg->error().empty());
}

TEST(AggregateTest, AvgIsADouble) {
  ExpectSame(Value::Double(2.5), ResultOf(*Fold(Spec(AggregateKind::kAvg),
                                                {Value::Int(2), Value::Null(), Value::Int(3)})));
}

TEST(AggregateTest, MinMaxOnNumbersKeepTheInputType) {
  const std::vector<Value> in = {Value::Int(3), Value::Double(2.5), Value::Int(7), Value::Null()};
  ExpectSame(Value::Double(2.5), ResultOf(*Fold(Spec(AggregateKind::kMin), in)));
  ExpectSame(Value::Int(7), ResultOf(*Fold(Spec(AggregateKind::kMax), in)));
  // Exact comparison of ints and doubles beyond 2^53.
  const int64_t big = (int64_t{1} << 60) + 1;
  ExpectSame(Value::Int(big), ResultOf(*Fold(Spec(AggregateKind::kMax),
                                             {Value::Double(std::ldexp(1.0, 60)), Value::Int(big)})));
  // NaN is the greatest number.
  const Value nan = ResultOf(*Fold(Spec(AggregateKind::kMax),
                                   {Value::Double(std::nan("")), Value::Int(1)}));
  ASSERT_TRUE(nan.is_double());
  EXPECT_TRUE(std::isnan(nan.double_value()));
}

TEST(AggregateTest, MinMaxOnStringsAndTimestampsAndAcrossTypes) {
  const std::vector<Value> s = {Value::String("pear"), Value::String("apple"),
                                Value::String("zebra")};
  ExpectSame(Value::String("apple"), ResultOf(*Fold(Spec(AggregateKind::kMin), s)));
  ExpectSame(Value::String("zebra"), ResultOf(*Fold(Spec(AggregateKind::kMax), s)));
  ExpectSame(Value::Timestamp(5), ResultOf(*Fold(Spec(AggregateKind::kMin),
                                                 {Value::Timestamp(9), Value::Timestamp(5)})));
  // bool < number < timestamp < string.
  const std::vector<Value> mixed = {Value::String("a"), Value::Timestamp(1), Value::Int(99),
                                    Value::Bool(true)};
  ExpectSame(Value::Bool(true), ResultOf(*Fold(Spec(AggregateKind::kMin), mixed)));
  ExpectSame(Value::String("a"), ResultOf(*Fold(Spec(AggregateKind::kMax), mixed)));
}

TEST(AggregateTest, MinMaxFlagArraysAndObjects) {
  const Value items[] = {Value::Int(1)};
  auto acc = Fold(Spec(AggregateKind::kMax), {Value::Array(items), Value::Int(4)});
  ExpectSame(Value::Int(4), ResultOf(*acc));
  EXPECT_EQ(acc->error(), "max: ignored an array input");
}

TEST(AggregateTest, MinMaxOwnTheirStrings) {
  auto acc = MakeAccumulator(Spec(AggregateKind::kMax));
  {
    std::string tmp = "temporary";
    acc->Add(Value::String(tmp), 0);
    tmp.assign("XXXXXXXXX");
  }
  ExpectSame(Value::String("temporary"), ResultOf(*acc));
  EXPECT_GT(acc->MemoryBytes(), 16u);
}

TEST(AggregateTest, EmptyStringsAreValuesNotNulls) {
  const Value empty_items[] = {Value::String(""), Value::String("")};
  const std::vector<Value> in = {Value::String(""), Value::String("a"), Value::String(""),
                                 Value::Array(empty_items)};
  ExpectSame(Value::String(""), ResultOf(*Fold(Spec(AggregateKind::kMin), in)));
  ExpectSame(Value::Int(3), ResultOf(*Fold(Spec(AggregateKind::kCountDistinct), in)));
  ExpectSame(Value::String(""), ResultOf(*Fold(Spec(AggregateKind::kFirst), in)));
  const Value list = ResultOf(*Fold(Spec(AggregateKind::kCollectList), in));
  ASSERT_EQ(list.items().size(), 4u);
  EXPECT_EQ(list.items()[3].items()[1].Hash(), Value::String("").Hash());
}

TEST(AggregateTest, FirstAndLastFollowEventTimeThenArrival) {
  const std::vector<Input> in = {{Value::Int(1), 20}, {Value::Int(2), 10}, {Value::Int(3), 10},
                                 {Value::Null(), 5},  {Value::Int(4), 30}, {Value::Int(5), 30},
                                 {Value::Null(), 40}};
  // first: earliest time (10), the earlier arrival of the tie (2); nulls ignored (Flink).
  ExpectSame(Value::Int(2), ResultOf(*Fold(Spec(AggregateKind::kFirst), in)));
  // last: latest time (30), the later arrival of the tie (5); the null at 40 ignored.
  ExpectSame(Value::Int(5), ResultOf(*Fold(Spec(AggregateKind::kLast), in)));
}

TEST(AggregateTest, FirstAndLastKeepStringsArraysAndObjects) {
  model::Arena batch;
  const Value items[] = {Value::Int(1), batch.CopyStringValue("two")};
  const model::Member members[] = {{"k", Value::Array(items)}};
  const Value obj = Value::Object(members);
  auto first = MakeAccumulator(Spec(AggregateKind::kFirst));
  auto last = MakeAccumulator(Spec(AggregateKind::kLast));
  first->Add(obj, 1);
  last->Add(batch.CopyStringValue("a string"), 1);
  batch.Reset();  // the inputs' bytes are gone
  model::Arena out;
  const Value f = first->Result(out);
  ASSERT_TRUE(f.is_object());
  const Value* k = f.Find("k");
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(k->items().size(), 2u);
  EXPECT_EQ(k->items()[1].string_value(), "two");
  ExpectSame(Value::String("a string"), last->Result(out));
}

TEST(AggregateTest, CountDistinctIsExactAndTreatsOneAndOnePointZeroAlike) {
  const Value arr1[] = {Value::Int(1), Value::Int(2)};
  const Value arr2[] = {Value::Int(1), Value::Int(2)};
  const std::vector<Value> in = {Value::Int(1),       Value::Double(1.0), Value::String("a"),
                                 Value::String("a"),  Value::Null(),      Value::Array(arr1),
                                 Value::Array(arr2),  Value::Timestamp(1)};
  // 1 (= 1.0), "a", [1,2], timestamp 1.
  ExpectSame(Value::Int(4), ResultOf(*Fold(Spec(AggregateKind::kCountDistinct), in)));
  auto many = MakeAccumulator(Spec(AggregateKind::kCountDistinct));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) many->Add(Value::Int(i * 7), 0);
  }
  ExpectSame(Value::Int(5000), ResultOf(*many));
}

TEST(AggregateTest, CollectListKeepsArrivalOrderAndStopsAtItsBound) {
  AggregateSpec spec = Spec(AggregateKind::kCollectList);
  spec.max_list_items = 3;
  auto acc = Fold(spec, {Value::Int(3), Value::Null(), Value::String("x"), Value::Int(1),
                         Value::Int(9)});
  const Value r = ResultOf(*acc);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.items().size(), 3u);
  ExpectSame(Value::Int(3), r.items()[0]);
  ExpectSame(Value::String("x"), r.items()[1]);
  ExpectSame(Value::Int(1), r.items()[2]);
  EXPECT_FALSE(acc->error().empty());
}

TEST(AggregateTest, ApproxPercentileFlagsNonNumbers) {
  AggregateSpec spec = Spec(AggregateKind::kApproxPercentile);
  spec.percentile = 0.5;
  auto acc = Fold(spec, {Value::Int(10), Value::String("x"), Value::Double(INFINITY)});
  const Value r = ResultOf(*acc);
  ASSERT_TRUE(r.is_double());
  EXPECT_NEAR(r.double_value(), 10, 0.1);
  EXPECT_EQ(acc->error(), "approx_percentile: ignored a string input");
}

// ---- properties over every kind ----

std::vector<AggregateSpec> AllSpecs() {
  std::vector<AggregateSpec> specs;
  for (int k = 0; k < kAggregateKindCount; ++k) {
    AggregateSpec s = Spec(static_cast<AggregateKind>(k));
    s.percentile = 0.9;
    s.max_list_items = 50;
    specs.push_back(s);
  }
  return specs;
}

// Inputs of every kind of value, with repeats, nulls and tied event times.
std::vector<Input> MixedInputs(uint32_t seed, int n, bool numeric_only) {
  static model::Arena arena;
  std::mt19937 rng(seed);
  std::vector<Input> out;
  for (int i = 0; i < n; ++i) {
    const int64_t ts = rng() % 50;
    switch (rng() % (numeric_only ? 3 : 6)) {
      case 0: out.push_back({Value::Int(static_cast<int64_t>(rng() % 100) - 50), ts}); break;
      case 1: out.push_back({Value::Int(static_cast<int64_t>(rng() % 1000)), ts}); break;
      case 2: out.push_back({Value::Null(), ts}); break;
      case 3: out.push_back({arena.CopyStringValue(std::string(1 + rng() % 20, 'a' + rng() % 3)), ts}); break;
      case 4: out.push_back({Value::Timestamp(rng() % 1000), ts}); break;
      default: {
        auto items = arena.AllocateArray<Value>(2);
        items[0] = Value::Int(rng() % 3);
        items[1] = arena.CopyStringValue("x");
        out.push_back({Value::Array(items), ts});
        break;
      }
    }
  }
  return out;
}

std::string StateOf(const Accumulator& acc) {
  std::string s;
  acc.Serialize(s);
  return s;
}

TEST(AggregateTest, MergeEqualsAddingEverythingToOne) {
  for (bool numeric : {true, false}) {
    const auto in = MixedInputs(7, 600, numeric);
    for (const AggregateSpec& spec : AllSpecs()) {
      SCOPED_TRACE(std::string(AggregateKindName(spec.kind)) + (numeric ? " numeric" : " mixed"));
      // Three parts merged as (a + b) + c and as a + (b + c), against one accumulator.
      auto whole = MakeAccumulator(spec);
      auto a = MakeAccumulator(spec), b = MakeAccumulator(spec), c = MakeAccumulator(spec);
      auto a2 = MakeAccumulator(spec), b2 = MakeAccumulator(spec), c2 = MakeAccumulator(spec);
      for (size_t i = 0; i < in.size(); ++i) {
        whole->Add(in[i].v, in[i].ts);
        Accumulator& part = i < 200 ? *a : (i < 420 ? *b : *c);
        Accumulator& part2 = i < 200 ? *a2 : (i < 420 ? *b2 : *c2);
        part.Add(in[i].v, in[i].ts);
        part2.Add(in[i].v, in[i].ts);
      }
      a->Merge(*b);
      a->Merge(*c);
      b2->Merge(*c2);
      a2->Merge(*b2);
      model::Arena arena;
      const Value expected = whole->Result(arena);
      ExpectSame(expected, a->Result(arena));
      ExpectSame(expected, a2->Result(arena));
      EXPECT_EQ(whole->error(), a->error());
      if (spec.kind != AggregateKind::kApproxCountDistinct &&
          spec.kind != AggregateKind::kCountDistinct) {
        // Same state, byte for byte (distinct sets may differ in their stored order).
        EXPECT_EQ(StateOf(*whole), StateOf(*a));
      }
    }
  }
}

TEST(AggregateTest, SerializeRoundTripsEveryKind) {
  for (bool numeric : {true, false}) {
    const auto in = MixedInputs(11, 300, numeric);
    for (const AggregateSpec& spec : AllSpecs()) {
      SCOPED_TRACE(AggregateKindName(spec.kind));
      for (size_t n : {size_t{0}, size_t{1}, in.size()}) {
        auto acc = MakeAccumulator(spec);
        for (size_t i = 0; i < n; ++i) acc->Add(in[i].v, in[i].ts);
        const std::string bytes = StateOf(*acc);
        auto back = DeserializeAccumulator(spec, bytes);
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        model::Arena arena;
        ExpectSame(acc->Result(arena), (*back)->Result(arena));
        EXPECT_EQ(acc->error(), (*back)->error());
        EXPECT_EQ(bytes, StateOf(**back));
        // The restored accumulator keeps working.
        (*back)->Add(Value::Int(1), 0);
        acc->Add(Value::Int(1), 0);
        ExpectSame(acc->Result(arena), (*back)->Result(arena));
      }
    }
  }
}

TEST(AggregateTest, DeserializeRejectsTruncatedAndForeignState) {
  const auto in = MixedInputs(3, 200, false);
  for (const AggregateSpec& spec : AllSpecs()) {
    SCOPED_TRACE(AggregateKindName(spec.kind));
    auto acc = MakeAccumulator(spec);
    for (const Input& i : in) acc->Add(i.v, i.ts);
    const std::string bytes = StateOf(*acc);
    for (size_t len = 0; len < bytes.size(); ++len) {
      EXPECT_FALSE(DeserializeAccumulator(spec, bytes.substr(0, len)).ok()) << len;
    }
    EXPECT_FALSE(DeserializeAccumulator(spec, bytes + "x").ok());
    // Read as another kind.
    AggregateSpec other = spec;
    other.kind = spec.kind == AggregateKind::kSum ? AggregateKind::kMin : AggregateKind::kSum;
    auto r = DeserializeAccumulator(other, bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss);
  }
}

TEST(AggregateTest, DeserializeSurvivesGarbage) {
  std::mt19937 rng(5);
  const auto in = MixedInputs(9, 100, false);
  for (const AggregateSpec& spec : AllSpecs()) {
    auto acc = MakeAccumulator(spec);
    for (const Input& i : in) acc->Add(i.v, i.ts);
    const std::string good = StateOf(*acc);
    for (int round = 0; round < 2000; ++round) {
      std::string bytes = good;
      const int flips = 1 + rng() % 4;
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      auto r = DeserializeAccumulator(spec, bytes);
      if (r.ok()) {
        // Whatever decoded must be usable.
        model::Arena arena;
        (void)(*r)->Result(arena);
        std::string again;
        (*r)->Serialize(again);
        (*r)->Add(Value::Int(1), 0);
        (*r)->Merge(*acc);
      }
    }
  }
}

TEST(AggregateTest, ResetEmptiesEveryKind) {
  const auto in = MixedInputs(13, 100, false);
  for (const AggregateSpec& spec : AllSpecs()) {
    SCOPED_TRACE(AggregateKindName(spec.kind));
    auto acc = MakeAccumulator(spec);
    for (const Input& i : in) acc->Add(i.v, i.ts);
    acc->Reset();
    EXPECT_EQ(StateOf(*acc), StateOf(*MakeAccumulator(spec)));
    EXPECT_TRUE(acc->error().empty());
  }
}

TEST(AggregateTest, MemoryBytesGrowsWithHeldValues) {
  auto acc = MakeAccumulator(Spec(AggregateKind::kCountDistinct));
  const size_t empty = acc->MemoryBytes();
  for (int i = 0; i < 1000; ++i) acc->Add(Value::Int(i), 0);
  EXPECT_GT(acc->MemoryBytes(), empty + 1000 * 16);
  auto count = MakeAccumulator(Spec(AggregateKind::kCount));
  const size_t before = count->MemoryBytes();
  for (int i = 0; i < 1000; ++i) count->Add(Value::Int(i), 0);
  EXPECT_EQ(count->MemoryBytes(), before);
}

}  // namespace
}  // namespace sluice::stream
