// WindowOperator: keyed (or global) event-time windows — tumbling, hopping and session — with
// aggregates, watermark-driven firing, allowed lateness with updated results, early results,
// and a late output for events past the lateness.
//
// Invariants:
//  1. Tumbling and hopping windows keep state per pane (gcd(size, slide) long) and key; a window
//     is the merge of its panes, so an event updates one pane however many windows overlap.
//  2. A window [start, end) fires once when the watermark reaches end - 1, and again for every
//     allowed-late event that changes it, until the watermark passes end - 1 + lateness; then
//     its state is dropped.
//  3. An event whose every window has passed end - 1 + lateness goes to the late output.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "stream/aggregate.h"
#include "stream/aggregate_row.h"
#include "stream/operator.h"
#include "stream/pipeline_spec.h"

namespace sluice::stream {

// Hash for string-keyed maps that can be searched with a string_view (no copy per lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class WindowOperator final : public Operator {
 public:
  struct Aggregate {
    std::string name;
    AggregateSpec spec;
    std::unique_ptr<rules::Expression> argument;  // null for count(*)
  };
  // key: the grouping expression; null uses the row's key (from key_by), which is Null for a
  // global window.
  WindowOperator(std::string name, TaskContext& ctx, WindowSpec window,
                 std::unique_ptr<rules::Expression> key, bool keyed, std::string key_name,
                 std::vector<Aggregate> aggregates);
  ~WindowOperator() override;

  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return state_bytes_; }
  size_t open_states() const;

 protected:
  void OnWatermark(int64_t wm) override;

 private:
  struct State;
  using StatePtr = std::unique_ptr<State>;
  struct Session;

  StatePtr NewState() const;
  void AddTo(State& s, const Row& row, std::span<const model::Value> inputs);
  void EmitResult(std::string_view key, int64_t start, int64_t end, const State& s);
  void FlushOut();

  // Tumbling / hopping.
  void PushPaned(const Row& row, std::string_view key, std::span<const model::Value> inputs);
  void FireWindow(int64_t start, bool early);
  void FirePaned(int64_t wm);
  int64_t LastWindowStartFor(int64_t pane_start) const;
  // Sessions.
  void PushSession(const Row& row, std::string_view key, std::span<const model::Value> inputs);
  void FireSessions(int64_t wm);

  WindowSpec w_;
  std::unique_ptr<rules::Expression> key_expr_;
  bool keyed_;  // results carry the key (false: one global window per time range)
  std::string key_name_;
  std::vector<Aggregate> aggs_;
  // Declared before the state maps: their rows refer to it, so it must be destroyed after them.
  std::unique_ptr<AggregateRowLayout> layout_;
  int64_t wm_ = kNoWatermark;
  int64_t pane_ms_ = 0;

  // pane start -> key -> state
  std::map<int64_t, StringMap<StatePtr>> panes_;
  int64_t next_window_start_;  // smallest window start not yet fired
  std::set<int64_t> refire_;   // fired windows changed by allowed-late events

  StringMap<std::vector<Session>> sessions_;
  std::multimap<int64_t, std::string> session_timers_;  // end -> key (may be stale)

  int64_t last_early_ = kNoWatermark;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::vector<model::Value> inputs_;
  std::vector<model::Value> results_;
  std::vector<Row> out_;
};

}  // namespace sluice::stream
