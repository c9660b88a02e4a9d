// `sluice topic create|list|describe|alter|delete`.
#include <fmt/format.h>

#include "app/client_common.h"
#include "app/commands.h"
#include "codec/json_writer.h"
#include "gateway/http.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice topic create NAME [--partitions N] [--config k=v ...]\n"
    "       sluice topic list [--internal]\n"
    "       sluice topic describe NAME\n"
    "       sluice topic alter NAME --config k=v [--config k=v ...]\n"
    "       sluice topic delete NAME\n"
    "  common: [--server URL] [--json]\n"
    "  --config keys (Kafka's dotted spellings work too, e.g. retention.ms):\n"
    "    durability=always|interval|never  flush_interval_ms=N  partitions=N (alter: only up)\n"
    "    retention_ms=N|-1  retention_bytes=N|-1  cleanup_policy=delete|compact\n"
    "    delete_retention_ms=N  segment_bytes=N  segment_ms=N  max_message_bytes=N\n"
    "    index_interval_bytes=N  preallocate=true|false  value_schema_validation=true|false\n"
    "    invalid_event_policy=reject|dead_letter  dead_letter_topic=NAME\n"
    "  (docs/http-api.md describes each)";

int64_t Num(const codec::JsonValue* v) {
  if (v == nullptr) return 0;
  return v->AsInt64().value_or(0);
}

std::string Text(const codec::JsonValue* v) {
  if (v == nullptr) return "";
  return v->is_string() ? v->text() : v->ToJson();
}

std::string HumanBytes(int64_t b) {
  if (b < 0) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

Result<std::string> ConfigJson(const std::vector<std::string>& kvs) {
  codec::JsonWriter w;
  w.BeginObject();
  for (const auto& kv : kvs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--config '{}' is not key=value", kv);
    }
    w.Field(kv.substr(0, eq), kv.substr(eq + 1));
  }
  w.EndObject();
  return w.Take();
}

void PrintDescription(const codec::JsonValue& d) {
  const auto* parts = d.Find("partitions");
  fmt::print("Topic:      {}\n", Text(d.Find("name")));
  fmt::print("Partitions: {}\n", parts ? parts->items().size() : 0);
  fmt::print("Config:\n");
  if (const auto* c = d.Find("config")) {
    for (const auto& [k, v] : c->members()) fmt::print("  {:<24} {}\n", k, Text(&v));
  }
  // A preallocate topic also shows whether each partition appends into zero-filled blocks
  // (ZEROED) and how much is filled ahead (AHEAD): "no" means every fdatasync also commits the
  // filesystem journal, for a while after creation or a restart, or while the fill lags.
  const codec::JsonValue* pre = d.Find("config") ? d.Find("config")->Find("preallocate") : nullptr;
  const bool prealloc = pre != nullptr && pre->ToJson() == "true";
  fmt::print("\n{:>9}  {:>16}  {:>16}  {:>10}  {:>12}  {:>8}{}\n", "PARTITION", "LOG_START",
             "HIGH_WATERMARK", "EVENTS", "SIZE", "SEGMENTS",
             prealloc ? fmt::format("  {:>6}  {:>12}", "ZEROED", "AHEAD") : "");
  if (parts == nullptr) return;
  for (const auto& p : parts->items()) {
    int64_t start = Num(p.Find("log_start_offset")), hw = Num(p.Find("high_watermark"));
    int64_t segs = Num(p.Find("segments"));
    std::string zero;
    if (prealloc) {
      const codec::JsonValue* on = p.Find("active_segment_preallocated");
      zero = fmt::format("  {:>6}  {:>12}", on != nullptr && on->ToJson() == "true" ? "yes" : "no",
                         HumanBytes(Num(p.Find("preallocated_bytes"))));
    }
    fmt::print("{:>9}  {:>16}  {:>16}  {:>10}  {:>12}  {:>8}{}\n", Num(p.Find("partition")),
               start, hw, hw - start, HumanBytes(Num(p.Find("size_bytes"))),
               segs < 0 ? std::string("-") : std::to_string(segs), zero);
  }
}

}  // namespace

