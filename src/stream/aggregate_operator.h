// AggregateOperator: the unbounded GROUP BY (Flink's non-windowed aggregation) — per key,
// aggregates over every event seen so far, with an updated result for each key a batch changed.
// Also CompileAggregates, which turns the `aggregates:` of a spec into compiled expressions for
// every operator that has them (window, aggregate, lifetime join).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stream/aggregate_row.h"
#include "stream/operator.h"
#include "stream/pipeline_spec.h"
#include "stream/spill_store.h"
#include "stream/window_operator.h"  // StringMap, WindowOperator::Aggregate

namespace sluice::stream {

// Parses each item's function and compiles its argument. Errors: kInvalidArgument naming the
// spec position of an unknown function, bad parameters or an expression that does not compile.
Result<std::vector<WindowOperator::Aggregate>> CompileAggregates(
    const std::vector<AggregateItem>& items, const rules::CompileOptions& options = {});

// An updating aggregate: results are upserts keyed by the group key. After every pushed batch
// it emits one row per key that batch changed, {<key_name>: key, <aggregate>: value, ...}
// (without the key member when there is no key: one global group), with the row key set to the
// group key and event time the latest event time of the key's inputs. A consumer keeps the last
// row per key; the sequence of rows of a key depends on how the input was batched, the last one
// does not.
// Per-key rows live in a SpillStore: in memory up to `state_memory`, the coldest keys on disk
// beyond it (a key's row comes back when an event of the key arrives).
// Invariants (W = the input watermark):
//  1. Nothing is late: watermarks pass through unchanged. Without TTL nothing expires and state
//     holds one aggregate row per key ever seen (StateBytes() in memory, SpilledBytes() on
//     disk): group by bounded keys.
//  2. With TTL, a key's stamp is the latest event time of its inputs (the result rows' time);
//     once W >= stamp + ttl the key is expired: its next input starts a fresh group (the
//     aggregates restart from that row, like Flink's idle state retention), checkpoints leave it
//     out, loads drop it, and a sweep every ttl/2 of event time frees it. Expiry depends on event
//     times and W only, so a replay expires the same keys.
//  3. Inputs are append-only: a retraction of an earlier input cannot be expressed. Feed it
//     final results (a window's, a lifetime join's), not a stream of updates.
// Owned by its task, on the task's shard.
class AggregateOperator final : public Operator {
 public:
  // key: the grouping expression; null uses the row's key (from key_by) when `keyed`, else one
  // global group.
  AggregateOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> key,
                    bool keyed, std::string key_name,
                    std::vector<WindowOperator::Aggregate> aggregates,
                    const KeyedStateOptions& state = {});
  ~AggregateOperator() override;

  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return store_.stats().memory_bytes; }
  size_t SpilledBytes() const override { return store_.stats().spilled_bytes; }
  size_t groups() const { return store_.size(); }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  // A key's aggregate row (engaged once the key has one); its time is the slot's stamp.
  struct Group {
    std::optional<AggregateRow> row;
    bool touched = false;  // in touched_ (only during a Push; never spilled then)
  };
  // Disk and checkpoint form of a Group: AggregateRow::Serialize bytes.
  struct GroupCodec {
    const AggregateRowLayout* layout = nullptr;
    void Encode(const Group& g, std::string& out) const;
    bool Decode(std::string_view in, Group& g) const;
    size_t Bytes(const Group& g) const;
  };
  using GroupStore = SpillStore<Group, GroupCodec>;
  struct Touched {
    model::Value key;  // in the arena, valid for the current Push
    GroupStore::Slot* slot;  // valid until the Shrink at the end of the Push
  };

  std::unique_ptr<rules::Expression> key_expr_;
  bool keyed_;
  std::string key_name_;
  std::vector<WindowOperator::Aggregate> aggs_;
  // Declared before groups_: their rows refer to it, so it is destroyed after them.
  std::unique_ptr<AggregateRowLayout> layout_;
  int64_t ttl_ms_;
  GroupStore store_;  // EncodeValue(key) -> group
  int64_t next_sweep_ = kNoWatermark;  // TTL: sweep when the watermark reaches this
  uint64_t ttl_expired_ = 0;
  std::vector<Touched> touched_;
  std::string scratch_;
  std::string reason_;
  std::vector<model::Value> inputs_;
  std::vector<model::Value> results_;
  std::vector<Row> out_;
};

// Builds an aggregate operator from its spec (`keyed`: a key_by upstream set row keys; `state`:
// its state_ttl, state_memory and scratch directory). Errors: as CompileAggregates, and the key
// expression's compile errors.
Result<std::unique_ptr<Operator>> MakeAggregateOperator(const OperatorSpec& op, TaskContext& ctx,
                                                       bool keyed,
                                                       const KeyedStateOptions& state = {});

}  // namespace sluice::stream
