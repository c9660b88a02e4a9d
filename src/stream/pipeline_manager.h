// PipelineManager: the control plane of the stream processor. Deploys, lists, describes, pauses,
// resumes and deletes pipelines; keeps every pipeline's spec and desired state in the compacted
// internal topic `_pipelines` and follows that topic, so a pipeline deployed through any
// instance runs on all of them and pipelines come back after a restart; and runs, of each
// pipeline's `parallelism` PipelineTasks, those whose task slot this instance owns.
//
// Task slots are the partitions of the internal topic `_pipeline_tasks`; the instances share
// them through the consumer group of the same name (storage::Log::JoinGroup). Task i of
// pipeline P lives in slot (crc32c(P) + i) mod slots. On the embedded store the only member
// owns every slot; on Kafka the group spreads them, moves a killed instance's slots after the
// session timeout, and revokes a slot from its old owner (whose tasks stop and take a final
// checkpoint) before the new owner gets it. A task that starts restores its state from its
// latest checkpoint in `_checkpoints` (docs/pipelines.md, "Scale-out").
//
// Thread-safe: API calls come from HTTP handlers on any shard; group callbacks from the log's
// membership thread. Task starts and stops are decided by one reconcile loop on shard 0; tasks
// run on their shards.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "runtime/shards.h"
#include "storage/log.h"
#include "stream/pipeline_spec.h"
#include "stream/pipeline_task.h"

namespace sluice::stream {

inline constexpr const char* kPipelinesTopic = "_pipelines";
// The task slots: its partitions are what the instances' consumer group (of the same name)
// assigns. It carries no records.
inline constexpr const char* kPipelineTasksTopic = "_pipeline_tasks";
// TaskStatus::state of a task that does not run on this instance (another one owns its slot,
// or no instance does yet).
inline constexpr const char* kTaskElsewhere = "elsewhere";

// The slot (a partition of `_pipeline_tasks`) of task `task` of `pipeline`: consecutive tasks
// take consecutive slots, which round-robin assignment deals to different instances.
// REQUIRES: slots >= 1.
int32_t TaskSlot(std::string_view pipeline, int32_t task, int32_t slots);

struct PipelineInfo {
  std::string name;
  int64_t version = 0;
  std::string state;  // running, paused, failed
  std::string spec;   // as deployed
  int64_t updated_ms = 0;
  // One per task, in task order; a task that runs on another instance has state
  // kTaskElsewhere and no statistics.
  std::vector<TaskStatus> tasks;
};

struct PipelineManagerOptions {
  PipelineTask::Options task;
  size_t max_pipelines = 1000;
  metrics::Registry* metrics = nullptr;  // sluice_pipeline_* series when set
  // Partitions of `_pipeline_tasks` when this instance creates it; an existing topic keeps its
  // count, which every instance reads at start (do not change it while instances run).
  int32_t task_slots = 64;
  // Long-poll of the `_pipelines` follower: how soon an instance sees another's deploy.
  int32_t follow_wait_ms = 500;
  // How long a revoked or stopped task may take to stop (its final checkpoint) before the
  // instance gives its slot up anyway (the new owner then resumes from the checkpoint before).
  int32_t stop_timeout_ms = 60000;
};

class PipelineManager final : private storage::GroupListener {
 public:
  PipelineManager(PipelineManagerOptions options, storage::Log& log, runtime::Shards& shards);
  ~PipelineManager() override;

  // Creates `_pipelines`, `_checkpoints` and `_pipeline_tasks` if needed, reads the pipelines
  // recorded in `_pipelines`, joins the task group, starts following `_pipelines` and starts
  // the tasks of the slots owned so far. From a non-shard thread. Errors: the log's.
  Status Start();
  // Stops every local task (final checkpoints) and waits for them, then leaves the group so
  // that other instances take the slots over at once. From a non-shard thread; idempotent.
  void Stop();

  // Parses and validates `spec_text`, checks its topics exist, records it and starts the tasks
  // this instance owns (the others start on their owners as they read the record).
  // A pipeline of the same name is replaced only when `replace` (its tasks stop first; the new
  // version continues from their checkpoints or committed positions).
  // Errors: kInvalidArgument (spec, with positions), kNotFound (a topic), kAlreadyExists,
  // kResourceExhausted (too many pipelines), the log's.
  Task<Result<PipelineInfo>> Deploy(std::string spec_text, bool replace);
  // Errors: kNotFound.
  Task<Result<PipelineInfo>> SetPaused(std::string name, bool paused);
  Task<Status> Delete(std::string name);
  // This instance's view: every pipeline, with the statistics of the tasks it runs.
  std::vector<PipelineInfo> List() const;
  Result<PipelineInfo> Describe(const std::string& name) const;
  // Validates without deploying (for `sluice pipeline validate` and dry runs).
  Task<Status> Validate(std::string spec_text);

