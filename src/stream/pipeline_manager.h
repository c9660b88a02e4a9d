// PipelineManager: the control plane of the stream processor. Deploys, lists, describes, pauses,
// resumes and deletes pipelines; runs each as `parallelism` PipelineTasks spread over the
// shards; and keeps every pipeline's spec and desired state in the compacted internal topic
// `_pipelines`, so pipelines come back after a restart.
//
// Thread-safe: API calls come from HTTP handlers on any shard. Tasks run on their shards.
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

struct PipelineInfo {
  std::string name;
  int64_t version = 0;
  std::string state;  // running, paused, failed
  std::string spec;   // as deployed
  int64_t updated_ms = 0;
  std::vector<TaskStatus> tasks;
};

struct PipelineManagerOptions {
  PipelineTask::Options task;
  size_t max_pipelines = 1000;
  metrics::Registry* metrics = nullptr;  // sluice_pipeline_* series when set
};

class PipelineManager {
 public:
  PipelineManager(PipelineManagerOptions options, storage::Log& log, runtime::Shards& shards);
  ~PipelineManager();

  // Creates `_pipelines` if needed and restarts the pipelines recorded there. From a non-shard
  // thread. Errors: the log's.
  Status Start();
  // Stops every task and waits for them. From a non-shard thread; idempotent.
  void Stop();

  // Parses and validates `spec_text`, checks its topics exist, records it and starts it.
  // A pipeline of the same name is replaced only when `replace` (its tasks stop first; the new
  // version continues from the committed positions).
  // Errors: kInvalidArgument (spec, with positions), kNotFound (a topic), kAlreadyExists,
  // kResourceExhausted (too many pipelines), the log's.
  Task<Result<PipelineInfo>> Deploy(std::string spec_text, bool replace);
  // Errors: kNotFound.
  Task<Result<PipelineInfo>> SetPaused(std::string name, bool paused);
  Task<Status> Delete(std::string name);
  std::vector<PipelineInfo> List() const;
  Result<PipelineInfo> Describe(const std::string& name) const;
  // Validates without deploying (for `sluice pipeline validate` and dry runs).
  Task<Status> Validate(std::string spec_text);

 private:
  struct Running;
  Task<Status> CheckTopics(const PipelineSpec& spec);
  // Creates the keyed exchanges' topics (one partition per task) unless they exist; an existing
  // one with another partition count is kFailedPrecondition.
  Task<Status> EnsureExchangeTopics(const PipelineSpec& spec);
  Task<void> DeleteExchangeTopics(std::set<std::string> topics);
  Task<Status> Record(const std::string& name, const std::string* value);
  // `checkpoints`: per task index, the checkpoint to resume from.
  void StartTasks(Running& r, const std::map<int32_t, std::string>& checkpoints = {});
  Task<Status> DeleteCheckpoints(const std::string& name, int32_t tasks);
  static void StopTasks(Running& r);  // blocking: only from a non-shard thread
  static Task<void> AwaitStopped(std::vector<std::shared_ptr<PipelineTask>> tasks);
  PipelineInfo InfoOf(const Running& r) const;

  PipelineManagerOptions options_;
  storage::Log& log_;
  runtime::Shards& shards_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Running>> pipelines_;
  uint32_t next_shard_ = 0;
  bool stopped_ = false;
};

}  // namespace sluice::stream
