// `sluice consume TOPIC`: prints events as NDJSON, optionally following new ones and committing
// positions for a group; shows a progress line on stderr for long replays.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "app/client_common.h"
#include "app/commands.h"
#include "codec/json_writer.h"
#include "gateway/http.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice consume TOPIC [--partition P] [--from-beginning | --offset N | --since TIME] "
    "[--group G] [--follow] [--max N] [--server URL]";

struct PartitionCursor {
  int32_t partition = 0;
  int64_t next = 0;          // next offset to fetch; -1: use `since`
  int64_t high_watermark = 0;
  bool caught_up = false;
};

}  // namespace

int RunConsume(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"--partition", "--offset", "--since", "--group", "--max"},
                        {"--from-beginning", "--follow"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->positional.size() != 1) return UsageError("consume needs exactly one TOPIC", kUsage);
  const std::string topic = args->positional[0];
  int starts = args->Has("--from-beginning") + args->Has("--offset") + args->Has("--since");
  if (starts > 1) {
    return UsageError("give at most one of --from-beginning, --offset, --since", kUsage);
  }
  int64_t offset = -1, since = -1, max = -1, only_partition = -1;
  auto offset_flag = IntFlag(*args, "--offset", 0, INT64_MAX);
  if (!offset_flag.ok()) return UsageError(offset_flag.status().message(), kUsage);
  offset = offset_flag->value_or(-1);
  auto max_flag = IntFlag(*args, "--max", 1, INT64_MAX);
  if (!max_flag.ok()) return UsageError(max_flag.status().message(), kUsage);
  max = max_flag->value_or(-1);
  auto partition_flag = IntFlag(*args, "--partition", 0, INT32_MAX);
  if (!partition_flag.ok()) return UsageError(partition_flag.status().message(), kUsage);
  only_partition = partition_flag->value_or(-1);
  if (auto v = args->Get("--since")) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    auto ms = ParseSinceMs(*v, now_ms);
    if (!ms.ok()) return UsageError(ms.status().message(), kUsage);
    since = *ms;
  }
  auto group = args->Get("--group");
  bool follow = args->Has("--follow");
  auto api_or = Api::Connect(*args);
  if (!api_or.ok()) return Fail(api_or.status());
  Api& api = **api_or;
  const std::string etopic = gateway::PercentEncode(topic);

  auto desc = api.Call("GET", "/v1/topics/" + etopic);
  if (!desc.ok()) return Fail(desc.status());
  std::vector<PartitionCursor> cursors;
  for (const auto& p : desc->Find("partitions")->items()) {
    PartitionCursor c;
    c.partition = static_cast<int32_t>(p.Find("partition")->AsInt64().value_or(0));
    if (only_partition >= 0 && c.partition != only_partition) continue;
    c.high_watermark = p.Find("high_watermark")->AsInt64().value_or(0);
    int64_t log_start = p.Find("log_start_offset")->AsInt64().value_or(0);
    c.next = args->Has("--offset") ? offset : args->Has("--since") ? -1 : log_start;
    cursors.push_back(c);
  }
  if (cursors.empty()) {
    return Fail(NotFound("topic {} has no partition {}", topic, only_partition));
  }
  if (group && starts == 0) {
    auto committed = api.Call("GET", "/v1/groups/" + gateway::PercentEncode(*group) +
                                         "/offsets?topic=" + etopic);
    if (!committed.ok()) return Fail(committed.status());
    for (const auto& o : committed->Find("offsets")->items()) {
      int64_t p = o.Find("partition")->AsInt64().value_or(-1);
      for (auto& c : cursors) {
        if (c.partition == p) c.next = o.Find("offset")->AsInt64().value_or(c.next);
      }
    }
  }

  const bool progress = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
  auto last_progress = std::chrono::steady_clock::now();
  int64_t printed = 0;
  std::string out;
  for (;;) {
    bool all_caught_up = true;
    for (auto& c : cursors) {
      if (max >= 0 && printed >= max) break;
      int64_t want = std::min<int64_t>(1000, max >= 0 ? max - printed : 1000);
      bool idle_follow = follow && c.caught_up;
      int wait = idle_follow ? (cursors.size() == 1 ? 1000 : 200) : 0;
      std::string target = fmt::format("/v1/topics/{}/partitions/{}/events?max={}&wait_ms={}",
                                       etopic, c.partition, want, wait);
      target += c.next >= 0 ? fmt::format("&offset={}", c.next) : fmt::format("&since={}", since);
      auto r = api.Call("GET", target, "", "application/json", 60000);
      if (!r.ok()) return Fail(r.status());
      out.clear();
      const auto& events = r->Find("events")->items();
      for (const auto& e : events) {
        codec::JsonWriter w;
        w.BeginObject().Field("partition", c.partition);
        for (const auto& [k, v] : e.members()) w.Key(k).Raw(v.ToJson());
        w.EndObject();
        out += w.str();
        out.push_back('\n');
      }
      if (!out.empty()) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
      }
      printed += static_cast<int64_t>(events.size());
      c.next = r->Find("next_offset")->AsInt64().value_or(c.next);
      c.high_watermark = r->Find("high_watermark")->AsInt64().value_or(c.high_watermark);
      c.caught_up = c.next >= c.high_watermark;
      if (!c.caught_up) all_caught_up = false;
      if (group && !events.empty()) {
        codec::JsonWriter w;
        w.BeginObject().Key("offsets").BeginArray().BeginObject();
        w.Field("topic", topic).Field("partition", c.partition).Field("offset", c.next);
        w.EndObject().EndArray().EndObject();
        auto cr = api.Call("POST", "/v1/groups/" + gateway::PercentEncode(*group) + "/offsets",
                           w.str());
        if (!cr.ok()) return Fail(cr.status().WithContext("committing offsets"));
      }
      auto now = std::chrono::steady_clock::now();
      if (progress && now - last_progress > std::chrono::milliseconds(200)) {
        last_progress = now;
        fmt::print(stderr, "\r\033[Kconsumed {} events; partition {} at {}/{}", printed,
                   c.partition, c.next, c.high_watermark);
      }
    }
    if (max >= 0 && printed >= max) break;
    if (all_caught_up && !follow) break;
  }
  if (progress) fmt::print(stderr, "\r\033[Kconsumed {} events\n", printed);
  return 0;
}

}  // namespace sluice::app
