// Join operators between two streams: on event time the window join, interval join and the
// event-time temporal (versioned table) join; without time bounds the regular join. Semantics follow Flink; docs/pipelines.md ("Joins")
// documents them for users.
//
// Shared rules (every kind):
//  1. Input 0 is the left stream, input 1 the right one. A joined row is an object
//     {<left_as>: left event, <right_as>: right event} (NULL for the missing side of a left outer
//     join); window joins add window_start and window_end. Its key is the join key.
//  2. Keys that evaluate to NULL never match (SQL). Key evaluation errors go to the error output.
//  3. Everything kept across calls is owned by the operator: events and keys are stored as
//     EncodeValue bytes in std::strings and decoded into ctx_.arena only when a result is built,
//     so nothing points into the task arena after the call that received it.
//  4. State is bounded by what the watermarks still allow to match (except the regular join's,
//     which grows with its keys unless `state_ttl` expires them, and a temporal join's table,
//     one version per key); StateBytes() reports what is in memory.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stream/operator.h"
#include "stream/pipeline_spec.h"
#include "stream/spill_store.h"
#include "stream/window_operator.h"  // StringMap

namespace sluice::stream {

// Keyed-state options of a join (OperatorSpec::state_ttl_ms, state_memory_bytes): TTL for
// regular and temporal joins, a memory budget for regular joins' per-key buffers and temporal
// joins' tables.
using JoinStateOptions = KeyedStateOptions;

// The parts shared by the three join kinds: key evaluation, stored events, result rows.
class JoinOperator : public Operator {
 public:
  size_t StateBytes() const override { return state_bytes_; }

 protected:
  static constexpr int kLeft = 0;
  static constexpr int kRight = 1;
  // Accounting overhead per stored event (container nodes, bookkeeping), for StateBytes().
  static constexpr size_t kStoredOverhead = 48;

  // An event kept by the operator: its event time and EncodeValue bytes.
  struct Stored {
    int64_t time = 0;
    std::string bytes;
    bool matched = false;  // left outer joins: did it ever join?
    size_t Bytes() const { return kStoredOverhead + bytes.size(); }
  };

  enum class KeyStatus { kOk, kNull, kError };

  JoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
               std::unique_ptr<rules::Expression> left_key,
               std::unique_ptr<rules::Expression> right_key);

  // Evaluates the key of `row` arriving on `input` and encodes it into `encoded`. kError has
  // already been reported to the error output.
  KeyStatus EvalKey(int input, const Row& row, std::string& encoded);
  Stored Store(const Row& row);
  // The stored event (or key) decoded into ctx_.arena. An undecodable one (nested deeper than the
  // codec allows) is reported as an error and yields NULL.
  model::Value Restore(std::string_view bytes, int64_t time);
  // Appends a joined row to out_. `window_start` is used by window joins only.
  void AddResult(model::Value left, model::Value right, model::Value key, int64_t time,
                 int64_t window_start = 0, int64_t window_end = 0, bool windowed = false);
  void FlushOut();
  bool left_outer() const { return type_ == JoinType::kLeft; }
  static void SaveStored(StateWriter& w, const Stored& s);
  static Stored LoadStored(StateReader& r);
  // One side's buffered events: a count, then each event (vectors and deques alike).
  template <typename Events>
  static void SaveEvents(StateWriter& w, const Events& events) {
    w.U64(events.size());
    for (const Stored& s : events) SaveStored(w, s);
  }
  template <typename Events>
  void LoadEvents(StateReader& r, Events& into) {
    for (uint64_t i = 0, m = r.Count(3); i < m && r.ok(); ++i) {
      into.push_back(LoadStored(r));
      state_bytes_ += into.back().Bytes();
    }
  }

  JoinType type_;
  std::string left_as_;   // member names of results; results' names point here
  std::string right_as_;
  std::unique_ptr<rules::Expression> left_key_;
  std::unique_ptr<rules::Expression> right_key_;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::string encode_scratch_;  // Store()
  std::string reason_;
  std::vector<Row> out_;
};

