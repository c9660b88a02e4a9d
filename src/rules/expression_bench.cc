// Micro-benchmarks of compiled expressions over a decoded 10-field event.
#include <benchmark/benchmark.h>

#include "codec/value_json.h"
#include "rules/expression.h"

namespace sluice::rules {
namespace {

constexpr std::string_view kEvent =
    R"({"id":12345,"user":"u-778","channel":"web","price":250,"qty":3,"currency":"EUR",)"
    R"("ts":"2024-05-01T12:34:56.789Z","country":"DE","tags":["a","b"],)"
    R"("payload":{"user":{"id":"u-778","email":"someone@example.com"}}})";

void Run(benchmark::State& state, std::string_view text, bool predicate) {
  model::Arena decode_arena, arena;
  codec::ValueJsonDecoder decoder;
  model::Value row = *decoder.Decode(kEvent, decode_arena);
  auto compiled = Expression::Compile(text);
  if (!compiled.ok()) {
    state.SkipWithError(compiled.status().message().c_str());
    return;
  }
  Expression& e = **compiled;
  EvalContext ctx;
  ctx.arena = &arena;
  int64_t n = 0;
  for (auto _ : state) {
    if (predicate) {
      benchmark::DoNotOptimize(e.Test(row, ctx));
    } else {
      benchmark::DoNotOptimize(e.Evaluate(row, ctx));
    }
    if (++n % 4096 == 0) arena.Reset();  // the runtime resets per batch
  }
  if (!ctx.error.empty()) state.SkipWithError(ctx.error.c_str());
  state.SetItemsProcessed(state.iterations());
}

// The same filter hand-written against the Value API, as a floor for the evaluator.
void BM_HandWrittenPriceAndChannel(benchmark::State& state) {
  model::Arena decode_arena;
  codec::ValueJsonDecoder decoder;
  model::Value row = *decoder.Decode(kEvent, decode_arena);
  uint32_t h1 = 0, h2 = 0;
  for (auto _ : state) {
    const model::Value* price = row.Find("price", &h1);
    const model::Value* channel = row.Find("channel", &h2);
    bool r = price != nullptr && price->is_int() && price->int_value() > 100 && channel != nullptr &&
             channel->is_string() && channel->string_value() == "web";
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FilterPriceAndChannel(benchmark::State& s) { Run(s, "price > 100 AND channel = 'web'", true); }
void BM_FilterInList(benchmark::State& s) { Run(s, "country IN ('FR', 'DE', 'NL') AND qty >= 2", true); }
void BM_FilterNestedPath(benchmark::State& s) { Run(s, "payload.user.id = 'u-778'", true); }
void BM_FilterLikePrefix(benchmark::State& s) { Run(s, "user LIKE 'u-7%'", true); }
void BM_FilterRegex(benchmark::State& s) { Run(s, "user RLIKE '^u-[0-9]+$'", true); }
void BM_ArithmeticProjection(benchmark::State& s) { Run(s, "price * qty * 1.19", false); }
void BM_CaseExpression(benchmark::State& s) {
  Run(s, "CASE WHEN price > 1000 THEN 'high' WHEN price > 100 THEN 'mid' ELSE 'low' END", false);
}
void BM_StringFunctions(benchmark::State& s) { Run(s, "upper(channel) || '-' || lower(currency)", false); }
void BM_TimestampTruncate(benchmark::State& s) { Run(s, "date_trunc('hour', ts)", false); }
void BM_MaskEmail(benchmark::State& s) { Run(s, "mask_email(payload.user.email)", false); }
void BM_Sha256(benchmark::State& s) { Run(s, "sha256(user)", false); }

BENCHMARK(BM_HandWrittenPriceAndChannel);
BENCHMARK(BM_FilterPriceAndChannel);
BENCHMARK(BM_FilterInList);
BENCHMARK(BM_FilterNestedPath);
BENCHMARK(BM_FilterLikePrefix);
BENCHMARK(BM_FilterRegex);
BENCHMARK(BM_ArithmeticProjection);
BENCHMARK(BM_CaseExpression);
BENCHMARK(BM_StringFunctions);
BENCHMARK(BM_TimestampTruncate);
BENCHMARK(BM_MaskEmail);
BENCHMARK(BM_Sha256);

}  // namespace
}  // namespace sluice::rules

BENCHMARK_MAIN();
