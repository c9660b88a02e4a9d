// LifetimeJoinOperator (join `kind: lifetime`): each left event is an entity alive from its event
// time until a time it carries (an auction until it expires, an offer until its deadline); the
// right events of its key inside that lifetime are aggregated into it, and one result per entity
// comes out when the watermark passes its end. Nexmark's q4 and q9 ("the winning bid: the
// highest bid between a.dateTime and a.expires") and Beam's WinningBids are this shape.
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "stream/aggregate_row.h"
#include "stream/operator.h"
#include "stream/pipeline_spec.h"
#include "stream/window_operator.h"  // StringMap, WindowOperator::Aggregate

namespace sluice::stream {

// Input 0 (left) opens a window [left.time, until(left)] (both inclusive) for its key; input 1
// (right) events whose key and time fall into a window are folded into that window's aggregates
// (every window of the key that contains them: left keys may repeat). When the watermark (the
// minimum of both inputs) reaches a window's end, the window emits
// {<left_as>: left event, <aggregate>: value, ...} with the join key as row key and event time
// `end`, then is dropped. Inner: only windows that received a right event emit; left outer:
// every window (aggregates of nothing: count 0, the others NULL).
// Invariants (W = the minimum watermark of both inputs):
//  1. Events with time <= W are late (late output): a window could have closed without them,
//     and no window that is not late can start at or before W.
//  2. A right event may belong to a left event that has not arrived yet (out of order, or the
//     same millisecond), so right events are also kept until W passes their time — not whole:
//     pre-aggregated per key and millisecond (a pane of aggregate state), which a window that
//     opens later merges in. State: the open windows, plus per key one pane per millisecond
//     that had right events, over the last (watermark delay) of event time.
//  3. A window is emitted before the watermark that closes it is forwarded, so its row (time
//     `end` <= W) is never behind the watermark downstream has seen.
// Owned by its task, on the task's shard.
class LifetimeJoinOperator final : public Operator {
 public:
  LifetimeJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                       std::unique_ptr<rules::Expression> left_key,
                       std::unique_ptr<rules::Expression> right_key,
                       std::unique_ptr<rules::Expression> until,
                       std::vector<WindowOperator::Aggregate> aggregates);
  ~LifetimeJoinOperator() override;

  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return state_bytes_; }
  size_t open_windows() const { return windows_; }
  size_t buffered_panes() const { return panes_; }

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  static constexpr int64_t kNoTimer = INT64_MAX;
  struct Window {
    int64_t start;
    int64_t end;
    std::string left;  // EncodeValue of the left event
    AggregateRow row;
    bool matched = false;
  };
  struct Pane {
    int64_t time;
    AggregateRow row;
  };
  struct KeyState {
    std::vector<Window> windows;
    // Sorted by time. A vector, not a deque: most keys hold a few panes, and an empty deque
    // already allocates 512 bytes (one key per auction at 10M events/s: hundreds of MB).
    std::vector<Pane> panes;
    int64_t timer = kNoTimer;
  };
  // A join key: integers (ids, the common case) are kept as they are, anything else as its
  // EncodeValue bytes. `bytes` borrows (from scratch_ or a map's key) unless owned by a Timer.
  struct KeyRef {
    bool is_int = false;
    int64_t int_key = 0;
    std::string_view bytes;
  };
  struct Timer {
    int64_t time;
    bool is_int;
    int64_t int_key;
    std::string bytes;
  };
  // Orders by time only: ties (many keys due in the same millisecond) need no key comparison.
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const { return a.time > b.time; }
  };

  bool EvalInputs(int input, const Row& row, model::Value& key);
  void PushLeft(const Row& row, const KeyRef& key);
  void PushRight(const Row& row, const KeyRef& key);
  // The state of `key`, created when new; `ref` is set to a KeyRef that stays valid while the key
  // is in its map.
  KeyState& StateFor(const KeyRef& key, KeyRef& ref);
  void AddToPane(KeyState& ks, int64_t time);
  // Emits the windows of `ks` that end at or before `wm` and drops panes at or before it.
  void Expire(const KeyRef& key, KeyState& ks, int64_t wm);
  // Adds the result of `w` to out_ with event time `time`.
  void EmitWindow(const KeyRef& key, const Window& w, int64_t time);
  void Arm(const KeyRef& key, KeyState& ks);
  size_t WindowBytes(const Window& w) const;
  size_t PaneBytes() const;

  JoinType type_;
  std::string left_as_;
  std::unique_ptr<rules::Expression> left_key_;
  std::unique_ptr<rules::Expression> right_key_;
  std::unique_ptr<rules::Expression> until_;
  std::vector<WindowOperator::Aggregate> aggs_;
  // Declared before keys_: their rows refer to it, so it is destroyed after them.
  std::unique_ptr<AggregateRowLayout> layout_;
  int64_t wm_ = kNoWatermark;
  absl::flat_hash_map<int64_t, KeyState> int_keys_;
  StringMap<KeyState> keys_;  // EncodeValue(key) -> state, for keys that are not integers
  // (time, key): the key has a window end or a pane time there. Stale entries (the key's timer
  // moved) are skipped.
  std::priority_queue<Timer, std::vector<Timer>, Later> timers_;
  size_t windows_ = 0;
  size_t panes_ = 0;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::string encode_scratch_;
  std::string reason_;
  std::vector<model::Value> inputs_;
  std::vector<model::Value> results_;
  std::vector<Row> out_;
};

// Builds a lifetime join (spec.kind == kLifetime): compiles the keys, `until` and aggregates.
Result<std::unique_ptr<Operator>> MakeLifetimeJoinOperator(std::string name, TaskContext& ctx,
                                                          const JoinSpec& spec);

}  // namespace sluice::stream
