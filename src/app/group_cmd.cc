// `sluice group list|describe|reset`: consumer groups' committed positions and how far behind
// they are, and moving them (as kafka-consumer-groups.sh does).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "app/client_common.h"
#include "app/commands.h"
#include "codec/json_writer.h"
#include "gateway/http.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice group list\n"
    "       sluice group describe GROUP\n"
    "       sluice group delete GROUP\n"
    "       sluice group reset GROUP --topic T (--to-earliest | --to-latest | --to-offset N |\n"
    "                          --to-time TIME) [--partition P] [--execute]\n"
    "  describe: each committed partition's offset, log start, high watermark and lag\n"
    "  reset: moves the group's positions on T (every partition, or P); prints the plan and\n"
    "         changes nothing without --execute. TIME: epoch ms, RFC 3339 or a duration back\n"
    "         from now (90s, 15m, 2h, 7d). Stop the group's consumers first.\n"
    "  common: [--server URL] [--json]";

int64_t Num(const codec::JsonValue* v, int64_t fallback = 0) {
  if (v == nullptr) return fallback;
  return v->AsInt64().value_or(fallback);
}

std::string NumOrDash(const codec::JsonValue* v) {
  if (v == nullptr || v->is_null()) return "-";
  return std::to_string(Num(v));
}

int Describe(Api& api, const std::string& group, bool json) {
  auto r = api.Call("GET", "/v1/groups/" + gateway::PercentEncode(group) + "/offsets");
  if (!r.ok()) return Fail(r.status());
  if (json) {
    fmt::print("{}\n", api.last_body());
    return 0;
  }
  const auto* offsets = r->Find("offsets");
  if (offsets == nullptr || offsets->items().empty()) {
    fmt::print("group {} has no committed offsets\n", group);
    return 0;
  }
  fmt::print("Group: {}\nLag:   {}\n\n", group, Num(r->Find("lag")));
  fmt::print("{:<32}  {:>9}  {:>16}  {:>16}  {:>16}  {:>12}\n", "TOPIC", "PARTITION", "OFFSET",
             "LOG_START", "HIGH_WATERMARK", "LAG");
  for (const auto& o : offsets->items()) {
    const auto* topic = o.Find("topic");
    std::string note;
    const auto* start = o.Find("log_start_offset");
    if (start != nullptr && !start->is_null() && Num(o.Find("offset")) < Num(start)) {
      note = "  (below the log start: retention removed what it had not read)";
    } else if (start != nullptr && !start->is_null() &&
               Num(o.Find("offset")) > Num(o.Find("high_watermark"))) {
      note = "  (past the high watermark: was the topic recreated?)";
    } else if (start == nullptr || start->is_null()) {
      note = "  (the topic no longer exists)";
    }
    fmt::print("{:<32}  {:>9}  {:>16}  {:>16}  {:>16}  {:>12}{}\n",
               topic != nullptr ? topic->text() : "", Num(o.Find("partition")),
               Num(o.Find("offset")), NumOrDash(start), NumOrDash(o.Find("high_watermark")),
               NumOrDash(o.Find("lag")), note);
  }
  return 0;
}

}  // namespace