// Window join: both sides are buffered per pane (gcd(size, slide)) and key; a window
// [start, end) fires when the watermark (minimum of both inputs) reaches end - 1 and emits, per
// key, every left × right pair of its panes (left outer: unmatched left rows with right NULL).
// Results carry window_start/window_end and event time end - 1. A pane is dropped once the last
// window containing it has fired, so state covers only windows the watermark has not closed.
// An event whose every window has closed goes to the late output.
class WindowJoinOperator final : public JoinOperator {
 public:
  WindowJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                     std::unique_ptr<rules::Expression> left_key,
                     std::unique_ptr<rules::Expression> right_key);
  void Push(int input, std::span<Row> rows) override;

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  // A buffered event with its encoded key. Left outer joins keep NULL-keyed left events under
  // the empty key, which no encoded key equals.
  struct Entry {
    std::string key;
    Stored event;
    size_t Bytes() const { return key.size() + event.Bytes(); }
  };
  // Events are appended, not grouped by key: most never match (q7 buffers every bid for one
  // max per window), so grouping waits until the window fires.
  struct Pane {
    std::vector<Entry> left;   // arrival order
    std::vector<Entry> right;  // arrival order
  };
  int64_t LastWindowStartFor(int64_t pane) const;
  Pane& PaneAt(int64_t start);
  void FireWindow(int64_t start);

  int64_t size_ms_;
  int64_t slide_ms_;
  int64_t pane_ms_;
  int64_t wm_ = kNoWatermark;
  int64_t next_window_start_ = kNoWatermark;  // smallest window start not yet fired
  std::map<int64_t, Pane> panes_;             // pane start -> events
  Pane* cached_pane_ = nullptr;               // panes_[cached_start_]: consecutive events share one
  int64_t cached_start_ = 0;
};

// Interval join: right.time BETWEEN left.time + lower AND left.time + upper. Each arriving event
// is matched at once against the other side's buffer for its key (both kept sorted by time) and
// then buffered itself, so every pair is emitted exactly once, with event time max(left, right).
// Invariants (W = the minimum watermark of both inputs):
//  1. An event with time <= W is late (its pairs could be incomplete and would be behind the
//     watermark already sent downstream): late output.
//  2. A left event is kept while left.time + upper > W, a right event while right.time - lower
//     > W: past that no event that is not late can match it.
//  3. Left outer: a left event leaving the buffer unmatched is emitted with right NULL; the
//     output watermark is held back by max(upper, 0) so these rows are never behind it.
class IntervalJoinOperator final : public JoinOperator {
 public:
  IntervalJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                       std::unique_ptr<rules::Expression> left_key,
                       std::unique_ptr<rules::Expression> right_key);
  void Push(int input, std::span<Row> rows) override;

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct KeyState {
    std::deque<Stored> left;   // sorted by time
    std::deque<Stored> right;  // sorted by time
    int64_t timer = INT64_MAX;  // the expiry registered in timers_ for this key
  };
  int64_t ExpiryOf(int input, int64_t time) const;
  void Expire(const std::string& key, KeyState& ks, int64_t wm);
  void Arm(const std::string& key, KeyState& ks);

  int64_t lower_ms_;
  int64_t upper_ms_;
  int64_t wm_ = kNoWatermark;
  StringMap<KeyState> keys_;
  // expiry -> key; an entry is live when it equals its key's `timer` (others are stale).
  std::multimap<int64_t, std::string> timers_;
};

// Event-time temporal join (Flink's FOR SYSTEM_TIME AS OF left.time): the right input is a
// versioned table — per key, its values with their event times. A left event waits until the
// right input's watermark reaches its time, then joins the latest version with time <= its own
// (none, or a deleted key: inner drops it, left outer emits right NULL). A right event whose
// value is NULL (or, with source `metadata: true`, whose `value` member is NULL) deletes its key
// from that time on. Results have the left event's time.
// Invariants (W = the minimum watermark of both inputs, R = the right input's watermark):
//  1. Left events with time <= W are late; right events with time <= R are late (left events up
//     to R were already joined without them).
//  2. Every left event still to be joined has time > W, so per key only the latest version with
//     time <= W and the versions after it are kept; older ones (and a deletion that is the
//     latest, with nothing after it) are pruned.
//  3. Waiting left events are held until R passes them: a right input whose watermark stops
//     (an idle table) holds them, as in Flink.
//  4. State TTL (ttl > 0): a version at time v is not seen by left events at or after v + ttl
//     (the key was not updated for ttl: as if deleted at v + ttl). This depends only on event
//     times, so pruning (when W reaches v + ttl) and restores never change a result.
//  5. The table lives in a SpillStore (`state_memory`): a key's versions, stamped with its latest
//     version's time, are in memory or, for the coldest keys, on disk. Pruning by the watermark
//     (2.) visits keys in memory, and a spilled key when it is read back; TTL expiry also
//     reaches keys on disk (a key whose latest version is invisible to every left event to come
//     goes whole). Pruning never changes a result, so neither does where a key is.
class TemporalJoinOperator final : public JoinOperator {
 public:
  TemporalJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                       std::unique_ptr<rules::Expression> left_key,
                       std::unique_ptr<rules::Expression> right_key,
                       const JoinStateOptions& state = {});
  void Push(int input, std::span<Row> rows) override;
  size_t waiting() const { return waiting_.size(); }
  size_t versions() const { return versions_; }
  size_t keys() const { return table_.size(); }
  size_t StateBytes() const override { return state_bytes_ + table_.stats().memory_bytes; }
  size_t SpilledBytes() const override { return table_.stats().spilled_bytes; }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 protected:
  void OnWatermark(int64_t wm) override;
  void OnInputWatermark(int input, int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct Version {
    int64_t time = 0;
    std::string bytes;  // empty: the key was deleted
    size_t Bytes() const { return kStoredOverhead + bytes.size(); }
  };
  struct Waiting {
    std::string key;
    std::string bytes;
  };
  // Disk and checkpoint form of a key's versions: `u` count, each `i` time, `bytes` value.
  struct VersionsCodec {
    static void Encode(const std::vector<Version>& v, std::string& out);
    static bool Decode(std::string_view in, std::vector<Version>& v);
    static size_t Bytes(const std::vector<Version>& v);
    // The version count of Encode bytes (0 when corrupt).
    static size_t Count(std::string_view in);
  };
  using Table = SpillStore<std::vector<Version>, VersionsCodec>;
  void PushLeft(const Row& row);
  void PushRight(const Row& row);
  void JoinLeft(std::string_view key, model::Value left, int64_t time);
  // Drops versions of the slot's key no pending or future left event can need; true when none
  // remain (the caller erases the slot).
  bool Prune(Table::Slot& slot);
  void PruneAll();

  // Left events at `time` see version `v` (ttl not passed).
  bool Visible(const Version& v, int64_t time) const {
    return ttl_ms_ == 0 || time - v.time < ttl_ms_;
  }

  int64_t ttl_ms_;
  int64_t wm_ = kNoWatermark;        // minimum of both inputs
  int64_t right_wm_ = kNoWatermark;  // the right input's
  Table table_;        // key -> versions sorted by time; stamp: the latest version's time
  size_t versions_ = 0;  // in memory and on disk
  size_t next_prune_at_ = 1024;  // PruneAll when versions_ reaches this
  int64_t next_ttl_prune_ = kNoWatermark;  // and when wm_ reaches this (TTL)
  uint64_t ttl_expired_ = 0;
  std::multimap<int64_t, Waiting> waiting_;  // left time -> event (state_bytes_ counts them)
};

