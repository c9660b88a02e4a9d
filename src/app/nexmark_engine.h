// The stream engine's side of `sluice bench nexmark`: each supported query as a pipeline spec
// (docs/pipelines.md), run by a TaskGraph fed straight from the in-process generator into a
// discarding output — the setup the published Nexmark suites use.
#pragma once

#include <string>
#include <string_view>

#include "nexmark/engine_hook.h"

namespace sluice::app {

// The pipeline spec the engine runs for `query`; empty when the engine has none.
std::string NexmarkPipelineSpec(std::string_view query);
nexmark::EngineRunner MakeNexmarkEngineRunner();

}  // namespace sluice::app
