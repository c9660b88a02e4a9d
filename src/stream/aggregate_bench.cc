// Micro-benchmarks: nanoseconds per Add for each aggregate, through the AggregateRow fast path
// and through the virtual Accumulator, plus a q5/q7-shaped case (count or max per key over many
// rows). Run: build/aggregate_bench; figures go to docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "stream/aggregate.h"
#include "stream/aggregate_row.h"

namespace sluice::stream {
namespace {

using model::Value;

constexpr size_t kInputs = 4096;  // power of two

std::vector<Value> Ints(uint64_t range) {
  std::mt19937_64 rng(1);
  std::vector<Value> v;
  for (size_t i = 0; i < kInputs; ++i) v.push_back(Value::Int(static_cast<int64_t>(rng() % range)));
  return v;
}

AggregateSpec Spec(AggregateKind kind) {
  AggregateSpec s;
  s.kind = kind;
  return s;
}

// One aggregate in a row, fed int inputs.
void BM_RowAdd(benchmark::State& state, AggregateKind kind, uint64_t range) {
  auto layout = AggregateRowLayout::Make({Spec(kind)});
  AggregateRow row(*layout);
  const auto in = Ints(range);
  size_t i = 0;
  for (auto _ : state) {
    row.Add(std::span<const Value>(&in[i & (kInputs - 1)], 1), static_cast<int64_t>(i));
    ++i;
  }
  benchmark::DoNotOptimize(row.MemoryBytes());
  state.SetItemsProcessed(state.iterations());
}

void BM_AccumulatorAdd(benchmark::State& state, AggregateKind kind, uint64_t range) {
  auto acc = MakeAccumulator(Spec(kind));
  const auto in = Ints(range);
  size_t i = 0;
  for (auto _ : state) {
    acc->Add(in[i & (kInputs - 1)], static_cast<int64_t>(i));
    ++i;
  }
  benchmark::DoNotOptimize(acc->MemoryBytes());
  state.SetItemsProcessed(state.iterations());
}

constexpr uint64_t kWide = uint64_t{1} << 40;

BENCHMARK_CAPTURE(BM_RowAdd, count, AggregateKind::kCount, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, sum, AggregateKind::kSum, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, max, AggregateKind::kMax, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, avg, AggregateKind::kAvg, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, last, AggregateKind::kLast, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, count_distinct_1k, AggregateKind::kCountDistinct, 1000);
BENCHMARK_CAPTURE(BM_RowAdd, approx_count_distinct, AggregateKind::kApproxCountDistinct, kWide);
BENCHMARK_CAPTURE(BM_RowAdd, approx_percentile, AggregateKind::kApproxPercentile, 1000000);
BENCHMARK_CAPTURE(BM_AccumulatorAdd, count, AggregateKind::kCount, kWide);
BENCHMARK_CAPTURE(BM_AccumulatorAdd, max, AggregateKind::kMax, kWide);
BENCHMARK_CAPTURE(BM_AccumulatorAdd, count_distinct_1k, AggregateKind::kCountDistinct, 1000);
BENCHMARK_CAPTURE(BM_AccumulatorAdd, approx_count_distinct, AggregateKind::kApproxCountDistinct,
                  kWide);
BENCHMARK_CAPTURE(BM_AccumulatorAdd, approx_percentile, AggregateKind::kApproxPercentile,
                  1000000);

// count_distinct while the set keeps growing (one heap copy per new value only for strings;
// ints are inline, so this measures the table).
void BM_CountDistinctGrowing(benchmark::State& state) {
  auto acc = MakeAccumulator(Spec(AggregateKind::kCountDistinct));
  int64_t i = 0;
  for (auto _ : state) {
    acc->Add(Value::Int(i++), 0);
    if ((i & ((1 << 20) - 1)) == 0) acc->Reset();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CountDistinctGrowing);

// q5/q7 shape: rows for `keys` keys (one window), each event picks a key at random and folds
// {count(*), max(price)} into its row. Includes the cache misses of a real keyed state.
void BM_KeyedCountMax(benchmark::State& state) {
  const auto keys = static_cast<size_t>(state.range(0));
  auto layout = AggregateRowLayout::Make({Spec(AggregateKind::kCountAll), Spec(AggregateKind::kMax)});
  // Rows inline in one array, as a state table would keep them.
  std::vector<std::byte> mem(layout->row_bytes() * keys);
  for (size_t k = 0; k < keys; ++k) layout->Init(mem.data() + k * layout->row_bytes());
  std::mt19937_64 rng(2);
  std::vector<std::pair<uint32_t, Value>> events;
  for (size_t i = 0; i < kInputs; ++i) {
    events.emplace_back(static_cast<uint32_t>(rng() % keys),
                        Value::Int(static_cast<int64_t>(rng() % 100000)));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [key, price] = events[i & (kInputs - 1)];
    const Value in[2] = {Value::Null(), price};
    layout->Add(mem.data() + key * layout->row_bytes(), in, static_cast<int64_t>(i));
    ++i;
  }
  for (size_t k = 0; k < keys; ++k) layout->Destroy(mem.data() + k * layout->row_bytes());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyedCountMax)->Arg(100)->Arg(10000)->Arg(1000000);

// Result + Serialize of a finished row (window close, checkpoint).
void BM_RowResultAndSerialize(benchmark::State& state) {
  auto layout = AggregateRowLayout::Make({Spec(AggregateKind::kCountAll), Spec(AggregateKind::kSum),
                                          Spec(AggregateKind::kMax), Spec(AggregateKind::kAvg)});
  AggregateRow row(*layout);
  const auto in = Ints(1000);
  for (size_t i = 0; i + 4 <= kInputs; i += 4) row.Add(std::span<const Value>(&in[i], 4), 0);
  model::Arena arena;
  Value out[4];
  std::string bytes;
  for (auto _ : state) {
    row.Results(arena, out);
    bytes.clear();
    row.Serialize(bytes);
    benchmark::DoNotOptimize(bytes.data());
    arena.Reset();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RowResultAndSerialize);

}  // namespace
}  // namespace sluice::stream

BENCHMARK_MAIN();
