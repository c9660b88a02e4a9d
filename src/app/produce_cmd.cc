// `sluice produce TOPIC`: reads NDJSON lines from stdin or --file and sends them in batches.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/client_common.h"
#include "app/commands.h"
#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "gateway/http.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice produce TOPIC [--file F] [--key-field FIELD] [--partition P] [--batch N]\n"
    "                     [--server URL]\n"
    "  sends NDJSON (one JSON event per line; blank lines skipped) from stdin or F\n"
    "  --file F           read F instead of stdin (- is stdin)\n"
    "  --key-field FIELD  use the event's top-level FIELD as its key (same key, same partition)\n"
    "  --partition P      send every event to partition P\n"
    "  --batch N          events per request, 1-10000 (default 500)";
constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;

}  // namespace

int RunProduce(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"--file", "--key-field", "--partition", "--batch"}, {});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
  if (args->positional.size() != 1) return UsageError("produce needs exactly one TOPIC", kUsage);
  const std::string topic = args->positional[0];
  auto batch_flag = IntFlag(*args, "--batch", 1, 10000);
  if (!batch_flag.ok()) return UsageError(batch_flag.status().message(), kUsage);
  const size_t batch_size = static_cast<size_t>(batch_flag->value_or(500));
  auto partition_flag = IntFlag(*args, "--partition", 0, INT32_MAX);
  if (!partition_flag.ok()) return UsageError(partition_flag.status().message(), kUsage);
  const int64_t partition = partition_flag->value_or(-1);
  auto key_field = args->Get("--key-field");
  bool envelope = key_field.has_value() || partition >= 0;

  std::ifstream file;
  std::istream* in = &std::cin;
  std::string source = "standard input";
  if (auto f = args->Get("--file"); f && *f != "-") {
    std::error_code ec;
    if (std::filesystem::is_directory(*f, ec)) {
      return FailWithCode(InvalidArgument("cannot read {}: it is a directory", *f));
    }
    file.open(*f);
    if (!file) return Fail(ErrnoStatus("cannot open " + *f, errno));
    in = &file;
    source = *f;
  }
  auto api_or = Api::Connect(*args);
  if (!api_or.ok()) return ConnectFailed(api_or.status(), kUsage);
  Api& api = **api_or;

  const std::string target = "/v1/topics/" + gateway::PercentEncode(topic) + "/events" +
                             (envelope ? "?envelope=true" : "");
  codec::JsonParser parser;
  std::string body;
  size_t in_batch = 0, batch_first_line = 1, line_no = 0, produced = 0, batches = 0;
  auto start = std::chrono::steady_clock::now();
  auto flush = [&]() -> Status {
    if (in_batch == 0) return Status::Ok();
    auto r = api.Call("POST", target, body, "application/x-ndjson");
    if (!r.ok()) {
      return Status(r.status().code(),
                    fmt::format("batch starting at input line {}: {} ({} events produced "
                                "before it)", batch_first_line, r.status().message(), produced));
    }
    produced += in_batch;
    ++batches;
    body.clear();
    in_batch = 0;
    return Status::Ok();
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (in_batch == 0) batch_first_line = line_no;
    if (envelope) {
      auto v = parser.Parse(line);
      if (!v.ok()) return Fail(v.status().WithContext(fmt::format("input line {}", line_no)));
      codec::JsonWriter w;
      w.BeginObject();
      if (key_field) {
        const auto* k = v->Find(*key_field);
        if (k != nullptr && !k->is_null()) {
          w.Key("key");
          if (k->is_string()) {
            w.String(k->text());
          } else {
            w.Raw(k->ToJson());
          }
        }
      }
      if (partition >= 0) w.Key("partition").Int(partition);
      w.Key("value").Raw(v->ToJson());
      w.EndObject();
      body += w.str();
    } else {
      body += line;
    }
    body.push_back('\n');
    ++in_batch;
    if (in_batch >= batch_size || body.size() >= kMaxBatchBytes) {
      Status st = flush();
      if (!st.ok()) return Fail(st);
    }
  }
  if (in->bad()) {
    // A read error is not the end of the input: nothing after it was sent.
    return Fail(Status(ErrorCode::kInternal,
                       fmt::format("reading {} failed after line {} ({} events produced; the "
                                   "{} read since were not sent)",
                                   source, line_no, produced, in_batch)));
  }
  Status st = flush();
  if (!st.ok()) return Fail(st);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(stderr, "produced {} events to {} in {} requests ({:.2f} s)\n", produced, topic,
             batches, secs);
  return 0;
}

}  // namespace sluice::app
