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

#include <absl/container/flat_hash_map.h>

#include <cstring>
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

// String-keyed open-addressing map, searchable with a string_view (no copy per lookup). Values
// may move on rehash; keys' bytes too (do not keep views across inserts).
// Keys are short encoded values (an int key is 9 bytes): hash 8-byte words and finish with a
// multiply-xorshift, far cheaper than a general byte hash on this path.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (s.size() * 0xff51afd7ed558ccdULL);
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
      h ^= h >> 29;
    }
    if (i < s.size()) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringHash, StringEq>;

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
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct State;
  using StatePtr = std::unique_ptr<State>;
  struct Session;
  // The state of one pane: a flat array of aggregate rows (no allocation per key) indexed by
  // key; integer keys (the common case: ids) skip encoding and string hashing.
  struct Pane {
    absl::flat_hash_map<int64_t, uint32_t> ints;
    StringMap<uint32_t> others;    // EncodeValue bytes -> row
    std::vector<uint64_t> rows;    // row_words_ words per row
    struct RowKey {
      int64_t int_key = 0;
      int32_t other = -1;  // >= 0: the key is other_keys[other] (encoded), else int_key
    };
    std::vector<RowKey> keys;  // per row
    std::vector<std::string> other_keys;
    size_t size() const { return keys.size(); }
  };

  StatePtr NewState() const;
  void AddTo(State& s, const Row& row, std::span<const model::Value> inputs);
  void EmitResult(const model::Value& key, int64_t start, int64_t end, const std::byte* row);
  void EmitEncodedResult(std::string_view key, int64_t start, int64_t end, const std::byte* row);
  std::byte* PaneRow(Pane& p, uint32_t i) const {
    return reinterpret_cast<std::byte*>(p.rows.data() + static_cast<size_t>(i) * row_words_);
  }
  // The row for `key` in `p`, created (Init) when new.
  uint32_t PaneSlot(Pane& p, const model::Value& key);
  model::Value PaneKey(const Pane& p, uint32_t i);
  void DropPane(Pane& p);
  void FlushOut();

  // Tumbling / hopping.
  void PushPaned(const Row& row, const model::Value& key, std::span<const model::Value> inputs);
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
  std::map<int64_t, Pane> panes_;
  size_t row_words_ = 0;
  int64_t next_window_start_;  // smallest window start not yet fired
  std::set<int64_t> refire_;   // fired windows changed by allowed-late events

  static constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::max();
  struct SessionKey {
    std::vector<Session> sessions;
    int64_t armed = kNoTimer;  // time of this key's earliest pending timer
  };
  int64_t NextSessionTimer(const SessionKey& sk) const;
  void ArmSessionTimer(std::string_view key, SessionKey& sk, int64_t at);
  StringMap<SessionKey> sessions_;
  std::multimap<int64_t, std::string> session_timers_;  // time -> key (may be stale)

  int64_t last_early_ = kNoWatermark;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::vector<model::Value> inputs_;
  std::vector<model::Value> results_;
  // Scratch for merging a hopping window's panes: key -> row index into merge_rows_.
  absl::flat_hash_map<int64_t, uint32_t> merge_ints_;
  absl::flat_hash_map<std::string_view, uint32_t, StringHash, StringEq> merge_others_;
  std::vector<model::Value> merge_keys_;
  std::vector<uint64_t> merge_rows_;  // 8-byte aligned raw rows of layout_
  std::vector<Row> out_;
};

}  // namespace sluice::stream
