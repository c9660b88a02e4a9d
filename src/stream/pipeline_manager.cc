// PipelineManager: deploy/pause/resume/delete, persistence in and following of `_pipelines`,
// task slots from the `_pipeline_tasks` group, the reconcile loop that starts and stops tasks,
// and the checkpoint index a task restores from.
#include "stream/pipeline_manager.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/crc32c.h"
#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "stream/logger.h"
#include "stream/task_graph.h"

namespace sluice::stream {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

model::TopicPartition PipelinesTp() {
  return model::TopicPartition(kPipelinesTopic, model::PartitionId(0));
}

model::TopicPartition CheckpointsTp() {
  return model::TopicPartition(kCheckpointsTopic, model::PartitionId(0));
}

Task<void> SleepMs(int64_t ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// Internal topics are compacted maps: the last record per key wins, a tombstone deletes.
storage::TopicConfig InternalTopicConfig(int32_t partitions) {
  storage::TopicConfig cfg;
  cfg.partitions = partitions;
  cfg.cleanup_policy = storage::CleanupPolicy::kCompact;
  cfg.durability = storage::Durability::kAlways;
  cfg.retention_ms = -1;
  cfg.segment_bytes = 128LL * 1024 * 1024;
  cfg.max_message_bytes = 64 * 1024 * 1024;  // checkpoints carry state and staged outputs
  return cfg;
}

struct KeyedRecord {
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;
};

}  // namespace

int32_t TaskSlot(std::string_view pipeline, int32_t task, int32_t slots) {
  SLUICE_CHECK(slots >= 1, "{} task slots", slots);
  uint64_t h = crc32c::Value(pipeline);
  return static_cast<int32_t>((h + static_cast<uint64_t>(std::max(task, 0))) %
                              static_cast<uint64_t>(slots));
}

PipelineManager::PipelineManager(PipelineManagerOptions options, storage::Log& log,
                                 runtime::Shards& shards)
    : options_(options), log_(log), shards_(shards) {
  if (options_.task.blocking == nullptr) options_.task.blocking = &shards_.blocking();
  options_.task_slots = std::max(options_.task_slots, 1);
}

PipelineManager::~PipelineManager() { Stop(); }

static std::string EncodeRecord(const PipelineSpec& spec, int64_t version, bool paused, int64_t updated) {
  codec::JsonWriter w;
  w.BeginObject();
  w.Field("name", spec.name);
  w.Key("version").Int(version);
  w.Field("state", paused ? "paused" : "running");
  w.Key("updated_ms").Int(updated);
  w.Field("spec", spec.text);
  w.EndObject();
  return w.Take();
}

bool PipelineManager::ApplyLocked(int64_t offset, const std::string& name,
                                  const std::optional<std::string>& value) {
  auto applied = applied_offset_.find(name);
  if (applied != applied_offset_.end() && applied->second >= offset) return false;
  applied_offset_[name] = offset;
  if (!value) {
    if (pipelines_.erase(name) == 0) return false;
    Log().info("pipeline {} deleted (recorded in {})", name, kPipelinesTopic);
    // Its series leave /metrics (a task still stopping may update them unseen); a new
    // deployment of the name shows them again.
    if (options_.metrics != nullptr) options_.metrics->RetireSeries({{"pipeline", name}});
    return true;
  }
  codec::JsonParser parser;
  auto doc = parser.Parse(*value);
  const codec::JsonValue* spec_text = doc.ok() ? doc->Find("spec") : nullptr;
  if (spec_text == nullptr || !spec_text->is_string()) {
    Log().error("pipeline {}: the record in {} is unreadable; skipped", name, kPipelinesTopic);
    return false;
  }
  const codec::JsonValue* v = doc->Find("version");
  int64_t version = v ? v->AsInt64().value_or(1) : 1;
  const codec::JsonValue* st = doc->Find("state");
  bool paused = st != nullptr && st->is_string() && st->text() == "paused";
  const codec::JsonValue* u = doc->Find("updated_ms");
  int64_t updated = u ? u->AsInt64().value_or(0) : 0;
  auto it = pipelines_.find(name);
  if (it != pipelines_.end() && it->second.version == version &&
      it->second.spec->text == spec_text->text()) {
    if (it->second.paused == paused && it->second.updated_ms == updated) return false;
    it->second.paused = paused;
    it->second.updated_ms = updated;
    return true;
  }
  auto spec = ParsePipelineSpec(spec_text->text());
  if (!spec.ok()) {
    Log().error("pipeline {}: stored spec no longer valid: {}", name, spec.status().message());
    return false;
  }
  Desired d;
  d.spec = std::make_shared<const PipelineSpec>(std::move(*spec));
  d.version = version;
  d.paused = paused;
  d.updated_ms = updated;
  if (it != pipelines_.end()) d.probe = it->second.probe;
  pipelines_[name] = std::move(d);
  return true;
}

Status PipelineManager::Start() {
  auto prepare = [this]() -> Task<Status> {
    for (const char* topic : {kPipelinesTopic, kCheckpointsTopic, kPipelineTasksTopic}) {
      std::string name = topic;
      storage::TopicConfig cfg =
          InternalTopicConfig(name == kPipelineTasksTopic ? options_.task_slots : 1);
      SLUICE_CO_RETURN_IF_ERROR(co_await log_.EnsureInternalTopic(std::move(name), cfg));
    }
    std::string tasks_topic = kPipelineTasksTopic;
    auto d = co_await log_.DescribeTopic(std::move(tasks_topic));
    if (!d.ok()) co_return d.status();
    if (d->partitions.empty()) co_return Internal("{} has no partitions", kPipelineTasksTopic);
    // Every instance must map tasks to the same slots: the count comes from the topic.
    slots_ = static_cast<int32_t>(d->partitions.size());
    // Replay `_pipelines` to its end; the follower continues from there.
    std::vector<KeyedRecord> records;
    int64_t next = 0;
    storage::ReadOptions o;
    o.max_records = 1000;
    o.max_bytes = 64 << 20;
    const std::function<void(const model::RecordView&)> collect = [&](const model::RecordView& rec) {
      if (!rec.key) return;
      KeyedRecord k;
      k.offset = rec.offset.value();
      k.key = std::string(*rec.key);
      if (rec.value) k.value = std::string(*rec.value);
      records.push_back(std::move(k));
    };
    const model::TopicPartition pipelines_tp = PipelinesTp();
    Status replayed = co_await storage::ReadToEnd(log_, pipelines_tp, &next, o, collect);
    if (!replayed.ok()) co_return replayed;
    {
      std::lock_guard lock(mu_);
      for (const auto& k : records) ApplyLocked(k.offset, k.key, k.value);
      follow_next_ = next;
      for (const auto& [name, d] : pipelines_) {
        Log().info("pipeline {} v{} restored ({})", name, d.version, d.paused ? "paused" : "running");
      }
    }
    co_return Status::Ok();
  };
  Status st = runtime::BlockOn(shards_, runtime::ShardId(0), prepare);
  if (!st.ok()) return st;
  auto join = [this]() -> Task<Result<std::unique_ptr<storage::GroupMembership>>> {
    std::string group = kPipelineTasksTopic;
    std::string topic = kPipelineTasksTopic;
    storage::GroupListener& listener = *this;
    co_return co_await log_.JoinGroup(std::move(group), std::move(topic), listener);
  };
  auto m = runtime::BlockOn(shards_, runtime::ShardId(0), join);
  if (!m.ok()) return m.status();
  uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    membership_ = std::move(*m);
    started_ = true;
    follower_running_ = true;
  }
  shards_.Spawn(runtime::ShardId(0), [this]() -> Task<void> { co_await FollowLoop(); });
  gen = RequestReconcile();
  // The tasks of the slots owned already (on the embedded store: all of them) are running when
  // Start returns, as before scale-out existed.
  auto wait = [this, gen]() -> Task<Status> {
    co_await WaitReconciled(gen);
    co_return Status::Ok();
  };
  return runtime::BlockOn(shards_, runtime::ShardId(0), wait);
}

