// SpillStore micro-benchmarks: a regular join's access pattern (find a key, append an event,
// shrink after each batch) with the whole state in memory, and with a budget that holds a
// fraction of the keys so most accesses read a key back from RocksDB.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "stream/spill_store.h"
#include "stream/window_operator.h"  // StringMap

namespace sluice::stream {
namespace {

struct StringCodec {
  static void Encode(const std::string& v, std::string& out) { out.append(v); }
  static bool Decode(std::string_view in, std::string& v) {
    v.assign(in);
    return true;
  }
  static size_t Bytes(const std::string& v) { return v.size(); }
};
using Store = SpillStore<std::string, StringCodec>;

// range(0): keys; range(1): budget as a percentage of the state (0: no budget).
void BM_FindAppendShrink(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const int64_t percent = state.range(1);
  std::string dir = (std::filesystem::temp_directory_path() / "sluice-spill-bench").string();
  const size_t value = 100;
  size_t total = keys * (value + Store::kSlotOverhead + 8);
  Store s({.memory_budget = percent == 0 ? 0 : total * percent / 100, .dir = dir, .name = "b"});
  std::vector<std::string> names;
  for (int i = 0; i < keys; ++i) {
    names.push_back(fmt::format("{:08}", i));
    Store::Slot* slot = s.Add(names.back());
    slot->value.assign(value, 'x');
    s.AddBytes(slot, value);
    if (i % 64 == 0) s.Shrink();
  }
  s.Shrink();
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> pick(0, keys - 1);
  int n = 0;
  for (auto _ : state) {
    Store::Slot* slot = s.Find(names[pick(rng)]);
    benchmark::DoNotOptimize(slot->value.data());
    slot->stamp = n;
    if (++n % 64 == 0) s.Shrink();  // a batch of events
  }
  state.counters["unspills_per_op"] =
      static_cast<double>(s.stats().unspills) / static_cast<double>(state.iterations());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
// The map regular joins used before SpillStore (window_operator.h's StringMap), same pattern.
void BM_StringMapFind(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  StringMap<std::string> map;
  std::vector<std::string> names;
  for (int i = 0; i < keys; ++i) {
    names.push_back(fmt::format("{:08}", i));
    map[names.back()].assign(100, 'x');
  }
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> pick(0, keys - 1);
  for (auto _ : state) {
    auto it = map.find(names[pick(rng)]);
    benchmark::DoNotOptimize(it->second.data());
  }
}
BENCHMARK(BM_StringMapFind)->Arg(100'000);

BENCHMARK(BM_FindAppendShrink)->Args({100'000, 0})->Args({100'000, 50})->Args({100'000, 10});

}  // namespace
}  // namespace sluice::stream

BENCHMARK_MAIN();