int RunTopic(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"--partitions", "--config"}, {"--internal"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
  if (args->positional.empty()) return UsageError("missing topic subcommand", kUsage);
  const std::string sub = args->positional[0];
  bool json = args->Has("--json");
  auto need_name = [&]() -> std::optional<std::string> {
    if (args->positional.size() != 2) return std::nullopt;
    return args->positional[1];
  };
  auto api_or = Api::Connect(*args);
  if (!api_or.ok()) return ConnectFailed(api_or.status(), kUsage);
  Api& api = **api_or;

  if (sub == "create") {
    auto name = need_name();
    if (!name) return UsageError("topic create needs exactly one NAME", kUsage);
    auto cfg = ConfigJson(args->flags["--config"]);
    if (!cfg.ok()) return UsageError(cfg.status().message(), kUsage);
    codec::JsonWriter w;
    w.BeginObject().Field("name", *name);
    // The range is the server's to enforce (it names its own limit); here only "a number".
    // The server's range, checked here so an impossible count is a usage error (exit 2) like
    // every other out-of-range numeric flag, not a request the server refuses.
    auto partitions = IntFlag(*args, "--partitions", 1, 10000);
    if (!partitions.ok()) return UsageError(partitions.status().message(), kUsage);
    if (partitions->has_value()) w.Key("partitions").Int(**partitions);
    w.Key("config").Raw(*cfg).EndObject();
    auto r = api.Call("POST", "/v1/topics", w.str());
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else {
      const auto* parts = r->Find("partitions");
      const auto* c = r->Find("config");
      fmt::print("created topic {} ({} partitions, durability {})\n", *name,
                 parts ? parts->items().size() : 0, c ? Text(c->Find("durability")) : "");
    }
    return 0;
  }
  if (sub == "list") {
    if (args->positional.size() != 1) return UsageError("topic list takes no NAME", kUsage);
    auto r = api.Call("GET", args->Has("--internal") ? "/v1/topics?internal=true" : "/v1/topics");
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
      return 0;
    }
    const auto* topics = r->Find("topics");
    if (topics == nullptr || topics->items().empty()) {
      fmt::print("no topics\n");
      return 0;
    }
    fmt::print("{:<32}  {:>10}  {:<10}  {:>14}  {:>12}  {:>12}\n", "NAME", "PARTITIONS",
               "DURABILITY", "RETENTION_MS", "EVENTS", "SIZE");
    for (const auto& t : topics->items()) {
      int64_t events = 0, size = 0;
      const auto* parts = t.Find("partitions");
      if (parts != nullptr) {
        for (const auto& p : parts->items()) {
          events += Num(p.Find("high_watermark")) - Num(p.Find("log_start_offset"));
          size += std::max<int64_t>(0, Num(p.Find("size_bytes")));
        }
      }
      const auto* c = t.Find("config");
      fmt::print("{:<32}  {:>10}  {:<10}  {:>14}  {:>12}  {:>12}\n", Text(t.Find("name")),
                 parts ? parts->items().size() : 0, c ? Text(c->Find("durability")) : "",
                 c ? Text(c->Find("retention_ms")) : "", events, HumanBytes(size));
    }
    return 0;
  }
  if (sub == "describe") {
    auto name = need_name();
    if (!name) return UsageError("topic describe needs exactly one NAME", kUsage);
    auto r = api.Call("GET", "/v1/topics/" + gateway::PercentEncode(*name));
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else {
      PrintDescription(*r);
    }
    return 0;
  }
  if (sub == "alter") {
    auto name = need_name();
    if (!name) return UsageError("topic alter needs exactly one NAME", kUsage);
    if (!args->Has("--config")) return UsageError("topic alter needs --config k=v", kUsage);
    auto cfg = ConfigJson(args->flags["--config"]);
    if (!cfg.ok()) return UsageError(cfg.status().message(), kUsage);
    auto r = api.Call("PATCH", "/v1/topics/" + gateway::PercentEncode(*name),
                      "{\"config\":" + *cfg + "}");
    if (!r.ok()) return Fail(r.status());
    if (json) {
      fmt::print("{}\n", api.last_body());
    } else {
      fmt::print("updated topic {}\n", *name);
    }
    return 0;
  }
  if (sub == "delete") {
    auto name = need_name();
    if (!name) return UsageError("topic delete needs exactly one NAME", kUsage);
    auto r = api.Call("DELETE", "/v1/topics/" + gateway::PercentEncode(*name));
    if (!r.ok()) return Fail(r.status());
    if (!json) fmt::print("deleted topic {}\n", *name);
    return 0;
  }
  return UsageError(fmt::format("unknown topic subcommand '{}'", sub), kUsage);
}

}  // namespace sluice::app
