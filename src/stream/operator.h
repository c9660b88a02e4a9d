// Operator: one node of a running pipeline's dataflow graph. Rows are pushed through the graph
// in batches on the task's shard; event-time progress (watermarks) follows the same edges.
// Everything here runs on one thread: a task owns its operators.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/arena.h"
#include "model/value.h"
#include "rules/expression.h"
#include "stream/output_staging.h"
#include "stream/state_codec.h"

namespace sluice::stream {

inline constexpr int64_t kNoWatermark = std::numeric_limits<int64_t>::min();
// The event times a pipeline accepts: the years 1 to 9999 (RFC 3339's range), in ms since the
// epoch. Sources send events outside it to the error output, so window, session and watermark
// arithmetic (which adds durations of at most kMaxDurationMs) cannot overflow.
inline constexpr int64_t kMinEventTimeMs = -62'135'596'800'000;
inline constexpr int64_t kMaxEventTimeMs = 253'402'300'799'999;
inline constexpr bool EventTimeInRange(int64_t ms) {
  return ms >= kMinEventTimeMs && ms <= kMaxEventTimeMs;
}

// One event in flight. `value` and `key` borrow from the task's arena (or the batch it was
// decoded from) and are valid until the task resets the arena after the current cycle.
struct Row {
  model::Value value;
  model::Value key;       // Null until key_by (or a window's key) sets it
  int64_t timestamp = 0;  // event time, ms since the epoch
};

// Where events that cannot be processed go (the pipeline's error output) and events later than
// a window's allowed lateness (the late output). Both carry the reason.
class SideOutputs {
 public:
  virtual ~SideOutputs() = default;
  virtual void Error(const Row& row, std::string_view op, std::string_view reason) = 0;
  virtual void Late(const Row& row, std::string_view op, std::string_view reason) = 0;
};

// Per-task state shared by its operators.
struct TaskContext {
  model::Arena arena;            // reset by the task after each cycle
  rules::EvalContext eval;       // eval.arena == &arena
  SideOutputs* side = nullptr;
  OutputStaging staging;         // what the outputs produced, as batches (output_staging.h)
  int64_t processing_time_ms = 0;  // wall clock at the start of the cycle
  TaskContext() { eval.arena = &arena; }
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;
};

struct OperatorStats {
  uint64_t rows_in = 0;
  uint64_t rows_out = 0;
  uint64_t errors = 0;
  uint64_t late = 0;
};

// Blocking work an operator needs done off the shard (lookups in an external database).
// Lifecycle: the operator hands it out (Operator::TakeBlockingWork), the task runs Run() once on a
// blocking-pool thread and gives it back (Operator::FinishBlockingWork) on the shard. Run() may
// touch only the object itself and what the operator lent it for that time (a client that
// nothing else uses until the work comes back); never the task's arena.
class BlockingWork {
 public:
  virtual ~BlockingWork() = default;
  virtual void Run() = 0;
};

class Operator {
 public:
  Operator(std::string name, TaskContext& ctx, int num_inputs = 1)
      : name_(std::move(name)), ctx_(ctx), input_wm_(num_inputs, kNoWatermark) {}
  virtual ~Operator() = default;
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  const std::string& name() const { return name_; }
  const OperatorStats& stats() const { return stats_; }
  int64_t watermark() const { return out_wm_; }
  size_t num_inputs() const { return input_wm_.size(); }

  // Takes rows arriving on `input`. The span belongs to the caller for this call only; the
  // operator may modify and reorder the rows.
  virtual void Push(int input, std::span<Row> rows) = 0;
  // Event time on `input` has advanced to `wm`: no row with timestamp <= wm is expected there
  // any more (late rows can still come and are handled per operator). When the minimum over
  // all inputs rises, OnWatermark is called with it.
  void AdvanceWatermark(int input, int64_t wm);
  // Bytes of state the operator holds in memory (windows, dedup sets), for metrics.
  virtual size_t StateBytes() const { return 0; }
  // Bytes of state it moved to its local disk (spill_store.h), for metrics.
  virtual size_t SpilledBytes() const { return 0; }

  void Connect(Operator* downstream, int input);

  // The async hook. Operators whose rows wait for blocking work (enrich with an external table)
  // buffer them in Push and hand the work out here (nullptr: none now). The task runs it off the
  // shard and gives it back to FinishBlockingWork, which emits the rows it unblocked, in order.
  // The task repeats this over all operators until none has work left, right after each push and
  // before it delivers watermarks, checkpoints or resets the arena: buffered rows never outlive
  // the cycle that pushed them, so they may keep pointing into the arena and are never part of
  // a checkpoint. REQUIRES for FinishBlockingWork: `work` came from this operator's Take.
  virtual std::unique_ptr<BlockingWork> TakeBlockingWork() { return nullptr; }
  virtual void FinishBlockingWork(std::unique_ptr<BlockingWork> work) { (void)work; }
  // Operator-specific counters for the describe output (cache hits, table size, ...).
  virtual std::vector<std::pair<std::string, uint64_t>> Counters() const { return {}; }

  // Checkpointing: the operator's watermarks and state, and back into a freshly built operator
  // of the same spec. Errors: kDataLoss (corrupt bytes, or state of a different shape).
  void Save(StateWriter& w) const;
  Status Load(StateReader& r);

 protected:
  // Sends rows to every downstream operator (each gets its own copy when there are several).
  void Emit(std::span<Row> rows);
  void EmitWatermark(int64_t wm);
  // Operator-specific state (default: none). LoadState runs on a fresh operator.
  virtual void SaveState(StateWriter&) const {}
  virtual Status LoadState(StateReader&) { return Status::Ok(); }
  // Event time over all inputs reached `wm`. The default forwards it.
  virtual void OnWatermark(int64_t wm) { EmitWatermark(wm); }
  // Event time on one input rose to `wm` (called before OnWatermark, also when the minimum over
  // the inputs does not move). For operators that treat their inputs differently (temporal joins
  // wait for the table side's watermark). The default does nothing.
  virtual void OnInputWatermark(int input, int64_t wm) {
    (void)input;
    (void)wm;
  }
  int64_t InputWatermark(int input) const { return input_wm_[input]; }
  void ReportError(const Row& row, std::string_view reason);
  void ReportLate(const Row& row, std::string_view reason);
  // The minimum watermark over all inputs.
  int64_t CombinedInputWatermark() const;

  std::string name_;
  TaskContext& ctx_;
  OperatorStats stats_;

 private:
  struct Edge {
    Operator* op;
    int input;
  };
  std::vector<Edge> downstream_;
  std::vector<int64_t> input_wm_;
  int64_t combined_wm_ = kNoWatermark;
  int64_t out_wm_ = kNoWatermark;
  std::vector<Row> fanout_copy_;
};

}  // namespace sluice::stream
