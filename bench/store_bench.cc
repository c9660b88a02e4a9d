// store_bench: the Event Store benchmarks of issue 2, on an EmbeddedLog in a directory of your
// choice (put it on the filesystem fio measures). Prints one JSON object per line:
//   append   — 1 KiB events, 64 per Append (64 KiB batches), durability `interval`, several
//              appenders over several partitions: MiB/s at the last ack and once Stop() has
//              flushed everything (the figure comparable to fio's write + final fsync).
//   open     — reopening that store after the clean Stop (no verification).
//   ack      — durability `always`, closed loop at saturation: N producer coroutines, each
//              appending 100-event batches of ~100-byte events back to back for a fixed time:
//              the maximum sustainable events/s, and ack latency at that rate (mostly queueing).
//   ack_open — durability `always`, open loop at a fixed offered rate (the goal's 200K events/s
//              by default): N producers, each sending one 100-event batch every
//              N * 100 / rate seconds on a fixed schedule (staggered so the combined sends are
//              evenly spaced); ack latency is measured from the *scheduled* send time, so a
//              late send (a slow earlier ack, a busy shard) counts against it instead of being
//              hidden (coordinated omission). Reports achieved events/s and ack p50/p99/p999.
//   read     — reading back what `append` wrote through the Log interface (page cache), GB/s,
//              one reader alone and one reader per partition at once; then both again with
//              the reader checking every batch's CRC, as a consumer would; all of it
//              --read-repeats times, interleaved. Also bytes per CPU second.
//   recovery — a partition holding ~1 GiB: Stop, delete `clean-shutdown` (and `recovery-point`
//              for a full verification), then time EmbeddedLog::Open.
// Usage: store_bench --dir DIR [--phases append,ack,ack_open,read,recovery] [--append-mib 2048]
//   [--append-partitions 4] [--appenders-per-partition 2] [--ack-seconds 8] [--ack-producers 64]
//   [--ack-partitions 2] [--ack-rate 200000] [--ack-open-seconds 10] [--ack-preallocate 1]
//   [--ack-placement owner|other] [--ack-segment-mib 0] [--ack-retention-mib 0] [--recycle 1]
//   [--delete-mib-per-s 256] [--ack-delete-topic-mib 0]
//   [--preallocate-mib-per-s 32] [--checkpoint-interval-ms 1000] [--read-repeats 3]
//   [--recovery-mib 1024] [--shards 2]
// --ack-producers, --ack-partitions and --ack-placement apply to both ack phases; --ack-rate is
// in events/s. --ack-placement: producers on the shard owning their partition (default), or
// on another one, so that every append and ack crosses between shard threads.
// --ack-segment-mib / --ack-retention-mib (0: the topic defaults, 256 MiB and no retention):
// ack_open's segment size and retention_bytes. With a retention and preallocation the warm-up
// writes (in larger batches) until retention has removed segments and every partition appends
// into a zero-filled segment (a recycled one, unless --recycle 0 makes retention unlink), so
// the measurement sees the steady state of a durable topic with retention: a roll every
// segment's worth of appends, and a removed segment for each. --delete-mib-per-s: the store's
// budget for deleting removed segments gradually (EmbeddedLogOptions; 0: unlink at once).
// --ack-delete-topic-mib N: before ack_open's window another topic gets N MiB, and it is
// deleted in the middle of the window (its files go the same gradual way).
// Note (kNoTemporaryLambdas, runtime/shards.h): no lambda or braced temporary inside co_await.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <sys/resource.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "runtime/shards.h"
#include "storage/embedded_log.h"

