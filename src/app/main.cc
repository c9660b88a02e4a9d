// `sluice`: one binary for the server (`sluice serve`) and the client commands that talk to it.
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "app/commands.h"
#include "base/version.h"
#include "app/nexmark_engine.h"

namespace {

constexpr const char* kUsage = R"(usage: sluice <command> [args]

Server:
  serve [--config FILE] [--data-dir DIR] [--http-listen HOST:PORT] [--log kafka://HOST:PORT]
        [--auth --auth-policy FILE] [--insecure] [--print-config] ...
                                                 run the server (sluice serve --help)
  apikey create PRINCIPAL [--id ID]              new API key for the auth policy (docs/security.md)

Benchmarks:
  bench nexmark --query qN --events N [--baseline] [--rate R]
                                                 Nexmark query, one JSON line of figures

Clients (talk HTTP to a running server; --server URL or $SLUICE_SERVER,
default http://127.0.0.1:8080; for https:// URLs --ca-file PEM or $SLUICE_CA_FILE, default the
system's CAs; credentials from $SLUICE_TOKEN or $SLUICE_API_KEY):
  topic create NAME [--partitions N] [--config k=v ...]
  topic list | topic describe NAME | topic alter NAME --config k=v ... | topic delete NAME
  produce TOPIC [--file F] [--key-field F] [--partition P] [--batch N]
  consume TOPIC [--partition P] [--from-beginning | --offset N | --since TIME]
                [--group G] [--follow] [--max N]
  group list | group describe GROUP | group delete GROUP
  group reset GROUP --topic T (--to-earliest | --to-latest | --to-offset N | --to-time TIME)
              [--partition P] [--execute]
  pipeline deploy FILE [--replace] | pipeline validate FILE | pipeline list
  pipeline describe NAME | pipeline pause NAME | pipeline resume NAME | pipeline delete NAME
Add --json to print raw JSON responses; --help after a command explains it. Details:
docs/cli.md.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "serve") return sluice::app::RunServe(args);
  if (cmd == "topic" || cmd == "topics") return sluice::app::RunTopic(args);
  if (cmd == "produce") return sluice::app::RunProduce(args);
  if (cmd == "apikey") return sluice::app::RunApiKey(args);
  if (cmd == "consume") return sluice::app::RunConsume(args);
  if (cmd == "group" || cmd == "groups") return sluice::app::RunGroup(args);
  if (cmd == "bench") return sluice::app::RunBench(args, sluice::app::MakeNexmarkEngineRunner());
  if (cmd == "pipeline" || cmd == "pipelines") return sluice::app::RunPipeline(args);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    fmt::print("sluice {}\n", sluice::kVersion);
    return 0;
  }
  fmt::print(stderr, "sluice: unknown command '{}'\n\n{}", cmd, kUsage);
  return 2;
}
