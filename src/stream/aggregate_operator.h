// AggregateOperator: the unbounded GROUP BY (Flink's non-windowed aggregation) — per key,
// aggregates over every event seen so far, with an updated result for each key a batch changed.
// Also CompileAggregates, which turns the `aggregates:` of a spec into compiled expressions for
// every operator that has them (window, aggregate, lifetime join).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stream/aggregate_row.h"
#include "stream/operator.h"
#include "stream/pipeline_spec.h"
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
// Invariants:
//  1. Nothing is late and nothing expires: watermarks pass through unchanged, and state holds
//     one aggregate row per key ever seen (StateBytes() reports it). Group by bounded keys.
//  2. Inputs are append-only: a retraction of an earlier input cannot be expressed. Feed it
//     final results (a window's, a lifetime join's), not a stream of updates.
// Owned by its task, on the task's shard.
class AggregateOperator final : public Operator {
 public:
  // key: the grouping expression; null uses the row's key (from key_by) when `keyed`, else one
  // global group.
  AggregateOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> key,
                    bool keyed, std::string key_name,
                    std::vector<WindowOperator::Aggregate> aggregates);
  ~AggregateOperator() override;

  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return state_bytes_; }
  size_t groups() const { return groups_.size(); }

 protected:
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct Group {
    AggregateRow row;
    int64_t time;
    bool touched = false;
  };
  struct Touched {
    model::Value key;     // in the arena, valid for the current Push
    std::string encoded;  // the groups_ key
  };

  std::unique_ptr<rules::Expression> key_expr_;
  bool keyed_;
  std::string key_name_;
  std::vector<WindowOperator::Aggregate> aggs_;
  // Declared before groups_: their rows refer to it, so it is destroyed after them.
  std::unique_ptr<AggregateRowLayout> layout_;
  StringMap<Group> groups_;  // EncodeValue(key) -> group
  std::vector<Touched> touched_;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::string reason_;
  std::vector<model::Value> inputs_;
  std::vector<model::Value> results_;
  std::vector<Row> out_;
};

// Builds an aggregate operator from its spec (`keyed`: a key_by upstream set row keys).
// Errors: as CompileAggregates, and the key expression's compile errors.
Result<std::unique_ptr<Operator>> MakeAggregateOperator(const OperatorSpec& op, TaskContext& ctx,
                                                       bool keyed);

}  // namespace sluice::stream