namespace sluice::bench {
namespace {

namespace fs = std::filesystem;
using model::PartitionId;
using model::ProduceRecord;
using model::TopicPartition;
using runtime::BlockOn;
using runtime::ShardId;
using storage::EmbeddedLog;
using storage::EmbeddedLogOptions;
using storage::Log;
using storage::TopicConfig;
using Clk = std::chrono::steady_clock;

constexpr int64_t kMiB = 1024 * 1024;

struct Args {
  std::string dir;
  std::set<std::string> phases{"append", "ack", "ack_open", "read", "recovery"};
  int64_t append_mib = 2048;
  int append_partitions = 4;
  int appenders_per_partition = 2;
  double ack_seconds = 8;
  int ack_producers = 64;
  int ack_partitions = 2;
  double ack_rate = 200000;  // events/s offered by ack_open, all producers together
  double ack_open_seconds = 10;
  bool ack_preallocate = true;  // ack_open's topic zero-fills segments ahead (topic config)
  int64_t ack_segment_mib = 0;     // 0: the topic default
  int64_t ack_retention_mib = 0;   // 0: no retention
  int64_t ack_delete_topic_mib = 0;  // ack_open: a topic this large is deleted mid-window
  // Which shard runs a producer of partition p in both ack phases: "owner", the shard that owns
  // p (as the gateway does for keyless events: no hop between threads), or "other", a shard
  // that does not (each append and each ack then crosses threads twice more).
  std::string ack_placement = "owner";
  int64_t recovery_mib = 1024;
  int read_repeats = 3;
  size_t shards = 2;
};

[[noreturn]] void Die(const std::string& msg) {
  fmt::print(stderr, "store_bench: {}\n", msg);
  std::exit(1);
}

double Seconds(Clk::time_point a, Clk::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU seconds (user + system) used by this process so far, all threads, and its minor page
// faults (a read landing in freshly allocated memory faults once per 4 KiB page).
struct CpuUsage {
  double seconds = 0;
  int64_t minor_faults = 0;
};
CpuUsage Cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  CpuUsage u;
  u.seconds = tv(ru.ru_utime) + tv(ru.ru_stime);
  u.minor_faults = ru.ru_minflt;
  return u;
}

// A printable, non-repeating-looking payload of n bytes (no compression is involved anyway).
std::string Payload(size_t n, uint64_t seed) {
  std::string s(n, 'x');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>('a' + (x % 26));
  }
  return s;
}

std::vector<ProduceRecord> MakeBatch(const std::vector<std::string>& values) {
  std::vector<ProduceRecord> recs;
  recs.reserve(values.size());
  for (const auto& v : values) recs.emplace_back(std::nullopt, v);
  return recs;
}

// --preallocate-mib-per-s: the store's zero-fill budget (EmbeddedLogOptions); set by Parse.
double g_preallocate_bytes_per_second = EmbeddedLogOptions().preallocate_bytes_per_second;
bool g_recycle_segments = EmbeddedLogOptions().recycle_segments;  // --recycle
double g_delete_bytes_per_second = EmbeddedLogOptions().delete_bytes_per_second;
int64_t g_checkpoint_interval_ms = EmbeddedLogOptions().checkpoint_interval_ms;

std::unique_ptr<EmbeddedLog> OpenLog(const std::string& dir, runtime::Shards& shards,
                                     double* seconds = nullptr) {
  EmbeddedLogOptions o;
  o.data_dir = dir;
  o.preallocate_bytes_per_second = g_preallocate_bytes_per_second;
  o.recycle_segments = g_recycle_segments;
  o.delete_bytes_per_second = g_delete_bytes_per_second;
  o.checkpoint_interval_ms = g_checkpoint_interval_ms;
  o.housekeeping_interval_ms = 3600 * 1000;  // no retention work during the benchmark
  auto t0 = Clk::now();
  auto r = EmbeddedLog::Open(o, shards, SystemClock::Instance());
  auto t1 = Clk::now();
  if (!r.ok()) Die(fmt::format("open {}: {}", dir, r.status().ToString()));
  if (seconds) *seconds = Seconds(t0, t1);
  return std::move(r).value();
}

void CreateTopic(Log& log, runtime::Shards& shards, const std::string& name,
                 std::map<std::string, std::string> kv) {
  TopicConfig c;
  Status st = c.Apply(kv);
  if (!st.ok()) Die(st.ToString());
  st = BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
    Status s = co_await log.CreateTopic(name, c);
    co_return s;
  });
  if (!st.ok()) Die(fmt::format("create {}: {}", name, st.ToString()));
}

int64_t TopicBytes(Log& log, runtime::Shards& shards, const std::string& name) {
  auto d = BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::TopicDescription>> {
    auto r = co_await log.DescribeTopic(name);
    co_return r;
  });
  if (!d.ok()) Die(d.status().ToString());
  int64_t total = 0;
  for (const auto& p : d->partitions) total += p.size_bytes;
  return total;
}

