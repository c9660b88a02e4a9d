// The seam between `sluice bench nexmark` and the stream engine: the command runs the engine
// through an EngineRunner handed to it by main(), so this component does not depend on the
// engine and there is no global registry.
//
// Wiring (for whoever lands the engine's Nexmark pipelines): build a runner that takes the
// options, constructs Generator(options.generator) as the in-process source, feeds
// ToValue(event, arena) rows through the pipeline for options.query into a discarding sink,
// and fills BenchResult (events consumed, output rows, the sum of RowChecksum over output rows
// in SELECT column order, latency samples). Then pass it in src/app/main.cc:
//   if (cmd == "bench") return sluice::app::RunBench(args, MakeNexmarkEngineRunner());
// The command times the call (wall and process CPU) and prints the JSON line; an empty runner
// makes the engine path fail with "engine path not yet wired" (exit code 2).
#pragma once

#include <functional>

#include "base/status.h"
#include "nexmark/bench_types.h"

namespace sluice::nexmark {

// Runs options.query over options.generator's events to completion, on the calling thread or
// its own shards, and returns when every output row has been emitted. Errors: kInvalidArgument
// for a query the engine cannot run, anything the engine reports.
using EngineRunner = std::function<Result<BenchResult>(const BenchOptions&)>;

}  // namespace sluice::nexmark
