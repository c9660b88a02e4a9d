// The `sluice` subcommands. Each takes the arguments after its own name and returns the process
// exit code: 0 success, 1 runtime failure (server error, connection refused), 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

int RunServe(const std::vector<std::string>& args);
int RunTopic(const std::vector<std::string>& args);
int RunProduce(const std::vector<std::string>& args);
int RunConsume(const std::vector<std::string>& args);
// `sluice apikey create PRINCIPAL [--id ID]`: prints a new key (once) and the policy entry.
int RunApiKey(const std::vector<std::string>& args);

}  // namespace sluice::app
