// PipelineTask: the read -> decode -> process -> append -> commit loop.
#include "stream/pipeline_task.h"

#include <fmt/format.h>

#include <chrono>

#include "stream/logger.h"
#include "codec/value_json.h"

namespace sluice::stream {

using model::Member;
using model::Value;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Task<void> SleepMs(int64_t ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

struct PipelineTask::SourcePartition {
  size_t source = 0;  // index into spec.sources
  model::TopicPartition tp;
  int64_t next = 0;
  int64_t committed = -1;
  int64_t high_watermark = 0;
  int64_t max_event_time = kNoWatermark;
  int64_t last_data_ms = 0;  // steady clock
};

// Error and late rows, staged as records for the pipeline's error and late topics.
class PipelineTask::Side final : public SideOutputs {
 public:
  explicit Side(const PipelineSpec& spec) : spec_(spec) {}
  void Error(const Row& row, std::string_view op, std::string_view reason) override {
    Stage(errors, row, op, "sluice-error-reason", reason);
  }
  void Late(const Row& row, std::string_view op, std::string_view reason) override {
    Stage(late, row, op, "sluice-late-reason", reason);
  }
  void RawError(std::string_view bytes, std::string_view source, std::string_view reason) {
    model::ProduceRecord rec;
    rec.value = std::string(bytes);
    rec.headers.emplace_back("sluice-error-reason", std::string(reason));
    rec.headers.emplace_back("sluice-pipeline", spec_.name);
    rec.headers.emplace_back("sluice-operator", std::string(source));
    errors.push_back(std::move(rec));
  }
  std::vector<model::ProduceRecord> errors;
  std::vector<model::ProduceRecord> late;

 private:
  void Stage(std::vector<model::ProduceRecord>& to, const Row& row, std::string_view op,
             const char* header, std::string_view reason) {
    model::ProduceRecord rec;
    rec.value.emplace();
    codec::AppendValueJson(*rec.value, row.value);
    rec.timestamp = row.timestamp;
    rec.headers.emplace_back(header, std::string(reason));
    rec.headers.emplace_back("sluice-pipeline", spec_.name);
    rec.headers.emplace_back("sluice-operator", std::string(op));
    to.push_back(std::move(rec));
  }
  const PipelineSpec& spec_;
};

PipelineTask::PipelineTask(std::shared_ptr<const PipelineSpec> spec, int32_t task_index,
                           storage::Log& log, Options options)
    : spec_(std::move(spec)),
      task_index_(task_index),
      log_(log),
      options_(options),
      group_("_pipeline." + spec_->name),
      side_(std::make_unique<Side>(*spec_)) {
  ctx_.side = side_.get();
  status_.task = task_index;
  status_.state = "starting";
}

PipelineTask::~PipelineTask() = default;

TaskStatus PipelineTask::Snapshot() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void PipelineTask::UpdateStatus(std::string_view state) {
  TaskStatus s;
  s.task = task_index_;
  s.state = std::string(state);
  {
    std::lock_guard lock(status_mu_);
    s.error = status_.error;
    s.cycles = status_.cycles;
  }
  int64_t wm = kNoWatermark;
  for (const auto& p : parts_) {
    SourcePartitionStatus ps;
    ps.source = spec_->sources[p.source].name;
    ps.topic = p.tp.topic;
    ps.partition = p.tp.partition.value();
    ps.position = p.next;
    ps.high_watermark = p.high_watermark;
    ps.max_event_time = p.max_event_time;
    s.sources.push_back(std::move(ps));
  }
  if (graph_) {
    for (size_t i = 0; i < graph_->num_sources(); ++i) {
      s.events_in += graph_->source(i).stats().rows_in;
      int64_t w = graph_->source(i).watermark();
      wm = (i == 0) ? w : std::min(wm, w);
    }
    for (const auto& op : graph_->operators()) {
      s.operators.push_back({op->name(), op->stats(), op->StateBytes()});
      s.errors += op->stats().errors;
      s.late += op->stats().late;
    }
    for (const auto* out : graph_->outputs()) s.records_out += out->rows_written();
  }
  s.watermark = wm;
  std::lock_guard lock(status_mu_);
  s.cycles = status_.cycles;
  status_ = std::move(s);
}

Task<Status> PipelineTask::Setup() {
  TaskGraph::Options options;
  for (const auto& o : spec_->outputs) {
    if (o.kind != OutputKind::kTopic) continue;
    auto d = co_await log_.DescribeTopic(o.topic);
    if (!d.ok()) co_return NotFound("output '{}': topic '{}' does not exist", o.name, o.topic);
    options.output_partitions[o.topic] = static_cast<int32_t>(d->partitions.size());
  }
  auto g = TaskGraph::Build(*spec_, ctx_, options);
  if (!g.ok()) co_return g.status();
  graph_ = std::move(*g);
  for (const auto& src : spec_->sources) {
    std::unique_ptr<rules::Expression> e;
    if (src.event_time) {
      auto c = CompileSpecExpression(*src.event_time);
      if (!c.ok()) co_return c.status();
      e = std::move(*c);
    }
    event_time_.push_back(std::move(e));
  }

  // Assign source partitions: task i of N takes partitions p with p % N == i.
  std::vector<model::TopicPartition> tps;
  for (size_t s = 0; s < spec_->sources.size(); ++s) {
    const SourceSpec& src = spec_->sources[s];
    auto d = co_await log_.DescribeTopic(src.topic);
    if (!d.ok()) co_return NotFound("source '{}': topic '{}' does not exist", src.name, src.topic);
    for (const auto& p : d->partitions) {
      if (p.partition.value() % spec_->parallelism != task_index_) continue;
      SourcePartition sp;
      sp.source = s;
      sp.tp = model::TopicPartition(src.topic, p.partition);
      sp.high_watermark = p.high_watermark.value();
      // committed/earliest/latest resume from the group's committed position when there is one
      // (Kafka's auto.offset.reset rule); offset and time always start where they say.
      switch (src.start) {
        case StartPosition::kEarliest:
        case StartPosition::kCommitted: sp.next = p.log_start_offset.value(); break;
        case StartPosition::kLatest: sp.next = p.high_watermark.value(); break;
        case StartPosition::kOffset: sp.next = std::max(src.start_value, p.log_start_offset.value()); break;
        case StartPosition::kTime: {
          auto o = co_await log_.OffsetForTimestamp(sp.tp, src.start_value);
          if (!o.ok()) co_return o.status();
          sp.next = o->value();
          break;
        }
      }
      sp.last_data_ms = SteadyMs();
      parts_.push_back(std::move(sp));
      if (src.start != StartPosition::kOffset && src.start != StartPosition::kTime) {
        tps.push_back(parts_.back().tp);
      }
    }
  }
  if (!tps.empty()) {
    std::string group = group_;
    auto committed = co_await log_.FetchOffsets(std::move(group), std::move(tps));
    if (!committed.ok()) co_return committed.status();
    for (const auto& g : *committed) {
      for (auto& p : parts_) {
        StartPosition start = spec_->sources[p.source].start;
        if (p.tp == g.tp && start != StartPosition::kOffset && start != StartPosition::kTime) {
          p.next = g.offset.value();
          p.committed = g.offset.value();
        }
      }
    }
  }
  co_return Status::Ok();
}

Task<void> PipelineTask::Run() {
  Status st = co_await Setup();
  if (!st.ok()) {
    {
      std::lock_guard lock(status_mu_);
      status_.error = std::string(st.message());
    }
    UpdateStatus("failed");
    Log().warn("pipeline {} task {}: {}", spec_->name, task_index_, st.message());
    finished_.store(true);
    co_return;
  }
  UpdateStatus("running");
  while (!stop_.load()) {
    if (paused_.load()) {
      UpdateStatus("paused");
      co_await SleepMs(100);
      continue;
    }
    bool had_data = false;
    st = co_await RunCycle(had_data);
    if (!st.ok()) {
      // Appends can fail transiently (a partition that is being reopened, shutdown): retry the
      // cycle's flush with a pause rather than dropping staged outputs.
      Log().warn("pipeline {} task {}: {}", spec_->name, task_index_, st.message());
      {
        std::lock_guard lock(status_mu_);
        status_.error = std::string(st.message());
      }
      co_await SleepMs(500);
      continue;
    }
    {
      std::lock_guard lock(status_mu_);
      ++status_.cycles;
    }
    UpdateStatus("running");
    if (!had_data) co_await SleepMs(options_.idle_poll_ms);
  }
  if (positions_dirty_ && pending_.empty()) (void)co_await CommitPositions();
  UpdateStatus("stopped");
  finished_.store(true);
}

Task<Status> PipelineTask::RunCycle(bool& had_data) {
  // Outputs staged by a cycle whose append failed are still pending: flush them first.
  Status pending = co_await FlushOutputs();
  if (!pending.ok()) co_return pending;
  ctx_.processing_time_ms = NowMs();
  ctx_.eval.now_ms = ctx_.processing_time_ms;
  codec::ValueJsonDecoder& decoder = decoder_;
  for (auto& p : parts_) {
    storage::ReadOptions opts;
    opts.max_records = options_.max_batch_records;
    auto r = co_await log_.Read(p.tp, model::Offset(p.next), opts);
    if (!r.ok()) {
      if (r.status().code() == ErrorCode::kOutOfRange) {
        // Retention removed what we had not read: continue from the log start, loudly.
        auto d = co_await log_.DescribeTopic(p.tp.topic);
        if (d.ok() && p.tp.partition.value() < static_cast<int32_t>(d->partitions.size())) {
          int64_t start = d->partitions[p.tp.partition.value()].log_start_offset.value();
          Log().warn("pipeline {}: {} offsets {}..{} were deleted before being read",
                          spec_->name, fmt::format("{}", p.tp), p.next, start - 1);
          p.next = start;
        }
        continue;
      }
      co_return r.status();
    }
    p.high_watermark = r->high_watermark.value();
    const SourceSpec& src = spec_->sources[p.source];
    rows_.clear();
    std::string reason;
    Status walk = r->ForEachRecord([&](const model::RecordView& rec) {
      p.next = rec.offset.value() + 1;
      std::string_view bytes = rec.value.value_or(std::string_view());
      if (!rec.value) return;  // tombstones carry no event
      auto v = decoder.Decode(bytes, ctx_.arena);
      if (!v.ok()) {
        side_->RawError(bytes, src.name, v.status().message());
        return;
      }
      Row row;
      row.value = *v;
      if (src.metadata) {
        std::span<const Member> base;
        if (row.value.is_object()) base = row.value.members();
        auto members = ctx_.arena.AllocateArray<Member>(base.size() + 4);
        std::copy(base.begin(), base.end(), members.begin());
        size_t n = base.size();
        if (!row.value.is_object()) members[n++] = {"value", row.value};
        members[n++] = {"_key", rec.key ? ctx_.arena.CopyStringValue(*rec.key) : Value::Null()};
        members[n++] = {"_timestamp", Value::Timestamp(rec.timestamp)};
        members[n++] = {"_partition", Value::Int(p.tp.partition.value())};
        if (n < members.size()) members[n++] = {"_offset", Value::Int(rec.offset.value())};
        row.value = Value::Object(members.first(n));
      }
      if (src.processing_time) {
        row.timestamp = ctx_.processing_time_ms;
      } else if (event_time_[p.source]) {
        Value t = event_time_[p.source]->Evaluate(row.value, ctx_.eval);
        if (!ctx_.eval.error.empty() || !(t.is_int() || t.is_timestamp() || t.is_double())) {
          reason = ctx_.eval.error.empty()
                       ? fmt::format("event_time '{}' is {}, not a timestamp or milliseconds",
                                     src.event_time->text, model::ValueTypeName(t.type()))
                       : fmt::format("event_time: {}", ctx_.eval.error);
          ctx_.eval.error.clear();
          side_->RawError(bytes, src.name, reason);
          return;
        }
        row.timestamp = t.is_double() ? static_cast<int64_t>(t.double_value()) : t.int_value();
      } else {
        row.timestamp = rec.timestamp;
      }
      p.max_event_time = std::max(p.max_event_time, row.timestamp);
      rows_.push_back(row);
    });
    if (!walk.ok()) co_return walk;  // a corrupt batch: stop here rather than skip data
    if (!rows_.empty()) {
      had_data = true;
      p.last_data_ms = SteadyMs();
      positions_dirty_ = true;
      graph_->source(p.source).Deliver(rows_);
    } else if (r->next_offset.value() > p.next) {
      p.next = r->next_offset.value();
      positions_dirty_ = true;
    }
  }
  // Watermarks: per source, the minimum over its partitions that are not idle.
  int64_t now = SteadyMs();
  for (size_t s = 0; s < spec_->sources.size(); ++s) {
    const SourceSpec& src = spec_->sources[s];
    int64_t wm = kNoWatermark;
    bool any_active = false;
    bool first = true;
    for (const auto& p : parts_) {
      if (p.source != s) continue;
      bool idle = now - p.last_data_ms > src.idle_timeout_ms && p.next >= p.high_watermark;
      if (idle) continue;
      any_active = true;
      int64_t pw = p.max_event_time == kNoWatermark ? kNoWatermark
                                                    : p.max_event_time - src.max_out_of_orderness_ms - 1;
      wm = first ? pw : std::min(wm, pw);
      first = false;
    }
    if (src.processing_time) wm = ctx_.processing_time_ms - 1;
    if (any_active || src.processing_time) graph_->source(s).DeliverWatermark(wm);
  }
  Status flushed = co_await FlushOutputs();
  if (!flushed.ok()) co_return flushed;
  ctx_.arena.Reset();
  if (positions_dirty_ && pending_.empty() && SteadyMs() - last_commit_ms_ >= options_.commit_interval_ms) {
    Status c = co_await CommitPositions();
    if (!c.ok()) co_return c;
  }
  co_return Status::Ok();
}

Task<Status> PipelineTask::FlushOutputs() {
  // Everything staged joins the queue of pending appends, in order; an append that fails stays
  // at the head and is retried by the next flush, so no staged output is ever dropped (and
  // positions are only committed once the queue is empty).
  for (auto* out : graph_->outputs()) {
    for (auto& [partition, records] : out->TakeStaged()) {
      pending_.push_back({out->topic(), partition, std::move(records), false});
    }
  }
  if (!side_->errors.empty()) pending_.push_back({spec_->errors_topic, 0, std::exchange(side_->errors, {}), true});
  if (!side_->late.empty()) pending_.push_back({spec_->late_topic, 0, std::exchange(side_->late, {}), true});
  while (!pending_.empty()) {
    PendingAppend& head = pending_.front();
    model::TopicPartition tp(head.topic, model::PartitionId(head.partition));
    auto r = co_await log_.Append(tp, head.records);
    if (!r.ok() && r.status().code() == ErrorCode::kNotFound && head.create_if_missing) {
      // The error and late topics are created on first use.
      storage::TopicConfig config;
      std::string topic = head.topic;
      Status c = co_await log_.CreateTopic(std::move(topic), config);
      if (!c.ok() && c.code() != ErrorCode::kAlreadyExists) co_return c;
      r = co_await log_.Append(tp, head.records);
    }
    if (!r.ok()) co_return r.status();
    pending_.pop_front();
  }
  co_return Status::Ok();
}

Task<Status> PipelineTask::CommitPositions() {
  std::vector<storage::GroupOffset> offsets;
  for (const auto& p : parts_) {
    if (p.next != p.committed) offsets.emplace_back(p.tp, model::Offset(p.next));
  }
  last_commit_ms_ = SteadyMs();
  positions_dirty_ = false;
  if (offsets.empty()) co_return Status::Ok();
  std::string group = group_;
  Status st = co_await log_.CommitOffsets(std::move(group), offsets);
  if (st.ok()) {
    for (auto& p : parts_) p.committed = p.next;
  }
  co_return st;
}

}  // namespace sluice::stream
