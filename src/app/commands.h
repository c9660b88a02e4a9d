// The `sluice` subcommands. Each takes the arguments after its own name and returns the process
// exit code: 0 success, 1 runtime failure (server error, connection refused), 2 usage error.
#pragma once

#include <string>
#include <vector>

#include "nexmark/engine_hook.h"

namespace sluice::app {

int RunServe(const std::vector<std::string>& args);
int RunTopic(const std::vector<std::string>& args);
int RunProduce(const std::vector<std::string>& args);
int RunConsume(const std::vector<std::string>& args);
// `sluice apikey create PRINCIPAL [--id ID]`: prints a new key (once) and the policy entry.
int RunApiKey(const std::vector<std::string>& args);
// `sluice bench nexmark --query qN --events N [--baseline] [--rate R]`: one JSON line of figures.
// Without --baseline it runs `engine`; an empty runner means the engine path is not wired yet.
int RunBench(const std::vector<std::string>& args, const nexmark::EngineRunner& engine);
// `sluice group list|describe|delete|reset`: consumer groups' positions and lag (docs/cli.md).
int RunGroup(const std::vector<std::string>& args);
// `sluice pipeline deploy|validate|list|describe|pause|resume|delete` (docs/pipelines.md).
int RunPipeline(const std::vector<std::string>& args);

}  // namespace sluice::app