// The shard each ack producer of partition p runs on (see Args::ack_placement).
std::vector<ShardId> ProducerShards(Log& log, runtime::Shards& shards, const std::string& topic,
                                    const Args& a) {
  const int parts = a.ack_partitions;
  const auto n = static_cast<uint32_t>(shards.size());
  std::vector<ShardId> owner(static_cast<size_t>(parts), ShardId(0));
  for (int p = 0; p < parts; ++p) owner[static_cast<size_t>(p)] = ShardId(p % n);
  for (uint32_t s = 0; s < n; ++s) {
    // LocalPartition answers for the calling shard, so ask on each one.
    auto local = BlockOn(shards, ShardId(s), [&]() -> Task<std::vector<int>> {
      std::vector<int> mine;
      for (int seed = 0; seed < parts; ++seed) {
        auto lp = log.LocalPartition(topic, parts, static_cast<uint64_t>(seed));
        if (lp) mine.push_back(lp->value());
      }
      co_return mine;
    });
    for (int p : local) owner[static_cast<size_t>(p)] = ShardId(s);
  }
  if (a.ack_placement == "owner") return owner;
  for (auto& s : owner) s = ShardId((s.value() + 1) % n);
  return owner;
}

// Appenders spread over partitions; each takes 64 KiB batches from a shared budget until it is
// spent. Returns payload bytes written.
struct AppendOutcome {
  int64_t payload_bytes = 0;
  int64_t batches = 0;
  double seconds_acked = 0;
};

