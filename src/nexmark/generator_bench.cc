// Micro-benchmarks: generator events/s and the cost of converting an event to a model::Value.
#include <benchmark/benchmark.h>

#include "nexmark/generator.h"
#include "nexmark/to_value.h"

namespace sluice::nexmark {
namespace {

void BM_Generate(benchmark::State& state) {
  GeneratorConfig c;
  c.first_event_rate = 10'000'000;
  Generator gen(c);
  std::vector<Event> batch(static_cast<size_t>(state.range(0)));
  int64_t sink = 0;
  for (auto _ : state) {
    gen.NextBatch(batch);
    sink += batch.back().timestamp_ms;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Generate)->Arg(1024);

template <bool kCopy>
void BM_ToValue(benchmark::State& state) {
  GeneratorConfig c;
  c.first_event_rate = 10'000'000;
  Generator gen(c);
  std::vector<Event> batch(1024);
  gen.NextBatch(batch);  // a representative 1:3:46 batch, converted over and over
  model::Arena arena;
  for (auto _ : state) {
    arena.Reset();
    for (const Event& e : batch) {
      model::Value v = kCopy ? ToValue(e, arena) : ToValueBorrowed(e, arena);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_ToValue<true>)->Name("BM_ToValue");
BENCHMARK(BM_ToValue<false>)->Name("BM_ToValueBorrowed");

// Generation and conversion together: what an engine source stage pays per event.
void BM_GenerateAndToValue(benchmark::State& state) {
  GeneratorConfig c;
  c.first_event_rate = 10'000'000;
  Generator gen(c);
  std::vector<Event> batch(1024);
  model::Arena arena;
  for (auto _ : state) {
    gen.NextBatch(batch);
    arena.Reset();
    for (const Event& e : batch) {
      model::Value v = ToValue(e, arena);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_GenerateAndToValue);

}  // namespace
}  // namespace sluice::nexmark

BENCHMARK_MAIN();