void PipelineManager::WaitStopped(const std::vector<std::shared_ptr<PipelineTask>>& tasks) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.stop_timeout_ms);
  for (const auto& t : tasks) {
    while (!t->finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!t->finished()) Log().warn("a pipeline task did not stop within {} ms", options_.stop_timeout_ms);
  }
}

void PipelineManager::Stop() {
  std::vector<std::shared_ptr<PipelineTask>> tasks;
  std::unique_ptr<storage::GroupMembership> membership;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [_, ts] : local_) {
      for (auto& [__, lt] : ts) tasks.push_back(lt.task);
    }
    local_.clear();
    for (auto& lt : stopping_) tasks.push_back(lt.task);
    membership = std::move(membership_);
  }
  // Final checkpoints first, then leave: the others take the slots over from those.
  for (auto& t : tasks) t->Stop();
  WaitStopped(tasks);
  if (membership) membership->Leave();
  membership.reset();
  // The follower notices within one long poll; the reconcile loop within one pass.
  for (int i = 0; i < 5000; ++i) {
    {
      std::lock_guard lock(mu_);
      if (!follower_running_ && !reconcile_running_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// ---------------------------------------------------------------------------------------------
// Group membership

void PipelineManager::OnRevoked(const std::vector<model::PartitionId>& partitions) {
  std::vector<std::shared_ptr<PipelineTask>> tasks;
  {
    std::lock_guard lock(mu_);
    ++epoch_;
    std::set<int32_t> revoked;
    for (auto p : partitions) {
      revoked.insert(p.value());
      owned_slots_.erase(p.value());
    }
    for (auto& [name, ts] : local_) {
      for (auto it = ts.begin(); it != ts.end();) {
        if (revoked.contains(it->second.slot)) {
          tasks.push_back(it->second.task);
          stopping_.push_back(std::move(it->second));
          it = ts.erase(it);
        } else {
          ++it;
        }
      }
    }
    // Tasks the reconcile loop is stopping count too: their final checkpoint must be in before
    // the next owner reads it.
    for (const auto& lt : stopping_) {
      if (revoked.contains(lt.slot) &&
          std::find(tasks.begin(), tasks.end(), lt.task) == tasks.end()) {
        tasks.push_back(lt.task);
      }
    }
  }
  if (!tasks.empty()) Log().info("slots revoked: stopping {} task(s)", tasks.size());
  for (auto& t : tasks) t->Stop();
  WaitStopped(tasks);
  std::lock_guard lock(mu_);
  std::erase_if(stopping_, [&](const LocalTask& lt) {
    return std::find(tasks.begin(), tasks.end(), lt.task) != tasks.end();
  });
}

void PipelineManager::OnAssigned(const std::vector<model::PartitionId>& partitions) {
  {
    std::lock_guard lock(mu_);
    ++epoch_;
    for (auto p : partitions) owned_slots_.insert(p.value());
  }
  RequestReconcile();
}

// ---------------------------------------------------------------------------------------------
// The `_pipelines` follower

Task<void> PipelineManager::FollowLoop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) break;
    }
    storage::ReadOptions o;
    o.max_records = 1000;
    o.max_bytes = 64 << 20;
    o.wait_ms = options_.follow_wait_ms;
    auto r = co_await log_.Read(PipelinesTp(), model::Offset(follow_next_), o);
    if (!r.ok()) {
      if (r.status().code() == ErrorCode::kOutOfRange) {
        std::string topic = kPipelinesTopic;
        auto d = co_await log_.DescribeTopic(std::move(topic));
        if (d.ok() && !d->partitions.empty()) {
          follow_next_ = d->partitions[0].log_start_offset.value();
          continue;
        }
      }
      Log().warn("following {}: {}", kPipelinesTopic, r.status().message());
      co_await SleepMs(500);
      continue;
    }
    std::vector<KeyedRecord> records;
    Status walk = r->ForEachRecord([&](const model::RecordView& rec) {
      if (!rec.key) return;
      KeyedRecord k;
      k.offset = rec.offset.value();
      k.key = std::string(*rec.key);
      if (rec.value) k.value = std::string(*rec.value);
      records.push_back(std::move(k));
    });
    if (!walk.ok()) {
      Log().error("following {}: {}", kPipelinesTopic, walk.message());
      co_await SleepMs(500);
      continue;
    }
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& k : records) changed |= ApplyLocked(k.offset, k.key, k.value);
    }
    if (r->next_offset.value() > follow_next_) follow_next_ = r->next_offset.value();
    if (changed) RequestReconcile();
  }
  std::lock_guard lock(mu_);
  follower_running_ = false;
}