AppendOutcome RunAppend(Log& log, runtime::Shards& shards, const std::string& topic,
                        int partitions, int appenders_per_partition, int64_t total_bytes) {
  constexpr int kEvents = 64;
  constexpr size_t kEventBytes = 1024;
  std::vector<std::string> values;
  for (int i = 0; i < kEvents; ++i) values.push_back(Payload(kEventBytes, i));
  const int64_t batch_bytes = kEvents * static_cast<int64_t>(kEventBytes);
  std::atomic<int64_t> budget{total_bytes};
  std::atomic<int64_t> done_bytes{0};
  std::atomic<int64_t> done_batches{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string err;
  const int n = partitions * appenders_per_partition;
  std::latch finished(n);
  auto t0 = Clk::now();
  for (int i = 0; i < n; ++i) {
    TopicPartition tp(topic, PartitionId(i % partitions));
    auto fn = [&, tp]() -> Task<void> {
      while (!failed.load() && budget.fetch_sub(batch_bytes) > 0) {
        std::vector<ProduceRecord> recs = MakeBatch(values);
        auto r = co_await log.Append(tp, std::move(recs));
        if (!r.ok()) {
          std::lock_guard lk(err_mu);
          err = r.status().ToString();
          failed = true;
          break;
        }
        done_bytes += batch_bytes;
        done_batches += 1;
      }
      finished.count_down();
    };
    shards.Spawn(ShardId(static_cast<uint32_t>(i % shards.size())), std::move(fn));
  }
  finished.wait();
  auto t1 = Clk::now();
  if (failed) Die("append: " + err);
  return {done_bytes.load(), done_batches.load(), Seconds(t0, t1)};
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

Percentiles Summarise(std::vector<int64_t>& ns) {
  Percentiles p;
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
    return static_cast<double>(ns[std::min(i, ns.size() - 1)]) / 1e6;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(ns.back()) / 1e6;
  double sum = 0;
  for (auto v : ns) sum += static_cast<double>(v);
  p.mean = sum / static_cast<double>(ns.size()) / 1e6;
  return p;
}

void PhaseAck(Log& log, runtime::Shards& shards, const Args& a) {
  const std::string topic = "bench-ack";
  CreateTopic(log, shards, topic,
              {{"partitions", std::to_string(a.ack_partitions)}, {"durability", "always"}});
  constexpr int kEvents = 100;
  constexpr size_t kEventBytes = 100;
  std::vector<std::string> values;
  for (int i = 0; i < kEvents; ++i) values.push_back(Payload(kEventBytes, 1000 + i));
  const auto warmup = std::chrono::milliseconds(500);
  const auto start = Clk::now();
  const auto measure_from = start + warmup;
  const auto deadline = measure_from + std::chrono::duration_cast<Clk::duration>(
                                           std::chrono::duration<double>(a.ack_seconds));
  std::vector<std::vector<int64_t>> lat(a.ack_producers);
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string err;
  std::latch finished(a.ack_producers);
  const std::vector<ShardId> on = ProducerShards(log, shards, topic, a);
  for (int i = 0; i < a.ack_producers; ++i) {
    TopicPartition tp(topic, PartitionId(i % a.ack_partitions));
    std::vector<int64_t>* mine = &lat[i];
    mine->reserve(1 << 16);
    auto fn = [&, tp, mine]() -> Task<void> {
      while (!failed.load()) {
        std::vector<ProduceRecord> recs = MakeBatch(values);
        auto t0 = Clk::now();
        if (t0 >= deadline) break;
        auto r = co_await log.Append(tp, std::move(recs));
        auto t1 = Clk::now();
        if (!r.ok()) {
          std::lock_guard lk(err_mu);
          err = r.status().ToString();
          failed = true;
          break;
        }
        if (t0 >= measure_from) mine->push_back((t1 - t0).count());
      }
      finished.count_down();
    };
    shards.Spawn(on[static_cast<size_t>(i % a.ack_partitions)], std::move(fn));
  }
  finished.wait();
  const auto end = Clk::now();
  if (failed) Die("ack: " + err);
  std::vector<int64_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  const double secs = Seconds(measure_from, std::min(end, deadline));
  const double batches = static_cast<double>(all.size());
  Percentiles p = Summarise(all);
  fmt::print(
      "{{\"bench\":\"ack\",\"mode\":\"closed_loop\",\"durability\":\"always\","
      "\"placement\":\"{}\",\"producers\":{},\"partitions\":{},"
      "\"batch_events\":{},\"event_bytes\":{},\"seconds\":{:.2f},\"appends\":{},"
      "\"events_per_s\":{:.0f},\"appends_per_s\":{:.0f},\"ack_ms\":{{\"p50\":{:.3f},"
      "\"p99\":{:.3f},\"p999\":{:.3f},\"max\":{:.3f},\"mean\":{:.3f}}}}}\n",
      a.ack_placement, a.ack_producers, a.ack_partitions, kEvents, kEventBytes, secs, all.size(),
      batches * kEvents / secs, batches / secs, p.p50, p.p99, p.p999, p.max, p.mean);
  std::fflush(stdout);
}

// Open loop: producer i sends its k-th batch at start + i * period / N + k * period, where
// period = N * batch_events / rate, whatever happened to its previous batch (if that ack came
// late, the next send goes out at once, already late). Latency runs from the scheduled time.
// Sends scheduled in the 0.5 s warm-up are not measured; the achieved rate counts the events
// whose ack arrived inside the measured window, so a store that falls behind shows a lower
// rate (and a growing send lag) rather than the offered one.
void PhaseAckOpen(Log& log, runtime::Shards& shards, const Args& a) {
  const std::string topic = "bench-ack-open";
  std::map<std::string, std::string> conf{{"partitions", std::to_string(a.ack_partitions)},
                                          {"durability", "always"},
                                          {"preallocate", a.ack_preallocate ? "true" : "false"}};
  if (a.ack_segment_mib > 0) conf["segment_bytes"] = std::to_string(a.ack_segment_mib * kMiB);
  if (a.ack_retention_mib > 0) {
    conf["retention_bytes"] = std::to_string(a.ack_retention_mib * kMiB);
  }
  CreateTopic(log, shards, topic, conf);
  constexpr int kEvents = 100;
  constexpr size_t kEventBytes = 100;
  std::vector<std::string> values;
  for (int i = 0; i < kEvents; ++i) values.push_back(Payload(kEventBytes, 2000 + i));
  // Warm-up batches when segments must be filled and retained out first: 10x larger.
  std::vector<std::string> big;
  for (int i = 0; i < 10 * kEvents; ++i) big.push_back(Payload(kEventBytes, 2000 + i));
  const bool retained = a.ack_preallocate && a.ack_retention_mib > 0;
  // With preallocation, measure the steady state: every partition appending into a segment
  // that was zero-filled ahead (the first one is plain; an append moves the partition onto
  // the prepared file once it is whole). The next segment's fill then runs during the
  // measurement, as it does after every roll.
  double warmup_s = 0;
  if (a.ack_preallocate) {
    const auto w0 = Clk::now();
    for (bool all = false; !all;) {
      all = true;
      for (int p = 0; p < a.ack_partitions; ++p) {
        TopicPartition tp(topic, PartitionId(p));
        auto info = BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::PartitionInfo>> {
          auto d = co_await log.DescribeTopic(topic);
          if (!d.ok()) co_return d.status();
          co_return d->partitions[static_cast<size_t>(p)];
        });
        if (!info.ok()) Die("describe: " + info.status().ToString());
        const bool steady =
            retained ? info->log_start_offset.value() > 0 &&
                           (g_recycle_segments ? info->active_segment_recycled
                                               : info->active_segment_preallocated)
                     : info->active_segment_preallocated;
        if (steady) continue;
        all = false;
        // Retention needs segments to remove: write ~8 MiB per round until then.
        const int rounds = retained ? 80 : 1;
        for (int i = 0; i < rounds; ++i) {
          auto r = BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::AppendResult>> {
            auto res = co_await log.Append(tp, MakeBatch(retained ? big : values));
            co_return res;
          });
          if (!r.ok()) Die("warm-up append: " + r.status().ToString());
        }
      }
      if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Seconds(w0, Clk::now()) > 300) Die("ack_open: no steady state after 300 s");
    }
    warmup_s = Seconds(w0, Clk::now());
  }
  // Another topic, written and made durable before the window, deleted in its middle.
  if (a.ack_delete_topic_mib > 0) {
    CreateTopic(log, shards, "bench-doomed",
                {{"partitions", "1"}, {"durability", "interval"}, {"flush_interval_ms", "10"}});
    TopicPartition dtp("bench-doomed", PartitionId(0));
    for (int64_t written = 0; written < a.ack_delete_topic_mib * kMiB;) {
      auto r = BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::AppendResult>> {
        auto res = co_await log.Append(dtp, MakeBatch(big));
        co_return res;
      });
      if (!r.ok()) Die("doomed topic append: " + r.status().ToString());
      written += static_cast<int64_t>(big.size() * kEventBytes);
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));  // flushed, and written back
  }
  const int n = a.ack_producers;
  const auto period = std::chrono::duration_cast<Clk::duration>(
      std::chrono::duration<double>(static_cast<double>(n) * kEvents / a.ack_rate));
  const auto start = Clk::now() + std::chrono::milliseconds(50);  // every producer spawned
  const auto measure_from = start + std::chrono::milliseconds(500);
  const auto deadline = measure_from + std::chrono::duration_cast<Clk::duration>(
                                           std::chrono::duration<double>(a.ack_open_seconds));
  struct Samples {
    std::vector<int64_t> ack, service, lag;  // from schedule, from the call, call - schedule
    int64_t events_in_window = 0;            // events acked inside [measure_from, deadline)
  };
  std::vector<Samples> per(n);
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string err;
  std::latch finished(n);
  const std::vector<ShardId> on = ProducerShards(log, shards, topic, a);
  for (int i = 0; i < n; ++i) {
    TopicPartition tp(topic, PartitionId(i % a.ack_partitions));
    Samples* mine = &per[i];
    const size_t expected = static_cast<size_t>(a.ack_open_seconds * 1e9 /
                                                static_cast<double>(period.count())) + 16;
    mine->ack.reserve(expected);
    mine->service.reserve(expected);
    mine->lag.reserve(expected);
    const auto first = start + period * i / n;
    auto fn = [&, tp, mine, first]() -> Task<void> {
      auto ex = co_await asio::this_coro::executor;
      asio::steady_timer timer(ex);
      for (int64_t k = 0; !failed.load(); ++k) {
        const auto sched = first + period * k;
        if (sched >= deadline) break;
        std::vector<ProduceRecord> recs = MakeBatch(values);
        if (Clk::now() < sched) {
          timer.expires_at(sched);
          co_await timer.async_wait(asio::use_awaitable);
        }
        const auto t0 = Clk::now();
        auto r = co_await log.Append(tp, std::move(recs));
        const auto t1 = Clk::now();
        if (!r.ok()) {
          std::lock_guard lk(err_mu);
          err = r.status().ToString();
          failed = true;
          break;
        }
        if (sched >= measure_from) {
          mine->ack.push_back((t1 - sched).count());
          mine->service.push_back((t1 - t0).count());
          mine->lag.push_back((t0 - sched).count());
        }
        if (t1 >= measure_from && t1 < deadline) mine->events_in_window += kEvents;
      }
      finished.count_down();
    };
    shards.Spawn(on[static_cast<size_t>(i % a.ack_partitions)], std::move(fn));
  }
  std::thread deleter;
  if (a.ack_delete_topic_mib > 0) {
    deleter = std::thread([&] {
      std::this_thread::sleep_until(measure_from + (deadline - measure_from) / 2);
      Status st = BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
        Status s = co_await log.DeleteTopic("bench-doomed");
        co_return s;
      });
      if (!st.ok()) Die("delete topic: " + st.ToString());
    });
  }
  finished.wait();
  if (deleter.joinable()) deleter.join();
  const auto end = Clk::now();
  if (failed) Die("ack_open: " + err);
  std::vector<int64_t> ack, service, lag;
  int64_t events = 0;
  for (auto& s : per) {
    ack.insert(ack.end(), s.ack.begin(), s.ack.end());
    service.insert(service.end(), s.service.begin(), s.service.end());
    lag.insert(lag.end(), s.lag.begin(), s.lag.end());
    events += s.events_in_window;
  }
  const double secs = Seconds(measure_from, deadline);
  const size_t appends = ack.size();
  Percentiles pa = Summarise(ack);
  Percentiles ps = Summarise(service);
  Percentiles pl = Summarise(lag);
  fmt::print(
      "{{\"bench\":\"ack_open\",\"mode\":\"open_loop\",\"durability\":\"always\","
      "\"placement\":\"{}\",\"preallocate\":{},\"segment_mib\":{},\"retention_mib\":{},"
      "\"delete_topic_mib\":{},\"recycle\":{},\"preallocate_warmup_s\":{:.1f},"
      "\"producers\":{},\"partitions\":{},\"batch_events\":{},\"event_bytes\":{},"
      "\"offered_events_per_s\":{:.0f},\"period_ms\":{:.3f},\"seconds\":{:.2f},"
      "\"drain_seconds\":{:.3f},\"appends\":{},\"events_per_s\":{:.0f},"
      "\"ack_ms\":{{\"p50\":{:.3f},\"p99\":{:.3f},\"p999\":{:.3f},\"max\":{:.3f},"
      "\"mean\":{:.3f}}},\"service_ms\":{{\"p50\":{:.3f},\"p99\":{:.3f},\"p999\":{:.3f}}},"
      "\"send_lag_ms\":{{\"p50\":{:.3f},\"p99\":{:.3f},\"max\":{:.3f}}}}}\n",
      a.ack_placement, a.ack_preallocate,
      a.ack_segment_mib > 0 ? a.ack_segment_mib : TopicConfig().segment_bytes / kMiB,
      a.ack_retention_mib, a.ack_delete_topic_mib, g_recycle_segments, warmup_s, n,
      a.ack_partitions, kEvents, kEventBytes, a.ack_rate,
      std::chrono::duration<double, std::milli>(period).count(), secs,
      Seconds(deadline, std::max(end, deadline)), appends,
      static_cast<double>(events) / secs, pa.p50, pa.p99, pa.p999, pa.max, pa.mean, ps.p50,
      ps.p99, ps.p999, pl.p50, pl.p99, pl.max);
  std::fflush(stdout);
}

