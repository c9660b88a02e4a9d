// LineageStore: in-memory aggregation of lineage uses, their `_lineage` records, the loop that
// writes this instance's changes every few seconds and follows the other instances' records.
#include "registry/lineage_store.h"

#include <algorithm>
#include <limits>
#include <thread>

#include "base/logging.h"
#include "codec/json_parser.h"
#include "codec/json_writer.h"

namespace sluice::registry {
namespace {

spdlog::logger& Log() {
  static auto& l = logging::Get("registry");
  return l;
}

constexpr size_t kMaxRecordsPerAppend = 1000;

std::string_view OrLocal(const std::string& s) { return s.empty() ? "local" : s; }

}  // namespace

// --- encoding ---

std::string EncodeLineageKey(const LineageKey& k) {
  codec::JsonWriter w;
  w.BeginObject().Field("keytype", "LINEAGE").Field("id", k.id).Field("topic", k.topic);
  w.Field("principal", k.principal).Field("role", k.role).Field("instance", k.instance);
  w.EndObject();
  return w.Take();
}

std::string EncodeLineageValue(const LineageCounts& c) {
  codec::JsonWriter w;
  const uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  w.BeginObject().Field("events", static_cast<int64_t>(std::min(c.events, max)));
  w.Field("first_seen_ms", c.first_seen_ms).Field("last_seen_ms", c.last_seen_ms).EndObject();
  return w.Take();
}

std::optional<LineageKey> DecodeLineageKey(std::string_view key) {
  codec::JsonParser parser;
  auto v = parser.Parse(key);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  auto str = [&](const char* name) -> std::optional<std::string> {
    const codec::JsonValue* f = v->Find(name);
    if (f == nullptr || !f->is_string()) return std::nullopt;
    return std::string(f->text());
  };
  auto kt = str("keytype");
  if (!kt || *kt != "LINEAGE") return std::nullopt;
  const codec::JsonValue* id = v->Find("id");
  if (id == nullptr || !id->is_number()) return std::nullopt;
  auto idv = id->AsInt64();
  if (!idv || *idv <= 0 || *idv > std::numeric_limits<int32_t>::max()) return std::nullopt;
  auto topic = str("topic");
  auto principal = str("principal");
  auto role = str("role");
  auto instance = str("instance");
  if (!topic || !principal || !role || !instance) return std::nullopt;
  if (*role != "produces" && *role != "consumes") return std::nullopt;
  return LineageKey{static_cast<int32_t>(*idv), std::move(*topic), std::move(*principal),
                    std::move(*role), std::move(*instance)};
}

std::optional<LineageCounts> DecodeLineageValue(std::string_view value) {
  codec::JsonParser parser;
  auto v = parser.Parse(value);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  auto num = [&](const char* name) -> std::optional<int64_t> {
    const codec::JsonValue* f = v->Find(name);
    if (f == nullptr || !f->is_number()) return std::nullopt;
    auto n = f->AsInt64();
    if (!n || *n < 0) return std::nullopt;
    return n;
  };
  auto events = num("events");
  auto first = num("first_seen_ms");
  auto last = num("last_seen_ms");
  if (!events || !first || !last) return std::nullopt;
  return LineageCounts{static_cast<uint64_t>(*events), *first, *last};
}

// --- the store ---

LineageStore::LineageStore(LineageOptions options, storage::Log& log, runtime::Shards& shards)
    : options_(std::move(options)),
      log_(log),
      shards_(shards),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock::Instance()),
      tp_(kLineageTopic, model::PartitionId(0)) {
  options_.instance = std::string(OrLocal(options_.instance));
  options_.max_entries = std::max<size_t>(options_.max_entries, 10);
  options_.flush_interval_ms = std::max(options_.flush_interval_ms, 10);
}

