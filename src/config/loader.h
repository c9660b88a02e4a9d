// LoadServerConfig: builds a ServerConfig from defaults, a YAML file, SLUICE_* environment
// variables and command-line flags, in that order (later wins), and validates it.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/server_config.h"

namespace sluice::config {

// `args` are the flags of `sluice serve` only (no program or subcommand name); the caller
// removes flags it handles itself (--roles, --print-config, --help) first.
//   --config FILE       YAML file (else $SLUICE_CONFIG, else none)
//   --data-dir DIR, --http-listen HOST:PORT, --log BACKEND, --shards N,
//   --log-level LEVEL, --log-format human|json, --insecure[=true|false]
//   --set key.path=VALUE  any YAML key, e.g. --set store.retention_ms=-1,
//                         --set kafka.properties.security.protocol=SSL
// Both "--flag value" and "--flag=value" work. `env` is the process environment (pass
// ProcessEnvironment()); SLUICE_<PATH> with the YAML path upper-cased and '.' as '_'
// (SLUICE_HTTP_LISTEN), and SLUICE_KAFKA_PROPERTIES_<NAME> for kafka.properties.<name> with
// NAME lower-cased and '_' read as '.'.
// Errors: kInvalidArgument naming the source, the key and the reason, e.g.
//   "config file x.yaml: http.max_event_bytes: 'abc' is not an integer",
//   "unknown key 'htp' in x.yaml (known: data_dir, ...)", "--shards: must be between 0 and 256".
// Unknown keys in the file and unknown flags are errors. Unknown SLUICE_* environment variables
// are not (Kubernetes injects SLUICE_PORT and friends for a Service named "sluice"); they are
// listed in `warnings` when it is not null.
Result<ServerConfig> LoadServerConfig(std::span<const std::string> args,
                                      const std::map<std::string, std::string>& env,
                                      std::vector<std::string>* warnings = nullptr);

// A copy of this process's environment.
std::map<std::string, std::string> ProcessEnvironment();

// The flag list above, for `sluice serve --help`.
std::string_view ServerFlagsUsage();

}  // namespace sluice::config