// Reads every partition of `topic` from offset 0 to the high watermark; `parallel` runs one
// reader per partition at once, otherwise partition 0 alone. With `verify_crc` the reader also
// checks every batch's CRC-32C, as a consumer does (ReadResult::ForEachRecord, Kafka clients):
// the store itself may or may not verify on read, so this is the end-to-end figure.
// Also reports the process's CPU seconds over the pass: bytes per CPU second is what the read
// path costs, and is far less disturbed than GB/s when other work shares the cores.
void PhaseRead(Log& log, runtime::Shards& shards, const std::string& topic, int partitions,
               bool parallel, bool verify_crc, int rep) {
  const int readers = parallel ? partitions : 1;
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> records{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string err;
  std::latch finished(readers);
  const CpuUsage cpu0 = Cpu();
  auto t0 = Clk::now();
  for (int i = 0; i < readers; ++i) {
    TopicPartition tp(topic, PartitionId(i));
    auto fn = [&, tp]() -> Task<void> {
      storage::ReadOptions ro;
      ro.max_records = 1 << 30;
      ro.max_bytes = 32 * kMiB;
      model::Offset pos(0);
      int64_t mine = 0, recs = 0;
      while (true) {
        auto r = co_await log.Read(tp, pos, ro);
        if (!r.ok()) {
          std::lock_guard lk(err_mu);
          err = r.status().ToString();
          failed = true;
          break;
        }
        bool bad = false;
        for (const auto& b : r->batches) {
          const model::RecordBatchView v = b.view();
          if (verify_crc) {
            Status st = v.VerifyHeaderAndCrc();
            if (!st.ok()) {
              std::lock_guard lk(err_mu);
              err = st.ToString();
              failed = true;
              bad = true;
              break;
            }
          }
          mine += static_cast<int64_t>(v.size());
          recs += v.last_offset() + 1 - v.base_offset();
        }
        if (bad) break;
        if (r->next_offset >= r->high_watermark || r->batches.empty()) break;
        pos = r->next_offset;
      }
      bytes += mine;
      records += recs;
      finished.count_down();
    };
    shards.Spawn(ShardId(static_cast<uint32_t>(i % shards.size())), std::move(fn));
  }
  finished.wait();
  auto t1 = Clk::now();
  const CpuUsage cpu1 = Cpu();
  const double cpu = cpu1.seconds - cpu0.seconds;
  if (failed) Die("read: " + err);
  const double secs = Seconds(t0, t1);
  fmt::print(
      "{{\"bench\":\"read\",\"readers\":{},\"reader_checks_crc\":{},\"rep\":{},\"max_bytes\":{},"
      "\"bytes\":{},\"records\":{},\"seconds\":{:.3f},\"gb_s\":{:.3f},\"mib_s\":{:.0f},"
      "\"cpu_seconds\":{:.3f},\"gb_per_cpu_s\":{:.3f},\"minor_faults\":{}}}\n",
      readers, verify_crc ? "true" : "false", rep, 32 * kMiB, bytes.load(), records.load(), secs,
      static_cast<double>(bytes.load()) / secs / 1e9,
      static_cast<double>(bytes.load()) / secs / kMiB, cpu,
      static_cast<double>(bytes.load()) / std::max(cpu, 1e-9) / 1e9,
      cpu1.minor_faults - cpu0.minor_faults);
  std::fflush(stdout);
}

void RemoveMarkers(const fs::path& dir, bool keep_recovery_point) {
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n == "clean-shutdown" || (!keep_recovery_point && n == "recovery-point")) {
      fs::remove(e.path());
    }
  }
}