LineageStore::~LineageStore() {
  // No final flush here: the shards may be gone by now. Stop() is the clean way out.
  stopping_ = true;
  for (int i = 0; i < 400 && loop_running_.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status LineageStore::Start() {
  auto init = [this]() -> Task<Status> {
    storage::TopicConfig cfg;
    cfg.partitions = 1;
    cfg.cleanup_policy = storage::CleanupPolicy::kCompact;
    // Counts are written again every few seconds: losing the last interval to a crash is fine.
    cfg.durability = storage::Durability::kInterval;
    cfg.retention_ms = -1;
    cfg.segment_bytes = 16LL * 1024 * 1024;
    SLUICE_CO_RETURN_IF_ERROR(co_await log_.EnsureInternalTopic(kLineageTopic, cfg));
    co_return co_await CatchUp();
  };
  SLUICE_RETURN_IF_ERROR(runtime::BlockOn(shards_, runtime::ShardId(0), init));
  Log().info("lineage: {} entries from {} (instance {})", entries(), kLineageTopic,
             options_.instance);
  started_ = true;
  loop_running_ = true;
  shards_.Spawn(runtime::ShardId(0), [this]() -> Task<void> { co_await Loop(); });
  return Status::Ok();
}

void LineageStore::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  for (int i = 0; i < 400 && loop_running_.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // What changed since the last flush, so a clean restart loses nothing.
  Status st = runtime::BlockOn(shards_, runtime::ShardId(0),
                               [this]() -> Task<Status> { co_return co_await Flush(); });
  if (!st.ok()) Log().warn("lineage: final write to {}: {}", kLineageTopic, st.message());
}

void LineageStore::Record(int32_t id, std::string_view topic, std::string_view principal,
                          std::string_view role, uint64_t events) {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  LineageKeyRef ref{id, topic, principal, role, options_.instance};
  auto it = entries_.find(ref);
  if (it == entries_.end()) {
    it = entries_
             .emplace(LineageKey{id, std::string(topic), std::string(principal),
                                 std::string(role), options_.instance},
                      Entry{})
             .first;
    it->second.counts.first_seen_ms = now;
  }
  it->second.counts.events += events;
  it->second.counts.last_seen_ms = std::max(it->second.counts.last_seen_ms, now);
  it->second.dirty = true;
  EvictIfFull();
}

std::vector<LineageUse> LineageStore::Uses() const {
  std::vector<LineageUse> out;
  std::lock_guard lock(mu_);
  // entries_ is ordered by (id, topic, principal, role, instance): one instance's entries of a
  // use are adjacent, so summing is one pass.
  for (const auto& [k, e] : entries_) {
    if (!out.empty() && out.back().id == k.id && out.back().topic == k.topic &&
        out.back().principal == k.principal && out.back().role == k.role) {
      LineageUse& u = out.back();
      u.events += e.counts.events;
      u.first_seen_ms = std::min(u.first_seen_ms, e.counts.first_seen_ms);
      u.last_seen_ms = std::max(u.last_seen_ms, e.counts.last_seen_ms);
      continue;
    }
    out.push_back(LineageUse{k.id, k.topic, k.principal, k.role, e.counts.events,
                             e.counts.first_seen_ms, e.counts.last_seen_ms});
  }
  return out;
}

size_t LineageStore::entries() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void LineageStore::EvictIfFull() {
  if (entries_.size() <= options_.max_entries) return;
  // Down to 90% at once, so that a stream of new uses costs one pass per tenth of the cap.
  const size_t keep = options_.max_entries - options_.max_entries / 10;
  std::vector<std::pair<int64_t, decltype(entries_)::iterator>> by_age;
  by_age.reserve(entries_.size());
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    by_age.emplace_back(it->second.counts.last_seen_ms, it);
  }
  const size_t drop = entries_.size() - keep;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop),
                   by_age.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < drop; ++i) {
    auto it = by_age[i].second;
    if (it->first.instance == options_.instance && tombstones_.size() < options_.max_entries) {
      tombstones_.push_back(it->first);
    }
    entries_.erase(it);
  }
}

