// The stateless operators (filter, map, derive, flatten, key_by, route, union) and dedup.
// Each is built from its OperatorSpec by the plan; expressions are compiled there.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stream/operator.h"
#include "stream/pipeline_spec.h"
#include "stream/spill_store.h"

namespace sluice::stream {

// Compiles a spec expression; errors carry the spec position ("line 4, column 16:
// operators[0].condition: 1:7: unknown function ...").
Result<std::unique_ptr<rules::Expression>> CompileSpecExpression(
    const SpecText& text, const rules::CompileOptions& options = {});

// Keeps rows whose condition is TRUE (NULL and FALSE drop the row, as SQL's WHERE does).
class FilterOperator final : public Operator {
 public:
  FilterOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> condition)
      : Operator(std::move(name), ctx), condition_(std::move(condition)) {}
  void Push(int input, std::span<Row> rows) override;

 private:
  std::unique_ptr<rules::Expression> condition_;
};

// map: the output event is exactly the listed fields; derive: the input event with the listed
// fields added (or replaced, keeping their position).
// A field that is a plain path (`bid.price`) is looked up directly instead of through the
// expression evaluator, and fields whose paths start with the same member (`bid.`) resolve that
// member once per event: projections are mostly such paths, and this is their hot loop.
class MapOperator final : public Operator {
 public:
  struct Field {
    std::string name;
    std::unique_ptr<rules::Expression> expr;
  };
  MapOperator(std::string name, TaskContext& ctx, std::vector<Field> fields, bool keep_input);
  void Push(int input, std::span<Row> rows) override;

 private:
  struct Step {
    std::string name;
    uint32_t hint = 0;  // member position last found at
  };
  // How field i is computed: through its expression (prefix < 0), or as prefixes_[prefix]
  // followed by the member steps rest[i].
  struct Path {
    int prefix = -1;
    std::vector<Step> rest;
  };
  std::vector<Field> fields_;
  bool keep_input_;
  std::vector<Path> paths_;        // per field
  std::vector<Step> prefixes_;     // distinct first steps of the plain-path fields
  std::vector<const model::Value*> resolved_;  // per prefix, for the current event
};

// One row per item of an array field; the item replaces (or is added as) member `as`.
// A NULL or missing array gives no rows; a value that is not an array is an error.
class FlattenOperator final : public Operator {
 public:
  FlattenOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> array,
                  std::string as)
      : Operator(std::move(name), ctx), array_(std::move(array)), as_(std::move(as)) {}
  void Push(int input, std::span<Row> rows) override;

 private:
  std::unique_ptr<rules::Expression> array_;
  std::string as_;
  std::vector<Row> out_;
};

// Sets each row's key (used by windows, dedup and outputs' record keys).
class KeyByOperator final : public Operator {
 public:
  KeyByOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> key)
      : Operator(std::move(name), ctx), key_(std::move(key)) {}
  void Push(int input, std::span<Row> rows) override;

 private:
  std::unique_ptr<rules::Expression> key_;
};

// Drops a row when a row with the same key was seen less than `within_ms` of event time
// before it. Keys are forgotten once the watermark passes their last time + within_ms, so
// state is bounded by the keys seen in one `within` span.
class DedupOperator final : public Operator {
 public:
  // `spill`: `state_memory` (keys beyond it go to disk, spill_store.h).
  DedupOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> key,
                int64_t within_ms, SpillStoreOptions spill = {});
  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return seen_.stats().memory_bytes; }
  size_t SpilledBytes() const override { return seen_.stats().spilled_bytes; }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override {
    return seen_.Counters();
  }

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  // A seen key holds nothing but its stamp (the event time it was last let through).
  struct Seen {};
  struct SeenCodec {
    static void Encode(const Seen&, std::string&) {}
    static bool Decode(std::string_view in, Seen&) { return in.empty(); }
    static size_t Bytes(const Seen&) { return 0; }
  };
  using SeenStore = SpillStore<Seen, SeenCodec>;

  std::unique_ptr<rules::Expression> key_;
  int64_t within_ms_;
  SeenStore seen_;  // encoded key -> stamp: the event time first seen (latest kept row)
  std::string scratch_;
  int64_t next_expiry_scan_ = kNoWatermark;
};

// A route's output stream: rows are pushed into it by its RouteOperator.
class PassThroughOperator : public Operator {
 public:
  PassThroughOperator(std::string name, TaskContext& ctx, int num_inputs = 1)
      : Operator(std::move(name), ctx, num_inputs) {}
  void Push(int, std::span<Row> rows) override {
    stats_.rows_in += rows.size();
    Emit(rows);
  }
  void Deliver(std::span<Row> rows) { Push(0, rows); }
  void DeliverWatermark(int64_t wm) { AdvanceWatermark(0, wm); }
};

// Sends each row to every route whose condition is TRUE (a row may go to several routes, or
// none). Route i's stream is branches()[i], named "<operator>.<route>".
class RouteOperator final : public Operator {
 public:
  RouteOperator(std::string name, TaskContext& ctx,
                std::vector<std::pair<std::string, std::unique_ptr<rules::Expression>>> routes);
  void Push(int input, std::span<Row> rows) override;
  std::vector<std::unique_ptr<PassThroughOperator>>& branches() { return branches_; }

 protected:
  void OnWatermark(int64_t wm) override;

 private:
  std::vector<std::unique_ptr<rules::Expression>> conditions_;
  std::vector<std::unique_ptr<PassThroughOperator>> branches_;
  std::vector<Row> selected_;
};

}  // namespace sluice::stream