void PhaseRecovery(runtime::Shards& shards, const Args& a) {
  const fs::path dir = fs::path(a.dir) / "recovery";
  fs::remove_all(dir);
  auto log = OpenLog(dir.string(), shards);
  const std::string topic = "bench-recovery";
  CreateTopic(*log, shards, topic, {{"partitions", "1"}, {"durability", "interval"}});
  auto w = RunAppend(*log, shards, topic, 1, 4, a.recovery_mib * kMiB);
  const int64_t disk = TopicBytes(*log, shards, topic);
  log->Stop();
  log.reset();
  const fs::path pdir = dir / "topics" / topic / "0";
  for (bool keep_rp : {false, true}) {
    RemoveMarkers(pdir, keep_rp);
    double secs = 0;
    log = OpenLog(dir.string(), shards, &secs);
    const int64_t after = TopicBytes(*log, shards, topic);
    fmt::print(
        "{{\"bench\":\"recovery\",\"recovery_point\":{},\"partition_bytes\":{},"
        "\"bytes_after\":{},\"payload_bytes\":{},\"open_seconds\":{:.3f},\"verify_gb_s\":{:.2f}}}\n",
        keep_rp ? "\"kept\"" : "\"deleted\"", disk, after, w.payload_bytes, secs,
        keep_rp ? 0.0 : static_cast<double>(disk) / secs / 1e9);
    std::fflush(stdout);
    if (after != disk) Die(fmt::format("recovery lost bytes: {} -> {}", disk, after));
    log->Stop();
    log.reset();
  }
  fs::remove_all(dir);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + k);
      return argv[++i];
    };
    if (k == "--dir") {
      a.dir = next();
    } else if (k == "--phases") {
      a.phases.clear();
      std::stringstream ss(next());
      std::string p;
      while (std::getline(ss, p, ',')) a.phases.insert(p);
    } else if (k == "--append-mib") {
      a.append_mib = std::stoll(next());
    } else if (k == "--append-partitions") {
      a.append_partitions = std::stoi(next());
    } else if (k == "--appenders-per-partition") {
      a.appenders_per_partition = std::stoi(next());
    } else if (k == "--ack-seconds") {
      a.ack_seconds = std::stod(next());
    } else if (k == "--ack-producers") {
      a.ack_producers = std::stoi(next());
    } else if (k == "--ack-partitions") {
      a.ack_partitions = std::stoi(next());
    } else if (k == "--ack-rate") {
      a.ack_rate = std::stod(next());
    } else if (k == "--ack-open-seconds") {
      a.ack_open_seconds = std::stod(next());
    } else if (k == "--ack-placement") {
      a.ack_placement = next();
      if (a.ack_placement != "owner" && a.ack_placement != "other")
        Die("--ack-placement is owner or other");
    } else if (k == "--ack-segment-mib") {
      a.ack_segment_mib = std::stoll(next());
    } else if (k == "--ack-delete-topic-mib") {
      a.ack_delete_topic_mib = std::stoll(next());
    } else if (k == "--ack-retention-mib") {
      a.ack_retention_mib = std::stoll(next());
    } else if (k == "--delete-mib-per-s") {
      g_delete_bytes_per_second = std::stod(next()) * kMiB;
    } else if (k == "--recycle") {
      g_recycle_segments = std::stoi(next()) != 0;
    } else if (k == "--ack-preallocate") {
      a.ack_preallocate = std::stoi(next()) != 0;
    } else if (k == "--checkpoint-interval-ms") {
      g_checkpoint_interval_ms = std::stoll(next());
    } else if (k == "--preallocate-mib-per-s") {
      g_preallocate_bytes_per_second = std::stod(next()) * kMiB;
    } else if (k == "--read-repeats") {
      a.read_repeats = std::stoi(next());
    } else if (k == "--recovery-mib") {
      a.recovery_mib = std::stoll(next());
    } else if (k == "--shards") {
      a.shards = static_cast<size_t>(std::stoul(next()));
    } else {
      Die("unknown flag " + k + " (see the comment at the top of bench/store_bench.cc)");
    }
  }
  if (a.dir.empty()) Die("--dir DIR is required");
  if (a.ack_rate <= 0 || a.ack_producers <= 0) Die("--ack-rate and --ack-producers must be > 0");
  return a;
}

