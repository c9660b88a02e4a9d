// Tests for AggregateRow: the flat, switch-dispatched row must agree with the Accumulators.
#include "stream/aggregate_row.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace sluice::stream {
namespace {

using model::Value;

std::vector<AggregateSpec> EveryKind() {
  std::vector<AggregateSpec> specs;
  for (int k = 0; k < kAggregateKindCount; ++k) {
    AggregateSpec s;
    s.kind = static_cast<AggregateKind>(k);
    specs.push_back(s);
  }
  return specs;
}

// Rows of `columns` inputs: ints, doubles, strings and nulls.
std::vector<std::vector<Value>> Rows(model::Arena& arena, size_t columns, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < n; ++i) {
    std::vector<Value> row;
    for (size_t c = 0; c < columns; ++c) {
      switch (rng() % 5) {
        case 0: row.push_back(Value::Null()); break;
        case 1: row.push_back(Value::Double(static_cast<double>(rng() % 64) / 4)); break;
        case 2: row.push_back(arena.CopyStringValue(std::to_string(rng() % 30))); break;
        default: row.push_back(Value::Int(static_cast<int64_t>(rng() % 200) - 100)); break;
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST(AggregateRowTest, LayoutSizesInlineSlotsCompactly) {
  auto layout = AggregateRowLayout::Make({{AggregateKind::kCount}, {AggregateKind::kMax}});
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->row_bytes(), 8u + 16u);
  EXPECT_TRUE(layout->all_inline());
  EXPECT_FALSE(AggregateRowLayout::Make({}).ok());
  AggregateSpec bad;
  bad.kind = AggregateKind::kApproxPercentile;
  bad.percentile = 2;
  EXPECT_FALSE(AggregateRowLayout::Make({bad}).ok());
}

TEST(AggregateRowTest, AgreesWithOneAccumulatorPerAggregate) {
  auto layout = AggregateRowLayout::Make(EveryKind());
  ASSERT_TRUE(layout.ok());
  model::Arena arena;
  const auto rows = Rows(arena, layout->size(), 500, 1);
  AggregateRow row(*layout);
  std::vector<std::unique_ptr<Accumulator>> accs;
  for (size_t i = 0; i < layout->size(); ++i) accs.push_back(MakeAccumulator(layout->spec(i)));
  int64_t ts = 0;
  for (const auto& r : rows) {
    row.Add(r, ts % 17);
    for (size_t i = 0; i < accs.size(); ++i) accs[i]->Add(r[i], ts % 17);
    ++ts;
  }
  std::vector<Value> results(layout->size());
  row.Results(arena, results);
  for (size_t i = 0; i < accs.size(); ++i) {
    SCOPED_TRACE(AggregateKindName(layout->spec(i).kind));
    const Value expected = accs[i]->Result(arena);
    EXPECT_EQ(expected.type(), results[i].type());
    EXPECT_TRUE(expected.Equals(results[i]));
  }
  EXPECT_EQ(row.error(), accs[static_cast<int>(AggregateKind::kSum)]->error());
}

// InputError is what operators report per input; it must name exactly the inputs Add ignores,
// with the reason error() then keeps.
TEST(AggregateRowTest, InputErrorNamesExactlyTheInputsAddIgnores) {
  const Value item = Value::Int(1);
  const std::vector<Value> inputs = {
      Value::Null(),         Value::Int(3),        Value::Double(2.5),
      Value::Double(NAN),    Value::Double(INFINITY), Value::String("s"),
      Value::Array({&item, 1}), Value::Object({})};
  for (int k = 0; k < kAggregateKindCount; ++k) {
    AggregateSpec spec;
    spec.kind = static_cast<AggregateKind>(k);
    auto layout = AggregateRowLayout::Make({spec});
    ASSERT_TRUE(layout.ok());
    for (const Value& v : inputs) {
      SCOPED_TRACE(
          fmt::format("{}({})", AggregateKindName(spec.kind), model::ValueTypeName(v.type())));
      AggregateRow row(*layout);
      row.Add({&v, 1}, 0);
      EXPECT_EQ(layout->InputError({&v, 1}), row.error());
    }
  }
  AggregateSpec sum;
  sum.kind = AggregateKind::kSum;
  auto layout = AggregateRowLayout::Make({sum});
  ASSERT_TRUE(layout.ok());
  const Value s = Value::String("x");
  EXPECT_EQ(layout->InputError({&s, 1}), "sum: ignored a string input");
}

TEST(AggregateRowTest, MergeSerializeAndDeserialize) {
  auto layout = AggregateRowLayout::Make(EveryKind());
  ASSERT_TRUE(layout.ok());
  model::Arena arena;
  const auto rows = Rows(arena, layout->size(), 300, 2);
  AggregateRow whole(*layout), a(*layout), b(*layout);
  for (size_t i = 0; i < rows.size(); ++i) {
    whole.Add(rows[i], static_cast<int64_t>(i % 7));
    (i < 120 ? a : b).Add(rows[i], static_cast<int64_t>(i % 7));
  }
  a.Merge(b);
  std::vector<Value> expected(layout->size()), merged(layout->size()), restored(layout->size());
  whole.Results(arena, expected);
  a.Results(arena, merged);
  std::string bytes;
  a.Serialize(bytes);
  auto back = AggregateRow::Deserialize(*layout, bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  back->Results(arena, restored);
  for (size_t i = 0; i < layout->size(); ++i) {
    SCOPED_TRACE(AggregateKindName(layout->spec(i).kind));
    EXPECT_TRUE(expected[i].Equals(merged[i]));
    EXPECT_TRUE(merged[i].Equals(restored[i]));
  }
  std::string again;
  back->Serialize(again);
  EXPECT_EQ(bytes, again);
  for (size_t len = 0; len < bytes.size(); len += 7) {
    EXPECT_FALSE(AggregateRow::Deserialize(*layout, bytes.substr(0, len)).ok());
  }
  // Another layout refuses the bytes.
  auto other = AggregateRowLayout::Make({{AggregateKind::kCount}});
  EXPECT_FALSE(AggregateRow::Deserialize(*other, bytes).ok());
}

TEST(AggregateRowTest, RawMemoryApiAndMove) {
  auto layout = AggregateRowLayout::Make({{AggregateKind::kCountAll}, {AggregateKind::kLast}});
  ASSERT_TRUE(layout.ok());
  alignas(8) std::byte mem[64];
  layout->Init(mem);
  const Value in[] = {Value::Null(), Value::String("a long string that needs the heap")};
  layout->Add(mem, in, 3);
  EXPECT_GT(layout->MemoryBytes(mem), layout->row_bytes());
  model::Arena arena;
  Value out[2];
  layout->Results(mem, arena, out);
  EXPECT_EQ(out[0].int_value(), 1);
  EXPECT_EQ(out[1].string_value(), "a long string that needs the heap");
  layout->Reset(mem);
  EXPECT_EQ(layout->MemoryBytes(mem), layout->row_bytes());
  layout->Destroy(mem);

  AggregateRow r1(*layout);
  r1.Add(in, 1);
  AggregateRow r2 = std::move(r1);
  AggregateRow r3(*layout);
  r3 = std::move(r2);
  r3.Results(arena, out);
  EXPECT_EQ(out[0].int_value(), 1);
}

}  // namespace
}  // namespace sluice::stream