// ---------------------------------------------------------------------------------------------
// The reconcile loop

uint64_t PipelineManager::RequestReconcile() {
  std::lock_guard lock(mu_);
  uint64_t gen = ++requested_gen_;
  reconcile_requested_ = true;
  if (!reconcile_running_ && !stopped_) {
    reconcile_running_ = true;
    shards_.Spawn(runtime::ShardId(0), [this]() -> Task<void> { co_await ReconcileLoop(); });
  }
  return gen;
}

Task<void> PipelineManager::WaitReconciled(uint64_t gen) {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (done_gen_ >= gen || stopped_) co_return;
    }
    co_await SleepMs(5);
  }
}

Task<void> PipelineManager::ReconcileLoop() {
  for (;;) {
    uint64_t gen = 0;
    {
      std::lock_guard lock(mu_);
      if (!reconcile_requested_ || stopped_) {
        reconcile_running_ = false;
        co_return;
      }
      reconcile_requested_ = false;
      gen = requested_gen_;
    }
    co_await ReconcileOnce();
    std::lock_guard lock(mu_);
    done_gen_ = std::max(done_gen_, gen);
  }
}

Task<void> PipelineManager::ReconcileOnce() {
  // 1. Stop the local tasks that should not run here any more: their pipeline was deleted or
  //    replaced, or their slot went elsewhere (OnRevoked stops those itself, synchronously).
  struct Stopping {
    std::string name;
    int32_t task;
    LocalTask lt;
  };
  std::vector<Stopping> stops;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, ts] : local_) {
      auto d = pipelines_.find(name);
      for (auto it = ts.begin(); it != ts.end();) {
        const LocalTask& lt = it->second;
        bool keep = d != pipelines_.end() && lt.spec == d->second.spec &&
                    it->first < d->second.spec->parallelism && owned_slots_.contains(lt.slot);
        if (keep) {
          lt.task->SetPaused(d->second.paused);
          ++it;
          continue;
        }
        stops.push_back({name, it->first, lt});
        stopping_.push_back(lt);
        it = ts.erase(it);
      }
    }
    std::erase_if(local_, [](const auto& kv) { return kv.second.empty(); });
  }
  if (!stops.empty()) {
    std::vector<std::shared_ptr<PipelineTask>> tasks;
    for (const auto& s : stops) tasks.push_back(s.lt.task);
    co_await AwaitStopped(tasks);
    std::map<std::string, std::vector<int32_t>> deleted;
    {
      std::lock_guard lock(mu_);
      std::erase_if(stopping_, [&](const LocalTask& lt) {
        return std::find(tasks.begin(), tasks.end(), lt.task) != tasks.end();
      });
      // A deleted pipeline's final checkpoints must not outlive it: a pipeline deployed again
      // under the name starts afresh.
      for (const auto& s : stops) {
        if (!pipelines_.contains(s.name)) deleted[s.name].push_back(s.task);
      }
    }
    for (auto& [name, ids] : deleted) {
      Status st = co_await DeleteCheckpoints(name, ids, true);
      if (!st.ok()) Log().warn("pipeline {}: checkpoints not deleted: {}", name, st.message());
    }
  }

  // 2. Start the tasks of owned slots that do not run here yet, each from its latest checkpoint.
  struct Starting {
    std::string name;
    int32_t task;
    std::shared_ptr<const PipelineSpec> spec;
  };
  std::vector<Starting> starts;
  uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    if (stopped_) co_return;
    epoch = epoch_;
    for (const auto& [name, d] : pipelines_) {
      auto local = local_.find(name);
      for (int32_t i = 0; i < d.spec->parallelism; ++i) {
        if (!owned_slots_.contains(TaskSlot(name, i, slots_))) continue;
        if (local != local_.end() && local->second.contains(i)) continue;
        starts.push_back({name, i, d.spec});
      }
    }
  }
  if (starts.empty()) co_return;
  Status caught_up = co_await CatchUpCheckpoints();
  std::map<std::pair<std::string, int32_t>, std::optional<std::string>> checkpoints;
  bool failed = !caught_up.ok();
  if (failed) Log().warn("reading {}: {}; tasks start later", kCheckpointsTopic, caught_up.message());
  for (const auto& s : starts) {
    if (failed) break;
    auto cp = co_await LoadCheckpoint(CheckpointKey(s.name, s.task));
    if (!cp.ok()) {
      Log().warn("pipeline {} task {}: checkpoint not read: {}; starts later", s.name, s.task,
                 cp.status().message());
      failed = true;
      break;
    }
    checkpoints[{s.name, s.task}] = std::move(*cp);
  }
  bool again = failed;
  {
    std::lock_guard lock(mu_);
    if (stopped_) co_return;
    if (epoch != epoch_) {
      // The assignment changed meanwhile: what was read may be stale; decide again.
      again = true;
    } else if (!failed) {
      for (auto& s : starts) {
        auto d = pipelines_.find(s.name);
        if (d == pipelines_.end() || d->second.spec != s.spec) {
          again = true;  // replaced or deleted meanwhile
          continue;
        }
        auto& cp = checkpoints[{s.name, s.task}];
        auto t = MakeTask(s.name, d->second, s.task, std::move(cp));
        LocalTask lt;
        lt.task = t;
        lt.spec = s.spec;
        lt.slot = TaskSlot(s.name, s.task, slots_);
        local_[s.name][s.task] = std::move(lt);
        Log().info("pipeline {} v{} task {} started here (slot {}, {})", s.name, d->second.version,
                   s.task, TaskSlot(s.name, s.task, slots_),
                   checkpoints[{s.name, s.task}] ? "from its checkpoint" : "no checkpoint");
      }
    }
  }
  if (again) {
    if (failed) co_await SleepMs(500);
    std::lock_guard lock(mu_);
    reconcile_requested_ = true;
  }
}