Task<Status> LineageStore::Flush() {
  std::vector<model::ProduceRecord> records;
  std::vector<LineageKey> written;
  {
    std::lock_guard lock(mu_);
    for (auto& k : tombstones_) {
      // Seen again since it was evicted: the entry's record replaces the tombstone.
      if (entries_.count(k) != 0) continue;
      records.push_back(model::ProduceRecord(EncodeLineageKey(k), std::nullopt));
    }
    tombstones_.clear();
    for (auto& [k, e] : entries_) {
      if (!e.dirty) continue;
      e.dirty = false;
      records.push_back(model::ProduceRecord(EncodeLineageKey(k), EncodeLineageValue(e.counts)));
      written.push_back(k);
    }
  }
  Status result;
  for (size_t from = 0; from < records.size(); from += kMaxRecordsPerAppend) {
    const size_t to = std::min(records.size(), from + kMaxRecordsPerAppend);
    std::vector<model::ProduceRecord> chunk(std::make_move_iterator(records.begin() + from),
                                            std::make_move_iterator(records.begin() + to));
    auto r = co_await log_.Append(tp_, std::move(chunk));
    if (!r.ok()) {
      result = r.status();
      break;
    }
  }
  if (!result.ok()) {
    // Written again at the next flush (tombstones of a failed flush are given up: the entries
    // they name come back at most until the next eviction).
    std::lock_guard lock(mu_);
    for (const auto& k : written) {
      if (auto it = entries_.find(k); it != entries_.end()) it->second.dirty = true;
    }
  }
  co_return result;
}

Task<Status> LineageStore::CatchUp() {
  while (catching_up_) co_await catchup_done_.Wait();
  catching_up_ = true;
  storage::ReadOptions o;
  o.max_records = 10000;
  o.max_bytes = 8 << 20;
  const std::function<void(const model::RecordView&)> apply = [this](const model::RecordView& rec) {
    Apply(rec);
  };
  const model::TopicPartition tp = tp_;
  Status result = co_await storage::ReadToEnd(log_, tp, &applied_, o, apply);
  catching_up_ = false;
  catchup_done_.NotifyAll();
  co_return result;
}

void LineageStore::Apply(const model::RecordView& rec) {
  if (!rec.key) return;
  auto key = DecodeLineageKey(*rec.key);
  if (!key) {
    Log().warn("lineage: skipping record at offset {} of {}: bad key", rec.offset.value(),
               kLineageTopic);
    return;
  }
  std::optional<LineageCounts> counts;
  if (rec.value) {
    counts = DecodeLineageValue(*rec.value);
    if (!counts) {
      Log().warn("lineage: skipping record at offset {} of {}: bad value", rec.offset.value(),
                 kLineageTopic);
      return;
    }
  }
  const bool own = key->instance == options_.instance;
  std::lock_guard lock(mu_);
  auto it = entries_.find(*key);
  if (!counts) {
    // A tombstone: the writer forgot the use. Our own live entry (seen again since) stays.
    if (it != entries_.end() && !(own && it->second.dirty)) entries_.erase(it);
    return;
  }
  if (it == entries_.end()) {
    entries_.emplace(std::move(*key), Entry{*counts, false});
    EvictIfFull();
    return;
  }
  LineageCounts& c = it->second.counts;
  if (own) {
    // Our own record read back (or a previous run's): counts only grow, so never go back.
    c.events = std::max(c.events, counts->events);
    if (c.first_seen_ms == 0 || (counts->first_seen_ms != 0 &&
                                 counts->first_seen_ms < c.first_seen_ms)) {
      c.first_seen_ms = counts->first_seen_ms;
    }
    c.last_seen_ms = std::max(c.last_seen_ms, counts->last_seen_ms);
  } else {
    c = *counts;  // the other instance's latest total
  }
}

Task<void> LineageStore::Loop() {
  auto next_flush = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(options_.flush_interval_ms);
  while (!stopping_.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_flush) {
      Status st = co_await Flush();
      if (!st.ok()) Log().warn("lineage: writing to {}: {}", kLineageTopic, st.message());
      next_flush = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(options_.flush_interval_ms);
      continue;
    }
    const auto until_flush =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_flush - now).count();
    storage::ReadOptions o;
    o.max_records = 1;
    o.wait_ms = static_cast<int32_t>(
        std::clamp<int64_t>(until_flush, 1, std::max(options_.tail_wait_ms, 1)));
    auto r = co_await log_.Read(tp_, model::Offset(applied_), o);
    if (stopping_.load()) break;
    if (!r.ok()) {
      if (r.status().code() != ErrorCode::kOutOfRange) {
        Log().warn("lineage: reading {}: {}", kLineageTopic, r.status().message());
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(500));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
    } else if (r->high_watermark.value() <= applied_) {
      continue;
    }
    Status st = co_await CatchUp();
    if (!st.ok()) Log().warn("lineage: following {}: {}", kLineageTopic, st.message());
  }
  loop_running_ = false;
}

}  // namespace sluice::registry
