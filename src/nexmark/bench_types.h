// The shapes shared by the Nexmark baselines, the engine seam (engine_hook.h) and
// `sluice bench nexmark`: what to run (BenchOptions), what came out (BenchResult) and the
// order-independent output checksum both paths must agree on.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "nexmark/generator_config.h"
#include "nexmark/internal/rng.h"

namespace sluice::nexmark {

struct BenchOptions {
  std::string query;          // "q0", "q1", ...
  GeneratorConfig generator;  // max_events = --events, first_event_rate = --rate
  size_t batch_size = 1024;   // events per NextBatch
  // Watermark = max event time seen - this (Flink DDL: dateTime - INTERVAL '4' SECOND).
  int64_t watermark_delay_ms = 4000;
};

struct BenchResult {
  uint64_t events = 0;       // generator events consumed (all types)
  uint64_t output_rows = 0;  // rows the query emitted
  uint64_t checksum = 0;     // wrapping sum of RowChecksum over the output rows
  // Latency samples in ns; what one sample measures is query specific (see README).
  std::vector<int64_t> latency_ns;
};

// Hash of one output row given its columns in SELECT order. Integers and timestamps (ms) as they
// are, DECIMAL(p,3) as the integer count of thousandths, strings by their length. The query
// checksum is the wrapping sum over rows, so it does not depend on output order.
inline uint64_t RowChecksum(std::initializer_list<int64_t> columns) {
  uint64_t h = 0x6a09e667f3bcc909ULL;
  for (int64_t c : columns) h = internal::Mix64(h + static_cast<uint64_t>(c));
  return h;
}

// The q-th quantile (0..1) of the samples in ms; 0 when there are none. Reorders `samples`.
inline double PercentileMs(std::vector<int64_t>& samples, double q) {
  if (samples.empty()) return 0;
  size_t k =
      std::min(samples.size() - 1, static_cast<size_t>(q * static_cast<double>(samples.size())));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                   samples.end());
  return static_cast<double>(samples[k]) / 1e6;
}

}  // namespace sluice::nexmark