std::shared_ptr<PipelineTask> PipelineManager::MakeTask(const std::string& name, const Desired& d,
                                                        int32_t i,
                                                        std::optional<std::string> checkpoint) {
  auto& desired = pipelines_[name];
  if (options_.metrics != nullptr && !desired.probe) {
    desired.probe = std::make_shared<PipelineProbe>(*options_.metrics, name);
  }
  if (checkpoint && checkpoint->empty()) checkpoint.reset();
  auto t = std::make_shared<PipelineTask>(d.spec, d.version, i, log_, options_.task,
                                          std::move(checkpoint), desired.probe);
  t->SetPaused(d.paused);
  runtime::ShardId shard(next_shard_++ % static_cast<uint32_t>(shards_.size()));
  shards_.Spawn(shard, [t]() -> Task<void> { co_await t->Run(); });
  return t;
}

Task<Status> PipelineManager::CatchUpCheckpoints() {
  storage::ReadOptions o;
  o.max_records = 1000;
  o.max_bytes = 64 << 20;
  const std::function<void(const model::RecordView&)> index = [this](const model::RecordView& rec) {
    if (!rec.key) return;
    if (rec.value) {
      checkpoint_index_[std::string(*rec.key)] = rec.offset.value();
    } else {
      checkpoint_index_.erase(std::string(*rec.key));
    }
  };
  const model::TopicPartition tp = CheckpointsTp();
  Status st = co_await storage::ReadToEnd(log_, tp, &checkpoint_next_, o, index);
  co_return st;
}

