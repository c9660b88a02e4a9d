// `sluice pipeline deploy|validate|list|describe|pause|resume|delete`.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "app/client_common.h"
#include "app/commands.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice pipeline deploy FILE [--replace]   (FILE: YAML or JSON spec; - reads stdin)\n"
    "       sluice pipeline validate FILE\n"
    "       sluice pipeline list\n"
    "       sluice pipeline describe NAME\n"
    "       sluice pipeline pause NAME | resume NAME | delete NAME\n"
    "  common: [--server URL] [--json]";

std::string Text(const codec::JsonValue* v) {
  if (v == nullptr) return "";
  return v->is_string() ? v->text() : v->ToJson();
}

int64_t Num(const codec::JsonValue* v) { return v == nullptr ? 0 : v->AsInt64().value_or(0); }

Result<std::string> ReadSpec(const std::string& path) {
  std::stringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return NotFound("cannot read {}", path);
    buf << in.rdbuf();
  }
  return buf.str();
}

std::string MediaTypeFor(const std::string& path, const std::string& text) {
  if (path.ends_with(".json")) return "application/json";
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i != std::string::npos && text[i] == '{') return "application/json";
  return "application/yaml";
}

void PrintSummary(const codec::JsonValue& p) {
  fmt::print("{:<28} {:>4}  {:<8} {:>12} {:>12} {:>8} {:>8} {:>10}\n", Text(p.Find("name")),
             Num(p.Find("version")), Text(p.Find("state")), Num(p.Find("events_in")),
             Num(p.Find("records_out")), Num(p.Find("errors")), Num(p.Find("late")),
             Num(p.Find("lag")));
}

void PrintHeader() {
  fmt::print("{:<28} {:>4}  {:<8} {:>12} {:>12} {:>8} {:>8} {:>10}\n", "NAME", "VER", "STATE",
             "EVENTS_IN", "RECORDS_OUT", "ERRORS", "LATE", "LAG");
}

}  // namespace

int RunPipeline(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {}, {"--replace"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
  if (args->positional.empty()) return UsageError("missing pipeline subcommand", kUsage);
  const std::string sub = args->positional[0];
  bool json = args->Has("--json");
  auto one = [&]() -> std::optional<std::string> {
    if (args->positional.size() != 2) return std::nullopt;
    return args->positional[1];
  };
  auto api_or = Api::Connect(*args);
  if (!api_or.ok()) return ConnectFailed(api_or.status(), kUsage);
  Api& api = **api_or;

  if (sub == "deploy" || sub == "validate") {
    auto file = one();
    if (!file) return UsageError(fmt::format("pipeline {} needs exactly one FILE", sub), kUsage);
    auto text = ReadSpec(*file);
    if (!text.ok()) return Fail(text.status());
    std::string target = "/v1/pipelines";
    if (sub == "validate") {
      target += "?dry_run=true";
    } else if (args->Has("--replace")) {
      target += "?replace=true";
    }
    auto r = api.Call("POST", target, *text, MediaTypeFor(*file, *text));
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else if (sub == "validate") {
      fmt::print("valid\n");
    } else {
      fmt::print("deployed pipeline {} version {}\n", Text(r->Find("name")), Num(r->Find("version")));
    }
    return 0;
  }
  if (sub == "list") {
    auto r = api.Call("GET", "/v1/pipelines");
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
      return 0;
    }
    const auto* list = r->Find("pipelines");
    if (list == nullptr || list->items().empty()) {
      fmt::print("no pipelines\n");
      return 0;
    }
    PrintHeader();
    for (const auto& p : list->items()) PrintSummary(p);
    return 0;
  }
  auto name = one();
  if (!name) return UsageError(fmt::format("pipeline {} needs exactly one NAME", sub), kUsage);
  if (sub == "describe") {
    auto r = api.Call("GET", "/v1/pipelines/" + *name);
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
      return 0;
    }
    PrintHeader();
    PrintSummary(*r);
    if (const auto* tasks = r->Find("tasks")) {
      for (const auto& t : tasks->items()) {
        fmt::print("\ntask {}: {}{} watermark {}\n", Num(t.Find("task")), Text(t.Find("state")),
                   t.Find("error") ? " (" + Text(t.Find("error")) + ")" : "",
                   Text(t.Find("watermark")));
        fmt::print("  {:<24} {:>12} {:>12} {:>8} {:>8} {:>12}\n", "OPERATOR", "ROWS_IN",
                   "ROWS_OUT", "ERRORS", "LATE", "STATE_BYTES");
        if (const auto* ops = t.Find("operators")) {
          for (const auto& o : ops->items()) {
            fmt::print("  {:<24} {:>12} {:>12} {:>8} {:>8} {:>12}\n", Text(o.Find("name")),
                       Num(o.Find("rows_in")), Num(o.Find("rows_out")), Num(o.Find("errors")),
                       Num(o.Find("late")), Num(o.Find("state_bytes")));
          }
        }
        fmt::print("  {:<24} {:>4} {:>12} {:>14} {:>10}\n", "SOURCE", "PART", "POSITION",
                   "HIGH_WATERMARK", "LAG");
        if (const auto* srcs = t.Find("sources")) {
          for (const auto& s : srcs->items()) {
            fmt::print("  {:<24} {:>4} {:>12} {:>14} {:>10}\n",
                       Text(s.Find("source")) + " (" + Text(s.Find("topic")) + ")",
                       Num(s.Find("partition")), Num(s.Find("position")),
                       Num(s.Find("high_watermark")), Num(s.Find("lag")));
          }
        }
      }
    }
    return 0;
  }
  if (sub == "pause" || sub == "resume") {
    auto r = api.Call("POST", "/v1/pipelines/" + *name + "/" + sub);
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else {
      fmt::print("pipeline {} {}\n", *name, sub == "pause" ? "paused" : "resumed");
    }
    return 0;
  }
  if (sub == "delete") {
    auto r = api.Call("DELETE", "/v1/pipelines/" + *name);
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else {
      fmt::print("deleted pipeline {}\n", *name);
    }
    return 0;
  }
  return UsageError(fmt::format("unknown pipeline subcommand '{}'", sub), kUsage);
}

}  // namespace sluice::app
