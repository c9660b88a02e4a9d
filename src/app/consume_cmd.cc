// `sluice consume TOPIC`: prints events as NDJSON, optionally following new ones and committing
// positions for a group; shows a progress line on stderr for long replays.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "app/client_common.h"
#include "app/commands.h"
#include "codec/json_writer.h"
#include "gateway/http.h"

namespace sluice::app {

namespace {

constexpr const char* kUsage =
    "sluice consume TOPIC [--partition P] [--from-beginning | --offset N | --since TIME]\n"
    "                     [--group G] [--follow] [--max N] [--server URL]\n"
    "  prints the topic's events as NDJSON on stdout\n"
    "  --partition P      only partition P (default: every partition, in turn)\n"
    "  --from-beginning   start at each partition's log start\n"
    "  --offset N         start at offset N\n"
    "  --since TIME       start at the first event at or after TIME: epoch milliseconds,\n"
    "                     an RFC 3339 time (2026-12-01T09:30:00Z) or a duration back from\n"
    "                     now (90s, 15m, 2h, 7d)\n"
    "  --group G          without a start flag, start at G's committed offsets; commit the\n"
    "                     position after every batch printed\n"
    "  --follow           keep waiting for new events, and new partitions, until interrupted;\n"
    "                     waits through server restarts\n"
    "  --max N            stop after N events\n"
    "  A position that is no longer stored (retention) or past the end (a recreated topic)\n"
    "  continues at the log start, with a warning on stderr.";

// How often `--follow` looks for partitions added to the topic.
constexpr std::chrono::seconds kRediscoverEvery{5};

struct PartitionCursor {
  int32_t partition = 0;
  int64_t next = 0;          // next offset to fetch; -1: use `since`
  int64_t high_watermark = 0;
  bool caught_up = false;
  bool explicit_offset = false;  // `next` is still the user's --offset, not yet read from
};

}  // namespace

int RunConsume(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"--partition", "--offset", "--since", "--group", "--max"},
                        {"--from-beginning", "--follow"});
  if (!args.ok()) return UsageError(args.status().message(), kUsage);
  if (args->help) return PrintUsage(kUsage);
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
  if (!api_or.ok()) return ConnectFailed(api_or.status(), kUsage);
  Api& api = **api_or;
  const std::string etopic = gateway::PercentEncode(topic);

  // Each partition's log start and high watermark now, from the topic's description.
  struct Bounds {
    int64_t log_start = 0;
    int64_t high_watermark = 0;
  };
  auto describe = [&]() -> Result<std::map<int32_t, Bounds>> {
    auto desc = api.Call("GET", "/v1/topics/" + etopic);
    if (!desc.ok()) return desc.status();
    std::map<int32_t, Bounds> out;
    for (const auto& p : desc->Find("partitions")->items()) {
      auto id = static_cast<int32_t>(p.Find("partition")->AsInt64().value_or(0));
      out[id] = Bounds{p.Find("log_start_offset")->AsInt64().value_or(0),
                       p.Find("high_watermark")->AsInt64().value_or(0)};
    }
    return out;
  };
  auto bounds = describe();
  if (!bounds.ok()) return Fail(bounds.status());
  std::vector<PartitionCursor> cursors;
  for (const auto& [id, b] : *bounds) {
    if (only_partition >= 0 && id != only_partition) continue;
    PartitionCursor c;
    c.partition = id;
    c.high_watermark = b.high_watermark;
    c.next = args->Has("--offset") ? offset : args->Has("--since") ? -1 : b.log_start;
    c.explicit_offset = args->Has("--offset");
    cursors.push_back(c);
  }
  if (cursors.empty()) {
    return FailWithCode(NotFound("topic {} has no partition {}", topic, only_partition));
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
  auto last_describe = std::chrono::steady_clock::now();
  bool outage = false;  // --follow: the server is unreachable and being retried
  auto backoff = std::chrono::milliseconds(250);
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
      if (follow && !r.ok() && r.status().code() == ErrorCode::kUnavailable) {
        // The server restarts or is overloaded: a follower waits for it, as `tail -F` and Kafka
        // consumers do, instead of ending.
        if (!outage) {
          fmt::print(stderr, "sluice: {}; retrying until it is back\n", r.status().message());
        }
        outage = true;
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        all_caught_up = false;
        break;
      }
      if (outage && r.ok()) {
        fmt::print(stderr, "sluice: the server is back; continuing\n");
        outage = false;
        backoff = std::chrono::milliseconds(250);
      }
      if (!r.ok() && r.status().code() == ErrorCode::kOutOfRange) {
        // The position is gone (retention removed it) or past the end (the topic was deleted
        // and recreated, or a bad commit): continue at the log start, as a Kafka consumer with
        // auto.offset.reset=earliest does. Only an explicit --offset past the end is an error.
        auto now_bounds = describe();
        if (!now_bounds.ok()) return Fail(now_bounds.status());
        auto b = now_bounds->find(c.partition);
        if (b == now_bounds->end()) return Fail(r.status());
        if (c.next < b->second.log_start) {
          fmt::print(stderr,
                     "sluice: partition {}: offsets {} to {} are no longer stored (removed by "
                     "retention); skipping {} events, continuing at {}\n",
                     c.partition, c.next, b->second.log_start - 1, b->second.log_start - c.next,
                     b->second.log_start);
        } else if (c.next > b->second.high_watermark && !c.explicit_offset) {
          fmt::print(stderr,
                     "sluice: partition {}: offset {} is past the end (high watermark {}; was "
                     "the topic recreated?); continuing at the log start, {}\n",
                     c.partition, c.next, b->second.high_watermark, b->second.log_start);
        } else {
          return Fail(r.status());
        }
        c.next = b->second.log_start;
        c.high_watermark = b->second.high_watermark;
        all_caught_up = false;
        continue;
      }
      if (!r.ok()) return Fail(r.status());
      c.explicit_offset = false;
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
        // A follower keeps going through an outage; the next batch's commit covers this one.
        const bool retriable = follow && cr.status().code() == ErrorCode::kUnavailable;
        if (!cr.ok() && !retriable) return Fail(cr.status().WithContext("committing offsets"));
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
    if (follow && only_partition < 0 &&
        std::chrono::steady_clock::now() - last_describe > kRediscoverEvery) {
      // Partitions added while following are read from their start, so nothing in them is
      // missed.
      last_describe = std::chrono::steady_clock::now();
      auto now_bounds = describe();
      if (!now_bounds.ok() && now_bounds.status().code() == ErrorCode::kUnavailable) continue;
      if (!now_bounds.ok()) return Fail(now_bounds.status());
      for (const auto& [id, b] : *now_bounds) {
        bool known = std::any_of(cursors.begin(), cursors.end(),
                                 [id = id](const PartitionCursor& c) { return c.partition == id; });
        if (known) continue;
        fmt::print(stderr, "sluice: topic {} has a new partition {}; reading it from offset {}\n",
                   topic, id, b.log_start);
        PartitionCursor c;
        c.partition = id;
        c.next = b.log_start;
        c.high_watermark = b.high_watermark;
        cursors.push_back(c);
      }
    }
  }
  if (progress) fmt::print(stderr, "\r\033[Kconsumed {} events\n", printed);
  return 0;
}

}  // namespace sluice::app