// Regular join (Flink's unbounded `a JOIN b ON a.k = b.k`, inner only): every event is kept in
// its side's buffer for its key, and each arriving event is matched at once against the other
// side's buffer, so every pair comes out exactly once, in arrival order, with event time the
// later of the two. Per-key buffers live in a SpillStore: in memory up to `state_memory`, the
// coldest keys on disk beyond it. Invariants (W = the minimum watermark of both inputs):
//  1. Without TTL state only grows (StateBytes() shows what is in memory, SpilledBytes() what is
//     on disk): use it on inputs that are filtered down or bounded, as Flink users do.
//  2. With TTL, a key's stamp is the latest event time written to it (either side); once
//     W >= stamp + ttl the key is expired: an arriving event neither matches its rows nor keeps
//     them (it starts the key afresh), checkpoints leave it out, loads drop it, and a sweep every
//     ttl/2 of event time frees it. Expiry depends on event times and W only, as lateness does.
//  3. Nothing is late: watermarks do not drop events, they only pass through (and expire keys).
//     A result of an event at or before the watermark may be behind it downstream.
//  4. Inner only: a left outer regular join would need retractions of its NULL rows.
class RegularJoinOperator final : public JoinOperator {
 public:
  RegularJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                      std::unique_ptr<rules::Expression> left_key,
                      std::unique_ptr<rules::Expression> right_key,
                      const JoinStateOptions& state = {});
  void Push(int input, std::span<Row> rows) override;
  size_t keys() const { return store_.size(); }
  size_t StateBytes() const override { return store_.stats().memory_bytes; }
  size_t SpilledBytes() const override { return store_.stats().spilled_bytes; }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct KeyState {
    std::vector<Stored> left;   // arrival order
    std::vector<Stored> right;  // arrival order
  };
  // Disk and checkpoint form of a KeyState: left events, right events (SaveEvents).
  struct KeyCodec {
    static void Encode(const KeyState& k, std::string& out);
    static bool Decode(std::string_view in, KeyState& k);
    static size_t Bytes(const KeyState& k);
  };
  using KeyStore = SpillStore<KeyState, KeyCodec>;
  // Keys stamped at or before this are expired at watermark `wm` (INT64_MIN: none).
  int64_t ExpiryCutoff(int64_t wm) const;

  int64_t ttl_ms_;
  KeyStore store_;
  int64_t next_sweep_ = kNoWatermark;  // TTL: sweep when the watermark reaches this
  uint64_t ttl_expired_ = 0;
};

// Builds the operator for `spec.kind`. Errors: the key expressions' compile errors.
Result<std::unique_ptr<Operator>> MakeJoinOperator(std::string name, TaskContext& ctx,
                                                  const JoinSpec& spec,
                                                  const JoinStateOptions& state = {});

}  // namespace sluice::stream