int Main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  runtime::Shards shards(a.shards, 4);
  shards.Start();
  const fs::path store = fs::path(a.dir) / "store";
  const std::string topic = "bench-append";
  fs::remove_all(store);
  fs::create_directories(store);
  auto log = OpenLog(store.string(), shards);
  const bool appended = a.phases.count("append") || a.phases.count("read");
  if (appended) {
    CreateTopic(*log, shards, topic,
                {{"partitions", std::to_string(a.append_partitions)}, {"durability", "interval"}});
    auto t0 = Clk::now();
    auto w = RunAppend(*log, shards, topic, a.append_partitions, a.appenders_per_partition,
                       a.append_mib * kMiB);
    const int64_t disk = TopicBytes(*log, shards, topic);
    // Stop() flushes (fdatasync) every partition: the end is comparable to fio's end_fsync.
    log->Stop();
    auto t1 = Clk::now();
    log.reset();
    const double durable = Seconds(t0, t1);
    fmt::print(
        "{{\"bench\":\"append\",\"durability\":\"interval\",\"partitions\":{},\"appenders\":{},"
        "\"event_bytes\":1024,\"batch_events\":64,\"payload_bytes\":{},\"disk_bytes\":{},"
        "\"seconds_acked\":{:.3f},\"mib_s_acked\":{:.1f},\"seconds_durable\":{:.3f},"
        "\"mib_s\":{:.1f},\"disk_mib_s\":{:.1f}}}\n",
        a.append_partitions, a.append_partitions * a.appenders_per_partition, w.payload_bytes,
        disk, w.seconds_acked, static_cast<double>(w.payload_bytes) / kMiB / w.seconds_acked,
        durable, static_cast<double>(w.payload_bytes) / kMiB / durable,
        static_cast<double>(disk) / kMiB / durable);
    std::fflush(stdout);
    double open_secs = 0;
    log = OpenLog(store.string(), shards, &open_secs);
    fmt::print("{{\"bench\":\"open\",\"clean\":true,\"bytes\":{},\"open_seconds\":{:.3f}}}\n",
               disk, open_secs);
    std::fflush(stdout);
  }
  if (a.phases.count("ack")) PhaseAck(*log, shards, a);
  if (a.phases.count("ack_open")) PhaseAckOpen(*log, shards, a);
  if (a.phases.count("read")) {
    // Interleaved repeats: a pass is 0.3-2 s, short enough for other work on a shared box to
    // halve one; the runner reports the median and the best.
    for (int rep = 1; rep <= a.read_repeats; ++rep) {
      for (bool verify : {false, true}) {
        PhaseRead(*log, shards, topic, a.append_partitions, /*parallel=*/false, verify, rep);
        PhaseRead(*log, shards, topic, a.append_partitions, /*parallel=*/true, verify, rep);
      }
    }
  }
  log->Stop();
  log.reset();
  fs::remove_all(store);
  if (a.phases.count("recovery")) PhaseRecovery(shards, a);
  shards.Stop();
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