int RunGroup(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"--topic", "--to-offset", "--to-time", "--partition"},
                        {"--to-earliest", "--to-latest", "--execute"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
  if (args->positional.empty()) return UsageError("missing group subcommand", kUsage);
  const std::string sub = args->positional[0];
  const bool json = args->Has("--json");
  if (sub == "list") {
    if (args->positional.size() != 1) return UsageError("group list takes no GROUP", kUsage);
    auto api = Api::Connect(*args);
    if (!api.ok()) return ConnectFailed(api.status(), kUsage);
    auto r = (*api)->Call("GET", "/v1/groups");
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", (*api)->last_body());
      return 0;
    }
    const auto* groups = r->Find("groups");
    if (groups == nullptr || groups->items().empty()) {
      fmt::print("no groups\n");
      return 0;
    }
    for (const auto& g : groups->items()) {
      const auto* name = g.Find("group");
      fmt::print("{}\n", name != nullptr ? name->text() : "");
    }
    return 0;
  }
  if (args->positional.size() != 2) {
    return UsageError(fmt::format("group {} needs exactly one GROUP", sub), kUsage);
  }
  const std::string group = args->positional[1];
  if (sub == "describe") {
    auto api = Api::Connect(*args);
    if (!api.ok()) return ConnectFailed(api.status(), kUsage);
    return Describe(**api, group, json);
  }
  if (sub == "delete") {
    auto api = Api::Connect(*args);
    if (!api.ok()) return ConnectFailed(api.status(), kUsage);
    auto r = (*api)->Call("DELETE", "/v1/groups/" + gateway::PercentEncode(group));
    if (!r.ok()) return Fail(r.status());
    fmt::print("deleted group {}\n", group);
    return 0;
  }
  if (sub != "reset") return UsageError(fmt::format("unknown group subcommand '{}'", sub), kUsage);

  // --- reset ---
  auto topic = args->Get("--topic");
  if (!topic) return UsageError("group reset needs --topic", kUsage);
  const int targets = args->Has("--to-earliest") + args->Has("--to-latest") +
                      args->Has("--to-offset") + args->Has("--to-time");
  if (targets != 1) {
    return UsageError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-time",
                      kUsage);
  }
  auto to_offset = IntFlag(*args, "--to-offset", 0, INT64_MAX);
  if (!to_offset.ok()) return UsageError(to_offset.status().message(), kUsage);
  auto only = IntFlag(*args, "--partition", 0, INT32_MAX);
  if (!only.ok()) return UsageError(only.status().message(), kUsage);
  std::optional<int64_t> to_time;
  if (auto v = args->Get("--to-time")) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    auto ms = ParseSinceMs(*v, now_ms, "--to-time");
    if (!ms.ok()) return UsageError(ms.status().message(), kUsage);
    to_time = *ms;
  }
  auto api_or = Api::Connect(*args);
  if (!api_or.ok()) return ConnectFailed(api_or.status(), kUsage);
  Api& api = **api_or;
  const std::string etopic = gateway::PercentEncode(*topic);
  auto desc = api.Call("GET", "/v1/topics/" + etopic);
  if (!desc.ok()) return Fail(desc.status());
  auto committed = api.Call("GET", "/v1/groups/" + gateway::PercentEncode(group) +
                                       "/offsets?topic=" + etopic);
  if (!committed.ok()) return Fail(committed.status());
  std::map<int64_t, int64_t> current;
  for (const auto& o : committed->Find("offsets")->items()) {
    current[Num(o.Find("partition"), -1)] = Num(o.Find("offset"));
  }
  struct Move {
    int64_t partition, from, to;
  };
  std::vector<Move> plan;
  for (const auto& p : desc->Find("partitions")->items()) {
    const int64_t id = Num(p.Find("partition"));
    if (only->has_value() && id != **only) continue;
    const int64_t start = Num(p.Find("log_start_offset")), hw = Num(p.Find("high_watermark"));
    int64_t to = 0;
    if (args->Has("--to-earliest")) {
      to = start;
    } else if (args->Has("--to-latest")) {
      to = hw;
    } else if (to_offset->has_value()) {
      to = std::clamp(**to_offset, start, hw);  // as Kafka's tool: kept inside the log
    } else {
      // The first event at or after the time: one fetch from `since`.
      auto r = api.Call("GET", fmt::format("/v1/topics/{}/partitions/{}/events?since={}&max=1",
                                           etopic, id, *to_time));
      if (!r.ok()) return Fail(r.status());
      const auto* events = r->Find("events");
      to = events != nullptr && !events->items().empty()
               ? Num(events->items()[0].Find("offset"))
               : Num(r->Find("next_offset"), hw);
    }
    auto it = current.find(id);
    plan.push_back(Move{id, it != current.end() ? it->second : -1, to});
  }
  if (plan.empty()) return FailWithCode(NotFound("topic {} has no partition {}", *topic, **only));
  const bool execute = args->Has("--execute");
  if (!json) {
    fmt::print("{:<32}  {:>9}  {:>16}  {:>16}\n", "TOPIC", "PARTITION", "CURRENT", "NEW");
    for (const auto& m : plan) {
      fmt::print("{:<32}  {:>9}  {:>16}  {:>16}\n", *topic, m.partition,
                 m.from < 0 ? std::string("-") : std::to_string(m.from), m.to);
    }
  }
  if (!execute) {
    if (!json) fmt::print("\ndry run: nothing changed; add --execute to commit these offsets\n");
    return 0;
  }
  codec::JsonWriter w;
  w.BeginObject().Key("offsets").BeginArray();
  for (const auto& m : plan) {
    w.BeginObject().Field("topic", *topic).Field("partition", m.partition);
    w.Field("offset", m.to).EndObject();
  }
  w.EndArray().EndObject();
  auto r = api.Call("POST", "/v1/groups/" + gateway::PercentEncode(group) + "/offsets", w.str());
  if (!r.ok()) return Fail(r.status().WithContext("committing the new offsets"));
  if (json) {
    fmt::print("{}\n", api.last_body());
  } else {
    fmt::print("\ncommitted {} offsets for group {}\n", plan.size(), group);
  }
  return 0;
}

}  // namespace sluice::app
