// LineageStore: the registry's lineage (which topics and principals produce or consume each
// schema id), aggregated in memory and kept in the compacted internal topic `_lineage` so it
// survives restarts and is shared by every instance on the same log. Record layout:
// docs/formats/lineage.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "model/record.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/shards.h"
#include "storage/log.h"

namespace sluice::registry {

inline constexpr char kLineageTopic[] = "_lineage";

// One (schema id, topic, principal, role) use, summed over instances.
struct LineageUse {
  int32_t id = 0;
  std::string topic;
  std::string principal;
  std::string role;  // "produces" or "consumes"
  uint64_t events = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// The identity of one `_lineage` record: a use as counted by one instance. Each instance writes
// only its own keys, so counts add up across instances instead of overwriting each other.
struct LineageKey {
  int32_t id = 0;
  std::string topic;
  std::string principal;
  std::string role;
  std::string instance;
  auto operator<=>(const LineageKey&) const = default;
};

// A LineageKey made of views, to find an entry without building its strings.
struct LineageKeyRef {
  int32_t id = 0;
  std::string_view topic;
  std::string_view principal;
  std::string_view role;
  std::string_view instance;
};
struct LineageKeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Tuple(a) < Tuple(b);
  }
  template <typename K>
  static std::tuple<int32_t, std::string_view, std::string_view, std::string_view,
                    std::string_view>
  Tuple(const K& k) {
    return {k.id, k.topic, k.principal, k.role, k.instance};
  }
};

struct LineageCounts {
  uint64_t events = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// `_lineage` record encoding (JSON key -> JSON value; null value = forgotten). Decoding never
// trusts the bytes: anything malformed is nullopt.
std::string EncodeLineageKey(const LineageKey& k);
std::string EncodeLineageValue(const LineageCounts& c);
std::optional<LineageKey> DecodeLineageKey(std::string_view key);
std::optional<LineageCounts> DecodeLineageValue(std::string_view value);

struct LineageOptions {
  // Entries (one per use per instance) kept in memory; beyond it the least recently seen are
  // forgotten (down to 90% of the cap), and this instance's own are tombstoned in `_lineage`.
  size_t max_entries = 10000;
  // How often this instance writes the entries that changed (aggregated, never per event).
  int32_t flush_interval_ms = 5000;
  // Long-poll of the loop that follows other instances' records.
  int32_t tail_wait_ms = 500;
  // Names this process's entries; stable across restarts so a restarted process continues its
  // own counts rather than starting new ones. Empty: "local".
  std::string instance;
  const Clock* clock = nullptr;  // null: SystemClock
};

// Invariants:
//  1. entries_ holds at most options_.max_entries entries after every public call.
//  2. Only keys whose instance is options_.instance are ever marked dirty or written.
// Lifecycle: construct, Start() (creates and replays `_lineage`, then follows it and flushes on
// shard 0), Stop() (writes what changed, then stops; idempotent). Record() and Uses() are
// thread-safe; the Registry owns it.
class LineageStore {
 public:
  LineageStore(LineageOptions options, storage::Log& log, runtime::Shards& shards);
  ~LineageStore();

  // From a non-shard thread. Errors: the log's (creating or reading `_lineage`).
  Status Start();
  // From a non-shard thread; idempotent.
  void Stop();

  // Adds `events` to this instance's count for the use. Thread-safe, cheap (one map lookup).
  void Record(int32_t id, std::string_view topic, std::string_view principal,
              std::string_view role, uint64_t events);
  // Every use known (this instance's and the others'), summed over instances, ordered by
  // (id, topic, principal, role).
  std::vector<LineageUse> Uses() const;
  size_t entries() const;

  // Writes the entries that changed since the last flush (shard 0). Public for tests.
  Task<Status> Flush();
  // Applies `_lineage` records up to its end (shard 0). Public for tests.
  Task<Status> CatchUp();

 private:
  struct Entry {
    LineageCounts counts;
    bool dirty = false;
  };
  Task<void> Loop();
  void Apply(const model::RecordView& rec);
  // REQUIRES: mu_ held.
  void EvictIfFull();

  LineageOptions options_;
  storage::Log& log_;
  runtime::Shards& shards_;
  const Clock& clock_;
  model::TopicPartition tp_;

  mutable std::mutex mu_;
  std::map<LineageKey, Entry, LineageKeyLess> entries_;
  std::vector<LineageKey> tombstones_;  // own keys evicted, to forget in `_lineage` (bounded)

  // Shard 0 only.
  int64_t applied_ = 0;
  bool catching_up_ = false;
  runtime::Event catchup_done_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> loop_running_{false};
};

}  // namespace sluice::registry
