// PipelineTask: runs one task of a deployed pipeline on one shard — reads its source
// partitions from the log in batches, decodes each event once into the task's arena, pushes
// rows and watermarks through its TaskGraph, appends what the outputs staged (and the error and
// late outputs), then commits its source positions under the group "_pipeline.<name>".
//
// Delivery today: at-least-once. Outputs are appended before positions are committed, so a
// crash repeats at most the last cycle's outputs; window and dedup state restarts empty.
// Checkpointed exactly-once state is the next step (docs/pipelines.md says what holds now).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/value_json.h"
#include "runtime/asio.h"
#include "runtime/shards.h"
#include "storage/log.h"
#include "stream/checkpoint.h"
#include "stream/pipeline_spec.h"
#include "stream/probe.h"
#include "stream/task_graph.h"

namespace sluice::stream {

struct SourcePartitionStatus {
  std::string source;
  std::string topic;
  int32_t partition = 0;
  int64_t position = 0;        // next offset to read
  int64_t high_watermark = 0;  // as of the last read
  int64_t max_event_time = kNoWatermark;
};

struct OperatorStatus {
  std::string name;
  OperatorStats stats;
  size_t state_bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> counters;  // Operator::Counters()
};

struct TaskStatus {
  int32_t task = 0;
  std::string state;  // starting, running, paused, failed, stopped
  std::string error;  // why it failed
  int64_t watermark = kNoWatermark;
  uint64_t cycles = 0;
  uint64_t events_in = 0;
  uint64_t records_out = 0;
  uint64_t errors = 0;
  uint64_t late = 0;
  std::vector<SourcePartitionStatus> sources;
  std::vector<OperatorStatus> operators;
};

class PipelineTask {
 public:
  // Decodes a payload in the Confluent wire format (magic byte 0 + schema id): Avro, Protobuf
  // or JSON Schema through the registry. Thread-safe. Unset: such payloads are errors.
  using PayloadDecoder = std::function<Result<model::Value>(std::string_view payload,
                                                            model::Arena& arena, int32_t* id)>;
  // Reports, once per cycle, how many events of a schema id a pipeline read from a topic
  // (schema lineage: "consumes"). Thread-safe.
  using LineageHook = std::function<void(std::string_view topic, int32_t id,
                                         std::string_view pipeline, uint64_t events)>;
  struct Options {
    int32_t max_batch_records = 1024;
    int32_t idle_poll_ms = 50;
    int32_t commit_interval_ms = 1000;
    PayloadDecoder payload_decoder;
    LineageHook lineage;
    FieldTypesHook field_types;  // source topics' field types, for type-checking expressions
    // Where operators' blocking work runs (external lookups). Null: inline on the task's shard,
    // for tests only.
    runtime::BlockingPool* blocking = nullptr;
    // Scratch directory for operator state spilled to disk (`state_memory`); each task uses
    // `<state_dir>/<pipeline>-<task>`. Empty: under the system's temporary directory.
    std::string state_dir;
  };
  // `checkpoint`: the task's last checkpoint (EncodeCheckpoint bytes) to resume from, if any.
  // `probe`: the pipeline's metrics (may be null); outlives the task.
  PipelineTask(std::shared_ptr<const PipelineSpec> spec, int64_t version, int32_t task_index,
               storage::Log& log, Options options, std::optional<std::string> checkpoint = {},
               std::shared_ptr<PipelineProbe> probe = nullptr);
  ~PipelineTask();

  // Runs until Stop(); on the calling shard. Never throws; failures end in state "failed".
  Task<void> Run();
  // Thread-safe.
  void Stop() { stop_.store(true); }
  void SetPaused(bool paused) { paused_.store(paused); }
  bool finished() const { return finished_.load(); }
  TaskStatus Snapshot() const;
  // The last checkpoint this task wrote or resumed from (empty if none). Thread-safe.
  std::string LastCheckpoint() const;

 private:
  class Side;
  struct SourcePartition;

  Task<sluice::Status> Setup();
  // A record of a keyed exchange: a row for rows_, or a watermark record.
  void ReadExchangeRecord(ExchangeInput& exchange, SourcePartition& p,
                          const model::RecordView& rec);
  Task<sluice::Status> RunCycle(bool& had_data);
  // Runs operators' blocking work on the blocking pool until none is left (Operator::
  // TakeBlockingWork): called after every push, so no row stays buffered past it.
  Task<void> DrainBlockingWork();
  Task<sluice::Status> FlushOutputs();
  Task<sluice::Status> CommitPositions();
  // Exactly-once: write a checkpoint (state, positions, the outputs staged in ctx_.staging) to
  // `_checkpoints`, then append the staged outputs.
  Task<sluice::Status> TakeCheckpoint();
  // Appends the outputs of checkpoint `applying_` that are not in their topics yet (`verify`:
  // look for each batch's marker first, after a restart).
  Task<sluice::Status> ApplyOutputs(bool verify);
  Task<sluice::Status> RestoreCheckpoint();
  void UpdateStatus(std::string_view state);

  std::shared_ptr<const PipelineSpec> spec_;
  int32_t task_index_;
  storage::Log& log_;
  Options options_;
  std::string group_;
  TaskContext ctx_;
  std::unique_ptr<Side> side_;
  TaskGraph::Options graph_options_;
  std::unique_ptr<TaskGraph> graph_;
  std::vector<SourcePartition> parts_;
  std::vector<Row> rows_;
  std::map<std::pair<std::string, int32_t>, uint64_t> lineage_counts_;  // this cycle's
  codec::ValueJsonDecoder decoder_;
  std::vector<std::unique_ptr<rules::Expression>> event_time_;  // per source; null: record time
  // Per exchange output: the indexes of the sources that feed it; per source: whether it
  // delivered a watermark this cycle (some partition not idle).
  std::vector<std::vector<size_t>> exchange_upstream_;
  std::vector<bool> source_active_;
  // At-least-once: batches taken from ctx_.staging whose append has not succeeded yet.
  std::deque<StagedBatch> pending_;
  // Exactly-once: the checkpoint whose outputs are being appended (the outputs since the last
  // checkpoint wait in ctx_.staging).
  int64_t version_;
  std::optional<std::string> resume_from_;
  std::optional<Checkpoint> applying_;
  int64_t next_checkpoint_id_ = 1;
  int64_t last_checkpoint_ms_ = 0;
  bool state_dirty_ = false;  // processed something since the last checkpoint
  std::string last_checkpoint_;
  std::shared_ptr<PipelineProbe> probe_;
  // Totals already added to the probe's counters (the task's own stats restart from zero).
  uint64_t reported_in_ = 0, reported_out_ = 0, reported_errors_ = 0, reported_late_ = 0;
  int64_t last_checkpoint_written_ms_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> finished_{false};
  int64_t last_commit_ms_ = 0;
  bool positions_dirty_ = false;
  // Rate limit of the retried-cycle warning (Run's coroutine only).
  ErrorCode last_error_ = ErrorCode::kOk;
  std::chrono::steady_clock::time_point last_error_logged_{};
  int64_t repeats_ = 0;
  mutable std::mutex status_mu_;
  TaskStatus status_;
};

}  // namespace sluice::stream