 private:
  // A pipeline as `_pipelines` records it.
  struct Desired {
    std::shared_ptr<const PipelineSpec> spec;
    int64_t version = 0;
    bool paused = false;
    int64_t updated_ms = 0;
    std::shared_ptr<PipelineProbe> probe;
  };
  // A task running (or stopping) on this instance.
  struct LocalTask {
    std::shared_ptr<PipelineTask> task;
    std::shared_ptr<const PipelineSpec> spec;  // the version it runs
    int32_t slot = 0;
  };

  // storage::GroupListener, on the membership's thread.
  void OnRevoked(const std::vector<model::PartitionId>& partitions) override;
  void OnAssigned(const std::vector<model::PartitionId>& partitions) override;

  Task<Status> CheckTopics(const PipelineSpec& spec);
  // Creates the keyed exchanges' topics (one partition per task) unless they exist; an existing
  // one with another partition count is kFailedPrecondition.
  Task<Status> EnsureExchangeTopics(const PipelineSpec& spec);
  Task<void> DeleteExchangeTopics(std::set<std::string> topics);
  // Appends the record (a tombstone when value is null) to `_pipelines`; its offset.
  Task<Result<int64_t>> Record(const std::string& name, const std::string* value);
  // `with_parts`: also the parts of checkpoints stored in parts (from the reconcile loop only).
  Task<Status> DeleteCheckpoints(const std::string& name, std::vector<int32_t> tasks,
                                 bool with_parts);
  // Applies the `_pipelines` record at `offset` unless a later one was applied. REQUIRES: mu_.
  // True when the desired state changed.
  bool ApplyLocked(int64_t offset, const std::string& name,
                   const std::optional<std::string>& value);
  // The follower: tails `_pipelines` on shard 0 from follow_next_.
  Task<void> FollowLoop();
  // Asks the reconcile loop for a pass; returns its number (see WaitReconciled).
  uint64_t RequestReconcile();
  // Resolves once pass `gen` (or a later one) has finished, or on stop.
  Task<void> WaitReconciled(uint64_t gen);
  Task<void> ReconcileLoop();
  // Stops the local tasks that should no longer run here and starts those that should.
  Task<void> ReconcileOnce();
  // The checkpoint index: offset of the latest `_checkpoints` record per key, read up to the
  // topic's end. Owned by the reconcile loop.
  Task<Status> CatchUpCheckpoints();
  Task<Result<std::optional<std::string>>> LoadCheckpoint(const std::string& key);
  std::shared_ptr<PipelineTask> MakeTask(const std::string& name, const Desired& d, int32_t i,
                                         std::optional<std::string> checkpoint);
  // Blocking: only from a non-shard thread.
  void WaitStopped(const std::vector<std::shared_ptr<PipelineTask>>& tasks) const;
  static Task<void> AwaitStopped(std::vector<std::shared_ptr<PipelineTask>> tasks);
  PipelineInfo InfoOf(const std::string& name, const Desired& d) const;  // REQUIRES: mu_

  PipelineManagerOptions options_;
  storage::Log& log_;
  runtime::Shards& shards_;
  std::unique_ptr<storage::GroupMembership> membership_;

  mutable std::mutex mu_;
  std::map<std::string, Desired> pipelines_;
  // Offset of the last `_pipelines` record applied per name (tombstones included), so the
  // follower never applies a record older than one this instance wrote and applied itself.
  std::map<std::string, int64_t> applied_offset_;
  std::map<std::string, std::map<int32_t, LocalTask>> local_;
  std::vector<LocalTask> stopping_;  // removed from local_, not finished yet
  std::set<int32_t> owned_slots_;
  int32_t slots_ = 1;
  uint64_t epoch_ = 0;  // bumped by every assignment change
  uint32_t next_shard_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool follower_running_ = false;
  bool reconcile_running_ = false;
  bool reconcile_requested_ = false;
  uint64_t requested_gen_ = 0;
  uint64_t done_gen_ = 0;
  int64_t follow_next_ = 0;  // owned by the follower after Start

  // Owned by the reconcile loop.
  std::map<std::string, int64_t> checkpoint_index_;
  int64_t checkpoint_next_ = 0;
};

}  // namespace sluice::stream