Task<Result<std::optional<std::string>>> PipelineManager::LoadCheckpoint(const std::string& key) {
  auto it = checkpoint_index_.find(key);
  if (it == checkpoint_index_.end()) co_return std::optional<std::string>();
  const int64_t offset = it->second;
  storage::ReadOptions o;
  o.max_records = 1;
  o.max_bytes = 64 << 20;
  auto r = co_await log_.Read(CheckpointsTp(), model::Offset(offset), o);
  if (!r.ok()) co_return r.status();
  std::optional<std::string> out;
  Status walk = r->ForEachRecord([&](const model::RecordView& rec) {
    if (rec.offset.value() == offset && rec.key && *rec.key == key && rec.value) {
      out = std::string(*rec.value);
    }
  });
  if (!walk.ok()) co_return walk;
  if (!out) {
    // Compacted away (a later record replaced it): read the index again next time.
    checkpoint_index_.clear();
    checkpoint_next_ = 0;
    co_return Unavailable("checkpoint {} moved; index rebuilt", key);
  }
  if (!IsCheckpointHead(*out)) co_return out;
  // A checkpoint in parts: its head names them.
  auto head = DecodeCheckpointHead(*out);
  if (!head.ok()) co_return head.status();
  std::string bytes;
  for (uint32_t i = 0; i < head->parts; ++i) {
    std::string part_key = CheckpointPartKey(key, head->id, i);
    auto p = checkpoint_index_.find(part_key);
    if (p == checkpoint_index_.end()) co_return DataLoss("checkpoint {}: part {} is missing", key, i);
    const int64_t part_offset = p->second;
    auto pr = co_await log_.Read(CheckpointsTp(), model::Offset(part_offset), o);
    if (!pr.ok()) co_return pr.status();
    bool found = false;
    Status pw = pr->ForEachRecord([&](const model::RecordView& rec) {
      if (!found && rec.offset.value() == part_offset && rec.key && *rec.key == part_key && rec.value) {
        bytes.append(*rec.value);
        found = true;
      }
    });
    if (!pw.ok()) co_return pw;
    if (!found) {
      checkpoint_index_.clear();
      checkpoint_next_ = 0;
      co_return Unavailable("checkpoint {} part {} moved; index rebuilt", key, i);
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(VerifyCheckpointParts(*head, bytes));
  co_return std::optional<std::string>(std::move(bytes));
}

Task<void> PipelineManager::AwaitStopped(std::vector<std::shared_ptr<PipelineTask>> tasks) {
  for (auto& t : tasks) t->Stop();
  for (auto& t : tasks) {
    // Tasks notice within one cycle; never block the shard (a task may run on this one).
    for (int i = 0; i < 12000 && !t->finished(); ++i) co_await SleepMs(5);
  }
}

namespace {

bool HasKeyedState(const PipelineSpec& spec) {
  for (const auto& op : spec.operators) {
    if (op.kind == OperatorKind::kWindow || op.kind == OperatorKind::kDedup ||
        op.kind == OperatorKind::kTopN || op.kind == OperatorKind::kJoin ||
        op.kind == OperatorKind::kAggregate) {
      return true;
    }
  }
  return false;
}

std::set<std::string> ExchangeTopics(const PipelineSpec& spec) {
  std::set<std::string> out;
  for (const auto& o : spec.outputs) {
    if (o.kind == OutputKind::kExchange) out.insert(o.topic);
  }
  return out;
}

}  // namespace

Task<Status> PipelineManager::EnsureExchangeTopics(const PipelineSpec& spec) {
  for (const auto& topic : ExchangeTopics(spec)) {
    std::string name = topic;
    auto d = co_await log_.DescribeTopic(std::move(name));
    if (d.ok()) {
      if (static_cast<int32_t>(d->partitions.size()) != spec.parallelism) {
        co_return FailedPrecondition(
            "exchange topic '{}' has {} partitions but the pipeline has parallelism {}; delete "
            "the pipeline (and the topic) to change its parallelism", topic, d->partitions.size(),
            spec.parallelism);
      }
      continue;
    }
    if (d.status().code() != ErrorCode::kNotFound) co_return d.status();
    // One partition per task. Read soon after it is written; kept a day for a lagging task.
    storage::TopicConfig cfg;
    cfg.partitions = spec.parallelism;
    cfg.retention_ms = 24LL * 3600 * 1000;
    if (spec.delivery == Delivery::kExactlyOnce) cfg.durability = storage::Durability::kAlways;
    std::string create = topic;
    Status st = co_await log_.EnsureInternalTopic(std::move(create), cfg);
    if (!st.ok()) {
      co_return Status(st.code(), fmt::format("exchange topic '{}': {}", topic, st.message()));
    }
  }
  co_return Status::Ok();
}

Task<void> PipelineManager::DeleteExchangeTopics(std::set<std::string> topics) {
  for (const auto& topic : topics) {
    std::string name = topic;
    Status st = co_await log_.DeleteInternalTopic(std::move(name));
    if (!st.ok() && st.code() != ErrorCode::kNotFound) {
      Log().warn("exchange topic {} not deleted: {}", topic, st.message());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The API

Task<Status> PipelineManager::CheckTopics(const PipelineSpec& spec) {
  for (const auto& s : spec.sources) {
    if (!s.exchange_of.empty()) continue;  // created at deploy
    std::string topic = s.topic;
    auto d = co_await log_.DescribeTopic(std::move(topic));
    if (!d.ok()) co_return NotFound("{}: source topic '{}' does not exist", s.loc.Describe(), s.topic);
  }
  for (const auto& o : spec.outputs) {
    if (o.kind != OutputKind::kTopic) continue;
    std::string topic = o.topic;
    auto d = co_await log_.DescribeTopic(std::move(topic));
    if (!d.ok()) co_return NotFound("{}: output topic '{}' does not exist", o.loc.Describe(), o.topic);
  }
  co_return Status::Ok();
}

Task<Result<int64_t>> PipelineManager::Record(const std::string& name, const std::string* value) {
  std::vector<model::ProduceRecord> recs;
  if (value != nullptr) {
    recs.emplace_back(name, *value);
  } else {
    recs.emplace_back(name, std::nullopt);
  }
  auto r = co_await log_.Append(PipelinesTp(), std::move(recs));
  if (!r.ok()) co_return r.status();
  co_return r->base_offset.value();
}

Task<Status> PipelineManager::DeleteCheckpoints(const std::string& name, std::vector<int32_t> tasks,
                                                bool with_parts) {
  std::vector<model::ProduceRecord> recs;
  for (int32_t i : tasks) {
    std::string key = CheckpointKey(name, i);
    // The parts of a checkpoint stored in parts ("<key>#..."), known from the index (which
    // only the reconcile loop may read).
    for (auto it = with_parts ? checkpoint_index_.lower_bound(key + "#") : checkpoint_index_.end();
         it != checkpoint_index_.end() && it->first.starts_with(key + "#"); ++it) {
      recs.emplace_back(it->first, std::nullopt);
    }
    recs.emplace_back(std::move(key), std::nullopt);
  }
  if (recs.empty()) co_return Status::Ok();
  auto r = co_await log_.Append(CheckpointsTp(), std::move(recs));
  co_return r.ok() ? Status::Ok() : r.status();
}

Task<Status> PipelineManager::Validate(std::string spec_text) {
  auto spec = ParsePipelineSpec(spec_text);
  if (!spec.ok()) co_return spec.status();
  SLUICE_CO_RETURN_IF_ERROR(ValidatePipeline(*spec, options_.task.field_types));
  co_return co_await CheckTopics(*spec);
}

Task<Result<PipelineInfo>> PipelineManager::Deploy(std::string spec_text, bool replace) {
  auto parsed = ParsePipelineSpec(spec_text);
  if (!parsed.ok()) co_return parsed.status();
  SLUICE_CO_RETURN_IF_ERROR(ValidatePipeline(*parsed, options_.task.field_types));
  SLUICE_CO_RETURN_IF_ERROR(co_await CheckTopics(*parsed));
  auto spec = std::make_shared<const PipelineSpec>(std::move(*parsed));
  int64_t version = 1;
  std::set<std::string> unused_exchanges;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || !started_) co_return Unavailable("the stream processor is not running");
    auto it = pipelines_.find(spec->name);
    if (it != pipelines_.end()) {
      if (!replace) {
        co_return AlreadyExists("pipeline '{}' exists (version {}); deploy with replace to "
                                "update it", spec->name, it->second.version);
      }
      const PipelineSpec& old = *it->second.spec;
      // Keyed state lives with the task that owns the key: another task count would put it
      // on the wrong tasks.
      if (old.parallelism != spec->parallelism && (HasKeyedState(old) || HasKeyedState(*spec))) {
        co_return FailedPrecondition(
            "pipeline '{}' keeps keyed state partitioned over {} tasks; its parallelism cannot "
            "change to {} on replace (delete it and deploy again)",
            spec->name, old.parallelism, spec->parallelism);
      }
      std::set<std::string> now = ExchangeTopics(*spec);
      for (const auto& t : ExchangeTopics(old)) {
        if (!now.contains(t)) unused_exchanges.insert(t);
      }
      version = it->second.version + 1;
    } else if (pipelines_.size() >= options_.max_pipelines) {
      co_return ResourceExhausted("at most {} pipelines", options_.max_pipelines);
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await EnsureExchangeTopics(*spec));
  int64_t now = NowMs();
  std::string record = EncodeRecord(*spec, version, false, now);
  auto offset = co_await Record(spec->name, &record);
  if (!offset.ok()) co_return offset.status();
  {
    // Applied here rather than by the follower so that the new version's local tasks start
    // before Deploy returns. Every instance (this one included) stops its tasks of the old
    // version, which take their final checkpoints, before it starts the new version's.
    std::lock_guard lock(mu_);
    ApplyLocked(*offset, spec->name, record);
  }
  uint64_t gen = RequestReconcile();
  co_await WaitReconciled(gen);
  // Exchanges of operators the new version no longer has (the old version's tasks have stopped).
  if (!unused_exchanges.empty()) co_await DeleteExchangeTopics(std::move(unused_exchanges));
  Log().info("pipeline {} v{} deployed", spec->name, version);
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(spec->name);
  if (it == pipelines_.end()) co_return FailedPrecondition("pipeline '{}' deleted while deploying", spec->name);
  co_return InfoOf(it->first, it->second);
}

Task<Result<PipelineInfo>> PipelineManager::SetPaused(std::string name, bool paused) {
  std::string record;
  {
    std::lock_guard lock(mu_);
    auto it = pipelines_.find(name);
    if (it == pipelines_.end()) co_return NotFound("pipeline '{}' does not exist", name);
    record = EncodeRecord(*it->second.spec, it->second.version, paused, NowMs());
  }
  auto offset = co_await Record(name, &record);
  if (!offset.ok()) co_return offset.status();
  std::lock_guard lock(mu_);
  ApplyLocked(*offset, name, record);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) co_return NotFound("pipeline '{}' does not exist", name);
  auto local = local_.find(name);
  if (local != local_.end()) {
    for (auto& [_, lt] : local->second) lt.task->SetPaused(it->second.paused);
  }
  co_return InfoOf(it->first, it->second);
}

Task<Status> PipelineManager::Delete(std::string name) {
  int32_t parallelism = 0;
  std::set<std::string> exchanges;
  {
    std::lock_guard lock(mu_);
    auto it = pipelines_.find(name);
    if (it == pipelines_.end()) co_return NotFound("pipeline '{}' does not exist", name);
    parallelism = it->second.spec->parallelism;
    exchanges = ExchangeTopics(*it->second.spec);
  }
  auto offset = co_await Record(name, nullptr);
  if (!offset.ok()) co_return offset.status();
  {
    std::lock_guard lock(mu_);
    ApplyLocked(*offset, name, std::nullopt);
  }
  uint64_t gen = RequestReconcile();
  co_await WaitReconciled(gen);
  // Every task's checkpoint, wherever it ran (the owners also delete theirs once stopped).
  std::vector<int32_t> tasks;
  for (int32_t i = 0; i < parallelism; ++i) tasks.push_back(i);
  Status st = co_await DeleteCheckpoints(name, std::move(tasks), false);
  if (!st.ok()) Log().warn("pipeline {}: checkpoints not deleted: {}", name, st.message());
  co_await DeleteExchangeTopics(std::move(exchanges));
  Log().info("pipeline {} deleted", name);
  co_return Status::Ok();
}

PipelineInfo PipelineManager::InfoOf(const std::string& name, const Desired& d) const {
  PipelineInfo info;
  info.name = name;
  info.version = d.version;
  info.spec = d.spec->text;
  info.updated_ms = d.updated_ms;
  bool failed = false;
  auto local = local_.find(name);
  for (int32_t i = 0; i < d.spec->parallelism; ++i) {
    const LocalTask* lt = nullptr;
    if (local != local_.end()) {
      auto t = local->second.find(i);
      if (t != local->second.end() && t->second.spec == d.spec) lt = &t->second;
    }
    if (lt != nullptr) {
      info.tasks.push_back(lt->task->Snapshot());
    } else {
      TaskStatus s;
      s.task = i;
      s.state = kTaskElsewhere;
      info.tasks.push_back(std::move(s));
    }
    failed |= info.tasks.back().state == "failed";
  }
  info.state = failed ? "failed" : d.paused ? "paused" : "running";
  return info;
}

std::vector<PipelineInfo> PipelineManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<PipelineInfo> out;
  for (const auto& [name, d] : pipelines_) out.push_back(InfoOf(name, d));
  return out;
}

Result<PipelineInfo> PipelineManager::Describe(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) return NotFound("pipeline '{}' does not exist", name);
  return InfoOf(it->first, it->second);
}

}  // namespace sluice::stream
