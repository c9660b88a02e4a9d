// PipelineManager: deploy/pause/resume/delete, persistence in `_pipelines`, task lifecycle.
#include "stream/pipeline_manager.h"

#include <chrono>
#include <thread>

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

}  // namespace

struct PipelineManager::Running {
  std::shared_ptr<const PipelineSpec> spec;
  int64_t version = 0;
  bool paused = false;
  int64_t updated_ms = 0;
  std::vector<std::shared_ptr<PipelineTask>> tasks;
  std::shared_ptr<PipelineProbe> probe;
};

PipelineManager::PipelineManager(PipelineManagerOptions options, storage::Log& log,
                                 runtime::Shards& shards)
    : options_(options), log_(log), shards_(shards) {
  if (options_.task.blocking == nullptr) options_.task.blocking = &shards_.blocking();
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

Status PipelineManager::Start() {
  // Both internal topics are compacted maps: the last record per key wins, a tombstone deletes.
  auto load_map = [this](const char* topic) -> Task<Result<std::map<std::string, std::string>>> {
    storage::TopicConfig cfg;
    cfg.partitions = 1;
    cfg.cleanup_policy = storage::CleanupPolicy::kCompact;
    cfg.durability = storage::Durability::kAlways;
    cfg.retention_ms = -1;
    cfg.segment_bytes = 128LL * 1024 * 1024;
    cfg.max_message_bytes = 64 * 1024 * 1024;  // checkpoints carry state and staged outputs
    SLUICE_CO_RETURN_IF_ERROR(co_await log_.EnsureInternalTopic(topic, cfg));
    std::map<std::string, std::string> latest;  // key -> record (absent: deleted)
    int64_t next = 0;
    model::TopicPartition tp(topic, model::PartitionId(0));
    for (;;) {
      storage::ReadOptions o;
      o.max_records = 1000;
      o.max_bytes = 64 << 20;
      auto r = co_await log_.Read(tp, model::Offset(next), o);
      if (!r.ok()) {
        if (r.status().code() == ErrorCode::kOutOfRange) {
          std::string name = topic;
          auto d = co_await log_.DescribeTopic(name);
          if (!d.ok()) co_return d.status();
          next = d->partitions[0].log_start_offset.value();
          continue;
        }
        co_return r.status();
      }
      Status walk = r->ForEachRecord([&](const model::RecordView& rec) {
        if (!rec.key) return;
        if (rec.value) {
          latest[std::string(*rec.key)] = std::string(*rec.value);
        } else {
          latest.erase(std::string(*rec.key));
        }
      });
      if (!walk.ok()) co_return walk;
      if (r->next_offset.value() <= next || r->next_offset >= r->high_watermark) break;
      next = r->next_offset.value();
    }
    co_return latest;
  };
  auto load = [&load_map]() { return load_map(kPipelinesTopic); };
  auto load_checkpoints = [&load_map]() { return load_map(kCheckpointsTopic); };
  auto latest = runtime::BlockOn(shards_, runtime::ShardId(0), load);
  if (!latest.ok()) return latest.status();
  auto checkpoints = runtime::BlockOn(shards_, runtime::ShardId(0), load_checkpoints);
  if (!checkpoints.ok()) return checkpoints.status();
  codec::JsonParser parser;
  std::lock_guard lock(mu_);
  for (const auto& [name, record] : *latest) {
    auto doc = parser.Parse(record);
    const codec::JsonValue* spec_text = doc.ok() ? doc->Find("spec") : nullptr;
    if (spec_text == nullptr || !spec_text->is_string()) {
      Log().error("pipeline {}: the record in {} is unreadable; skipped", name, kPipelinesTopic);
      continue;
    }
    auto spec = ParsePipelineSpec(spec_text->text());
    if (!spec.ok()) {
      Log().error("pipeline {}: stored spec no longer valid: {}", name, spec.status().message());
      continue;
    }
    auto r = std::make_unique<Running>();
    r->spec = std::make_shared<const PipelineSpec>(std::move(*spec));
    const codec::JsonValue* v = doc->Find("version");
    r->version = v ? v->AsInt64().value_or(1) : 1;
    const codec::JsonValue* st = doc->Find("state");
    r->paused = st != nullptr && st->is_string() && st->text() == "paused";
    const codec::JsonValue* u = doc->Find("updated_ms");
    r->updated_ms = u ? u->AsInt64().value_or(0) : 0;
    std::map<int32_t, std::string> resume;
    for (int32_t i = 0; i < r->spec->parallelism; ++i) {
      auto cp = checkpoints->find(CheckpointKey(name, i));
      if (cp != checkpoints->end()) resume[i] = cp->second;
    }
    StartTasks(*r, resume);
    Log().info("pipeline {} v{} restored ({}, {} checkpointed task(s))", name, r->version,
               r->paused ? "paused" : "running", resume.size());
    pipelines_[name] = std::move(r);
  }
  return Status::Ok();
}

void PipelineManager::StartTasks(Running& r, const std::map<int32_t, std::string>& checkpoints) {
  r.tasks.clear();
  if (options_.metrics != nullptr && !r.probe) {
    r.probe = std::make_shared<PipelineProbe>(*options_.metrics, r.spec->name);
  }
  for (int32_t i = 0; i < r.spec->parallelism; ++i) {
    std::optional<std::string> resume;
    auto cp = checkpoints.find(i);
    if (cp != checkpoints.end() && !cp->second.empty()) resume = cp->second;
    auto t = std::make_shared<PipelineTask>(r.spec, r.version, i, log_, options_.task,
                                            std::move(resume), r.probe);
    t->SetPaused(r.paused);
    runtime::ShardId shard(next_shard_++ % static_cast<uint32_t>(shards_.size()));
    shards_.Spawn(shard, [t]() -> Task<void> { co_await t->Run(); });
    r.tasks.push_back(std::move(t));
  }
}

void PipelineManager::StopTasks(Running& r) {
  for (auto& t : r.tasks) t->Stop();
  // Tasks notice within one cycle (a read, an append, or an idle pause of ~100 ms).
  for (auto& t : r.tasks) {
    for (int i = 0; i < 3000 && !t->finished(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

void PipelineManager::Stop() {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  for (auto& [_, r] : pipelines_) {
    for (auto& t : r->tasks) t->Stop();
  }
  for (auto& [_, r] : pipelines_) StopTasks(*r);
}

Task<void> PipelineManager::AwaitStopped(std::vector<std::shared_ptr<PipelineTask>> tasks) {
  for (auto& t : tasks) t->Stop();
  for (auto& t : tasks) {
    // Tasks notice within one cycle; never block the shard (a task may run on this one).
    for (int i = 0; i < 3000 && !t->finished(); ++i) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
      co_await timer.async_wait(asio::use_awaitable);
    }
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

Task<Status> PipelineManager::Record(const std::string& name, const std::string* value) {
  std::vector<model::ProduceRecord> recs;
  if (value != nullptr) {
    recs.emplace_back(name, *value);
  } else {
    recs.emplace_back(name, std::nullopt);
  }
  auto r = co_await log_.Append(PipelinesTp(), std::move(recs));
  co_return r.ok() ? Status::Ok() : r.status();
}

Task<Status> PipelineManager::DeleteCheckpoints(const std::string& name, int32_t tasks) {
  std::vector<model::ProduceRecord> recs;
  for (int32_t i = 0; i < tasks; ++i) recs.emplace_back(CheckpointKey(name, i), std::nullopt);
  auto r = co_await log_.Append(model::TopicPartition(kCheckpointsTopic, model::PartitionId(0)),
                                std::move(recs));
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
    if (stopped_) co_return Unavailable("shutting down");
    auto it = pipelines_.find(spec->name);
    if (it != pipelines_.end()) {
      if (!replace) {
        co_return AlreadyExists("pipeline '{}' exists (version {}); deploy with replace to "
                                "update it", spec->name, it->second->version);
      }
      const PipelineSpec& old = *it->second->spec;
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
      version = it->second->version + 1;
    } else if (pipelines_.size() >= options_.max_pipelines) {
      co_return ResourceExhausted("at most {} pipelines", options_.max_pipelines);
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await EnsureExchangeTopics(*spec));
  int64_t now = NowMs();
  std::string record = EncodeRecord(*spec, version, false, now);
  SLUICE_CO_RETURN_IF_ERROR(co_await Record(spec->name, &record));
  std::unique_ptr<Running> old;
  {
    std::lock_guard lock(mu_);
    auto& slot = pipelines_[spec->name];
    old = std::move(slot);
    slot = std::make_unique<Running>();
    slot->spec = spec;
    slot->version = version;
    slot->updated_ms = now;
  }
  // The old version stops (and checkpoints or commits its positions) before the new one reads them.
  std::map<int32_t, std::string> resume;
  if (old) {
    co_await AwaitStopped(old->tasks);
    for (size_t i = 0; i < old->tasks.size(); ++i) {
      std::string cp = old->tasks[i]->LastCheckpoint();
      if (!cp.empty()) resume[static_cast<int32_t>(i)] = std::move(cp);
    }
    // Exchanges of operators the new version no longer has.
    if (!unused_exchanges.empty()) co_await DeleteExchangeTopics(std::move(unused_exchanges));
  }
  PipelineInfo info;
  {
    std::lock_guard lock(mu_);
    auto it = pipelines_.find(spec->name);
    if (it == pipelines_.end() || it->second->spec != spec) co_return FailedPrecondition("pipeline '{}' changed while deploying", spec->name);
    StartTasks(*it->second, resume);
    info = InfoOf(*it->second);
  }
  Log().info("pipeline {} v{} deployed", spec->name, version);
  co_return info;
}

Task<Result<PipelineInfo>> PipelineManager::SetPaused(std::string name, bool paused) {
  std::string record;
  {
    std::lock_guard lock(mu_);
    auto it = pipelines_.find(name);
    if (it == pipelines_.end()) co_return NotFound("pipeline '{}' does not exist", name);
    record = EncodeRecord(*it->second->spec, it->second->version, paused, NowMs());
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await Record(name, &record));
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) co_return NotFound("pipeline '{}' does not exist", name);
  it->second->paused = paused;
  it->second->updated_ms = NowMs();
  for (auto& t : it->second->tasks) t->SetPaused(paused);
  co_return InfoOf(*it->second);
}

Task<Status> PipelineManager::Delete(std::string name) {
  {
    std::lock_guard lock(mu_);
    if (!pipelines_.contains(name)) co_return NotFound("pipeline '{}' does not exist", name);
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await Record(name, nullptr));
  std::unique_ptr<Running> r;
  {
    std::lock_guard lock(mu_);
    auto it = pipelines_.find(name);
    if (it == pipelines_.end()) co_return Status::Ok();
    r = std::move(it->second);
    pipelines_.erase(it);
  }
  co_await AwaitStopped(r->tasks);
  // A pipeline deployed again under this name starts afresh.
  Status st = co_await DeleteCheckpoints(name, r->spec->parallelism);
  if (!st.ok()) Log().warn("pipeline {}: checkpoints not deleted: {}", name, st.message());
  co_await DeleteExchangeTopics(ExchangeTopics(*r->spec));
  Log().info("pipeline {} deleted", name);
  co_return Status::Ok();
}

PipelineInfo PipelineManager::InfoOf(const Running& r) const {
  PipelineInfo info;
  info.name = r.spec->name;
  info.version = r.version;
  info.spec = r.spec->text;
  info.updated_ms = r.updated_ms;
  bool failed = false;
  for (const auto& t : r.tasks) {
    info.tasks.push_back(t->Snapshot());
    failed |= info.tasks.back().state == "failed";
  }
  info.state = failed ? "failed" : r.paused ? "paused" : "running";
  return info;
}

std::vector<PipelineInfo> PipelineManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<PipelineInfo> out;
  for (const auto& [_, r] : pipelines_) out.push_back(InfoOf(*r));
  return out;
}

Result<PipelineInfo> PipelineManager::Describe(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) return NotFound("pipeline '{}' does not exist", name);
  return InfoOf(*it->second);
}

}  // namespace sluice::stream
