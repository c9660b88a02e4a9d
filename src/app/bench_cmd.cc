// `sluice bench nexmark`: runs a Nexmark query (engine or hand-written baseline) over the
// in-process generator and prints one JSON line of throughput, CPU and latency figures.
#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <cstdlib>

#include "app/client_common.h"
#include "app/commands.h"
#include "base/clock.h"
#include "nexmark/baseline.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice bench nexmark --query qN --events N [--baseline] [--rate EVENTS_PER_S]\n"
    "                     [--batch N]\n"
    "  --rate: event-time rate (default 10000000, the Nexmark V1 setting; V2 uses 100000)\n"
    "  --baseline: run the hand-written fused loop (q0-q5, q7, q8) instead of the engine";

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int RunBench(const std::vector<std::string>& argv, const nexmark::EngineRunner& engine) {
  auto args = ParseArgs(argv, {"--query", "--events", "--rate", "--batch"}, {"--baseline"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
  if (args->positional.size() != 1 || args->positional[0] != "nexmark") {
    return UsageError("expected 'bench nexmark'", kUsage);
  }
  auto query = args->Get("--query");
  auto events = args->Get("--events");
  if (!query || !events) return UsageError("--query and --events are required", kUsage);

  nexmark::BenchOptions options;
  options.query = *query;
  auto n = IntFlag(*args, "--events", 1, INT64_MAX);
  if (!n.ok()) return UsageError(n.status().message(), kUsage);
  options.generator.max_events = static_cast<uint64_t>(**n);
  options.generator.first_event_rate = 10'000'000;
  auto rate = IntFlag(*args, "--rate", 1, INT64_MAX);
  if (!rate.ok()) return UsageError(rate.status().message(), kUsage);
  if (rate->has_value()) options.generator.first_event_rate = static_cast<double>(**rate);
  auto batch = IntFlag(*args, "--batch", 1, 1'000'000);
  if (!batch.ok()) return UsageError(batch.status().message(), kUsage);
  if (batch->has_value()) options.batch_size = static_cast<size_t>(**batch);
  bool baseline = args->Has("--baseline");
  if (!baseline && !engine) {
    fmt::print(stderr, "sluice: bench nexmark: engine path not yet wired (use --baseline)\n");
    return 2;
  }

  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  Result<nexmark::BenchResult> result =
      baseline ? nexmark::RunBaseline(options, SystemClock::Instance()) : engine(options);
  auto t1 = std::chrono::steady_clock::now();
  double cpu = CpuSeconds() - cpu0;
  if (!result.ok()) {
    if (result.status().code() == ErrorCode::kInvalidArgument) {
      return UsageError(result.status().message(), kUsage);
    }
    return Fail(result.status());
  }
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  double p99 = nexmark::PercentileMs(result->latency_ns, 0.99);
  auto per = [](double count, double secs) { return secs > 0 ? count / secs : 0.0; };
  fmt::print(
      "{{\"query\":\"{}\",\"events\":{},\"seconds\":{:.6f},\"events_per_second\":{:.0f},"
      "\"cpu_seconds\":{:.6f},\"events_per_cpu_second\":{:.0f},\"p99_latency_ms\":{:.3f},"
      "\"mode\":\"{}\",\"output_rows\":{},\"checksum\":\"{:016x}\",\"event_rate\":{:.0f}}}\n",
      options.query, result->events, seconds, per(static_cast<double>(result->events), seconds),
      cpu, per(static_cast<double>(result->events), cpu), p99, baseline ? "baseline" : "engine",
      result->output_rows, result->checksum, options.generator.first_event_rate);
  return 0;
}

}  // namespace sluice::app
