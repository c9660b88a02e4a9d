// PipelineTask: the read -> decode -> process -> append -> commit loop.
#include "stream/pipeline_task.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "codec/value_json.h"
#include "stream/exchange.h"
#include "stream/logger.h"
#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Exactly-once: a checkpoint is taken early once this much output waits for it.
constexpr size_t kMaxStagedBytes = 4 << 20;

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
  // A lookup table's partition (SourceSpec::lookup_table): read in full by every task, from the
  // start; events wait until it has read up to `catch_up_to`, its high watermark at task start.
  bool table = false;
  int64_t catch_up_to = 0;
  int64_t log_start = 0;
  bool CatchingUp() const { return table && next < catch_up_to && next < high_watermark; }
};

// Error and late rows, staged (as JSON values with the reason in headers) for the pipeline's
// error and late topics, which are created on first use.
class PipelineTask::Side final : public SideOutputs {
 public:
  Side(const PipelineSpec& spec, OutputStaging& staging)
      : spec_(spec),
        staging_(staging),
        errors_(staging.Topic(spec.errors_topic, true)),
        late_(staging.Topic(spec.late_topic, true)) {}
  void Error(const Row& row, std::string_view op, std::string_view reason) override {
    Stage(errors_, row, op, "sluice-error-reason", reason);
  }
  void Late(const Row& row, std::string_view op, std::string_view reason) override {
    Stage(late_, row, op, "sluice-late-reason", reason);
  }
  void RawError(std::string_view bytes, std::string_view source, std::string_view reason) {
    const model::HeaderView headers[] = {{"sluice-error-reason", reason},
                                         {"sluice-pipeline", std::string_view(spec_.name)},
                                         {"sluice-operator", source}};
    staging_.Add(errors_, 0, std::nullopt, bytes, model::kNoTimestamp, headers);
  }

 private:
  void Stage(int slot, const Row& row, std::string_view op, const char* header,
             std::string_view reason) {
    value_.clear();
    codec::AppendValueJson(value_, row.value);
    const model::HeaderView headers[] = {{header, reason},
                                         {"sluice-pipeline", std::string_view(spec_.name)},
                                         {"sluice-operator", op}};
    staging_.Add(slot, 0, std::nullopt, value_, row.timestamp, headers);
  }
  const PipelineSpec& spec_;
  OutputStaging& staging_;
  int errors_, late_;
  std::string value_;
};

PipelineTask::PipelineTask(std::shared_ptr<const PipelineSpec> spec, int64_t version,
                           int32_t task_index, storage::Log& log, Options options,
                           std::optional<std::string> checkpoint,
                           std::shared_ptr<PipelineProbe> probe)
    : spec_(std::move(spec)),
      task_index_(task_index),
      log_(log),
      options_(options),
      group_("_pipeline." + spec_->name),
      side_(std::make_unique<Side>(*spec_, ctx_.staging)),
      version_(version),
      resume_from_(std::move(checkpoint)),
      probe_(std::move(probe)) {
  if (resume_from_) last_checkpoint_ = *resume_from_;
  ctx_.side = side_.get();
  status_.task = task_index;
  status_.state = "starting";
}

PipelineTask::~PipelineTask() = default;

std::string PipelineTask::LastCheckpoint() const {
  std::lock_guard lock(status_mu_);
  return last_checkpoint_;
}

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
    bool first = true;
    for (size_t i = 0; i < graph_->num_sources(); ++i) {
      // Lookup tables are processing-time state: their event time is not the pipeline's.
      if (spec_->sources[i].lookup_table) continue;
      // Rows read back from an exchange were counted when their source read them.
      if (spec_->sources[i].exchange_of.empty()) s.events_in += graph_->source(i).stats().rows_in;
      int64_t w = graph_->source(i).watermark();
      wm = first ? w : std::min(wm, w);
      first = false;
    }
    for (const auto& op : graph_->operators()) {
      s.operators.push_back({op->name(), op->stats(), op->StateBytes(), op->Counters()});
      s.errors += op->stats().errors;
      s.late += op->stats().late;
    }
    for (const auto* out : graph_->outputs()) s.records_out += out->rows_written();
  }
  s.watermark = wm;
  if (probe_) {
    auto bump = [](metrics::Counter& c, uint64_t now, uint64_t& reported) {
      if (now > reported) c.Inc(now - reported);
      reported = now;
    };
    bump(probe_->events_in, s.events_in, reported_in_);
    bump(probe_->records_out, s.records_out, reported_out_);
    bump(probe_->errors, s.errors, reported_errors_);
    bump(probe_->late, s.late, reported_late_);
    int64_t lag = 0;
    for (const auto& p : parts_) lag += std::max<int64_t>(0, p.high_watermark - p.next);
    probe_->SetTaskGauges(task_index_, graph_ ? static_cast<double>(graph_->StateBytes()) : 0.0,
                          static_cast<double>(lag),
                          graph_ ? static_cast<double>(graph_->SpilledBytes()) : 0.0);
  }
  std::lock_guard lock(status_mu_);
  s.cycles = status_.cycles;
  status_ = std::move(s);
}

Task<Status> PipelineTask::Setup() {
  TaskGraph::Options options;
  options.field_types = options_.field_types;
  options.task_index = task_index_;
  for (const auto& o : spec_->outputs) {
    if (o.kind == OutputKind::kDiscard) continue;
    auto d = co_await log_.DescribeTopic(o.topic);
    if (!d.ok()) co_return NotFound("output '{}': topic '{}' does not exist", o.name, o.topic);
    if (o.kind == OutputKind::kExchange &&
        static_cast<int32_t>(d->partitions.size()) != spec_->parallelism) {
      co_return FailedPrecondition("exchange topic '{}' has {} partitions, the pipeline {} tasks",
                                   o.topic, d->partitions.size(), spec_->parallelism);
    }
    options.output_partitions[o.topic] = static_cast<int32_t>(d->partitions.size());
  }
  {
    std::string root = options_.state_dir;
    if (root.empty()) {
      std::error_code ec;
      std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
      if (ec) tmp = "/tmp";
      root = (tmp / "sluice-state").string();
    }
    options.state_dir = fmt::format("{}/{}-{}", root, spec_->name, task_index_);
  }
  graph_options_ = options;
  // Per exchange output (in spec order, as the graph lists them): the sources feeding it.
  for (const auto& o : spec_->outputs) {
    if (o.kind != OutputKind::kExchange) continue;
    std::vector<size_t> upstream;
    for (const auto& name : UpstreamSources(*spec_, o.input)) {
      for (size_t s = 0; s < spec_->sources.size(); ++s) {
        if (spec_->sources[s].name == name && !spec_->sources[s].lookup_table) upstream.push_back(s);
      }
    }
    exchange_upstream_.push_back(std::move(upstream));
  }
  auto g = TaskGraph::Build(*spec_, ctx_, options);
  if (!g.ok()) co_return g.status();
  graph_ = std::move(*g);
  for (const auto& src : spec_->sources) {
    std::unique_ptr<rules::Expression> e;
    if (src.event_time) {
      FieldTypes types;
      if (options_.field_types) types = options_.field_types(src.topic);
      rules::CompileOptions co;
      if (!types.empty()) co.field_types = &types;
      auto c = CompileSpecExpression(*src.event_time, co);
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
      // A lookup table is broadcast: every task reads all of it.
      if (!src.lookup_table && p.partition.value() % spec_->parallelism != task_index_) continue;
      if (ExchangeInput* x = graph_->exchange_input(s)) x->AddPartition(p.partition.value());
      SourcePartition sp;
      sp.source = s;
      sp.tp = model::TopicPartition(src.topic, p.partition);
      sp.high_watermark = p.high_watermark.value();
      if (src.lookup_table) {
        // Always from the start (or the checkpoint): the group's position would skip the rows
        // an at-least-once task needs to rebuild its table, and tasks would share it.
        sp.table = true;
        sp.catch_up_to = p.high_watermark.value();
        sp.log_start = p.log_start_offset.value();
        sp.next = sp.log_start;
        sp.last_data_ms = SteadyMs();
        parts_.push_back(std::move(sp));
        continue;
      }
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
  // Tables first: each cycle applies table updates before the events read with them.
  std::stable_partition(parts_.begin(), parts_.end(),
                        [](const SourcePartition& p) { return p.table; });
  if (spec_->delivery == Delivery::kExactlyOnce) {
    // Positions come from the checkpoint, not the consumer group (which only shows progress).
    tps.clear();
    if (resume_from_) SLUICE_CO_RETURN_IF_ERROR(co_await RestoreCheckpoint());
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
      // Appends can fail transiently (a partition that is being reopened, shutdown, a nearly
      // full disk): retry the cycle's flush with a pause rather than dropping staged outputs.
      // The same kind of error twice a second for minutes is one line per 30 s, with a count.
      const auto now = std::chrono::steady_clock::now();
      if (st.code() != last_error_ || now - last_error_logged_ >= std::chrono::seconds(30)) {
        Log().warn("pipeline {} task {}: {}{}", spec_->name, task_index_, st.message(),
                   repeats_ > 0 ? fmt::format(" (and {} times more since the last report)",
                                              repeats_)
                                : std::string());
        last_error_ = st.code();
        last_error_logged_ = now;
        repeats_ = 0;
      } else {
        ++repeats_;
      }
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
  if (spec_->delivery == Delivery::kExactlyOnce) {
    // A clean stop checkpoints what was processed, so the next run neither repeats nor loses it.
    Status last = co_await TakeCheckpoint();
    if (!last.ok()) Log().warn("pipeline {} task {}: final checkpoint: {}", spec_->name, task_index_, last.message());
  }
  if (positions_dirty_ && pending_.empty()) (void)co_await CommitPositions();
  UpdateStatus("stopped");
  finished_.store(true);
}

Task<Status> PipelineTask::RunCycle(bool& had_data) {
  if (spec_->delivery == Delivery::kExactlyOnce) {
    // A checkpoint whose outputs could not all be appended: finish that first.
    if (applying_) SLUICE_CO_RETURN_IF_ERROR(co_await ApplyOutputs(true));
    // Batches staged from here on belong to the next checkpoint: their markers name it.
    ctx_.staging.SetMarkerPrefix(
        fmt::format("{}/{}/{}/", spec_->name, task_index_, next_checkpoint_id_));
  } else {
    // Outputs staged by a cycle whose append failed are still pending: flush them first.
    Status pending = co_await FlushOutputs();
    if (!pending.ok()) co_return pending;
  }
  ctx_.processing_time_ms = NowMs();
  ctx_.eval.now_ms = ctx_.processing_time_ms;
  ctx_.staging.set_now_ms(ctx_.processing_time_ms);
  codec::ValueJsonDecoder& decoder = decoder_;
  std::optional<bool> catching_up;
  for (auto& p : parts_) {
    // Events wait while a lookup table has not read what its topic held at task start (tables
    // come first in parts_, so this cycle's table reads count already).
    if (!p.table && !catching_up) {
      catching_up = std::any_of(parts_.begin(), parts_.end(),
                                [](const SourcePartition& t) { return t.CatchingUp(); });
    }
    if (!p.table && *catching_up) {
      had_data = true;  // no idle sleep: the table is still loading
      continue;
    }
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
    ExchangeInput* exchange = graph_->exchange_input(p.source);
    Status walk = r->ForEachRecord([&](const model::RecordView& rec) {
      p.next = rec.offset.value() + 1;
      if (exchange != nullptr) {
        ReadExchangeRecord(*exchange, p, rec);
        return;
      }
      std::string_view bytes = rec.value.value_or(std::string_view());
      // Tombstones carry no event, except to a lookup table, where they delete their key.
      if (!rec.value && !src.lookup_table) return;
      Row row;
      if (rec.value) {
        Result<Value> v;
        if (!bytes.empty() && bytes[0] == '\0') {
          // Confluent wire format: decoded with the schema its id names.
          int32_t id = 0;
          if (options_.payload_decoder) {
            v = options_.payload_decoder(bytes, ctx_.arena, &id);
            if (v.ok() && options_.lineage) ++lineage_counts_[{p.tp.topic, id}];
          } else {
            v = InvalidArgument("payload in the schema-registry wire format, but no registry runs");
          }
        } else {
          v = decoder.Decode(bytes, ctx_.arena);
        }
        if (!v.ok()) {
          side_->RawError(bytes, src.name, v.status().message());
          return;
        }
        row.value = *v;
      }
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
      } else if (event_time_[p.source] && !src.lookup_table) {
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
        // A double is range-checked before the conversion, which is undefined out of range.
        const bool in_range = t.is_double() ? std::isfinite(t.double_value()) &&
                                                  t.double_value() >= kMinEventTimeMs &&
                                                  t.double_value() <= kMaxEventTimeMs
                                            : EventTimeInRange(t.int_value());
        if (!in_range) {
          side_->RawError(bytes, src.name,
                          fmt::format("event_time '{}' is {}: outside the years 1 to 9999 ({} to "
                                      "{} ms)",
                                      src.event_time->text, codec::ValueToJson(t), kMinEventTimeMs,
                                      kMaxEventTimeMs));
          return;
        }
        row.timestamp = t.is_double() ? static_cast<int64_t>(t.double_value()) : t.int_value();
      } else {
        row.timestamp = rec.timestamp;
        if (!src.lookup_table && !EventTimeInRange(row.timestamp)) {
          side_->RawError(bytes, src.name,
                          fmt::format("record timestamp {} is outside the years 1 to 9999 ({} to "
                                      "{} ms)",
                                      row.timestamp, kMinEventTimeMs, kMaxEventTimeMs));
          return;
        }
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
      co_await DrainBlockingWork();
    } else if (r->next_offset.value() > p.next) {
      p.next = r->next_offset.value();
      positions_dirty_ = true;
    }
  }
  if (!lineage_counts_.empty()) {
    for (const auto& [key, n] : lineage_counts_) options_.lineage(key.first, key.second, spec_->name, n);
    lineage_counts_.clear();
  }
  // Watermarks: per source, the minimum over its partitions that are not idle.
  int64_t now = SteadyMs();
  source_active_.assign(spec_->sources.size(), false);
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
    if (ExchangeInput* x = graph_->exchange_input(s)) {
      // Event time across an exchange: what the sending tasks announced.
      std::optional<int64_t> xwm = x->CombinedWatermark();
      any_active = xwm.has_value();
      if (xwm) wm = *xwm;
    }
    if (any_active || src.processing_time) {
      graph_->source(s).DeliverWatermark(wm);
      source_active_[s] = true;
    }
  }
  // Each exchange output's watermark goes to every exchange partition, or that it is idle: all
  // the sources that feed it are.
  const auto& exchanges = graph_->exchange_outputs();
  for (size_t x = 0; x < exchanges.size(); ++x) {
    bool active = std::any_of(exchange_upstream_[x].begin(), exchange_upstream_[x].end(),
                              [this](size_t s) { return source_active_[s]; });
    exchanges[x]->Announce(!active);
  }
  if (spec_->delivery == Delivery::kExactlyOnce) {
    ctx_.arena.Reset();
    if (had_data) state_dirty_ = true;
    if (SteadyMs() - last_checkpoint_ms_ >= spec_->checkpoint_interval_ms ||
        ctx_.staging.bytes() >= kMaxStagedBytes) {
      SLUICE_CO_RETURN_IF_ERROR(co_await TakeCheckpoint());
    }
    co_return Status::Ok();
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

void PipelineTask::ReadExchangeRecord(ExchangeInput& exchange, SourcePartition& p,
                                      const model::RecordView& rec) {
  for (const auto& h : rec.headers) {
    if (h.key == kWatermarkHeader) {
      if (!exchange.OnWatermarkRecord(p.tp.partition.value(), h.value.value_or(""))) {
        Log().warn("pipeline {}: malformed watermark record at {} offset {}", spec_->name,
                   fmt::format("{}", p.tp), rec.offset.value());
      }
      return;
    }
  }
  if (!rec.value) return;
  const std::string& source = spec_->sources[p.source].name;
  std::string_view in = *rec.value;
  auto v = DecodeValue(in, ctx_.arena);
  if (!v.ok() || !in.empty()) {
    side_->RawError(*rec.value, source, "exchange record: value is not in the value encoding");
    return;
  }
  Row row;
  row.value = *v;
  if (rec.key) {
    std::string_view key = *rec.key;
    auto k = DecodeValue(key, ctx_.arena);
    if (!k.ok() || !key.empty()) {
      side_->RawError(*rec.value, source, "exchange record: key is not in the value encoding");
      return;
    }
    row.key = *k;
  }
  row.timestamp = rec.timestamp;
  p.max_event_time = std::max(p.max_event_time, row.timestamp);
  rows_.push_back(row);
}

Task<void> PipelineTask::DrainBlockingWork() {
  bool again = true;
  while (again) {
    again = false;
    // Work an operator finishes may unblock rows that make a downstream operator need work:
    // sweep until a pass finds none.
    for (const auto& op : graph_->operators()) {
      for (;;) {
        std::unique_ptr<BlockingWork> work = op->TakeBlockingWork();
        if (!work) break;
        again = true;
        if (options_.blocking == nullptr) {
          work->Run();
        } else {
          auto fn = [w = std::move(work)]() mutable {
            w->Run();
            return std::move(w);
          };
          work = co_await options_.blocking->Run(fn);
        }
        op->FinishBlockingWork(std::move(work));
      }
    }
  }
}

Task<Status> PipelineTask::FlushOutputs() {
  // Everything staged joins the queue of pending appends, in order; an append that fails stays
  // at the head and is retried by the next flush, so no staged output is ever dropped (and
  // positions are only committed once the queue is empty).
  for (StagedBatch& b : ctx_.staging.Take()) pending_.push_back(std::move(b));
  while (!pending_.empty()) {
    StagedBatch& head = pending_.front();
    model::TopicPartition tp(head.topic, model::PartitionId(head.partition));
    std::string bytes = head.bytes;  // a copy: the batch stays for a retry if this fails
    auto r = co_await log_.AppendEncoded(tp, std::move(bytes));
    if (!r.ok() && r.status().code() == ErrorCode::kNotFound && head.create_if_missing) {
      // The error and late topics are created on first use.
      storage::TopicConfig config;
      std::string topic = head.topic;
      Status c = co_await log_.CreateTopic(std::move(topic), config);
      if (!c.ok() && c.code() != ErrorCode::kAlreadyExists) co_return c;
      std::string again = head.bytes;
      r = co_await log_.AppendEncoded(tp, std::move(again));
    }
    if (!r.ok()) co_return r.status();
    pending_.pop_front();
  }
  co_return Status::Ok();
}

Task<Status> PipelineTask::CommitPositions() {
  std::vector<storage::GroupOffset> offsets;
  for (const auto& p : parts_) {
    // Tables are read whole by every task; their positions are not the group's.
    if (p.table) continue;
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

Task<Status> PipelineTask::TakeCheckpoint() {
  if (applying_) SLUICE_CO_RETURN_IF_ERROR(co_await ApplyOutputs(true));
  last_checkpoint_ms_ = SteadyMs();
  if (!state_dirty_ && ctx_.staging.empty()) co_return Status::Ok();
  const auto started = std::chrono::steady_clock::now();
  Checkpoint c;
  c.id = next_checkpoint_id_;
  c.version = version_;
  c.created_ms = NowMs();
  for (const auto& p : parts_) {
    c.positions.push_back({p.tp.topic, p.tp.partition.value(), p.next, p.max_event_time});
  }
  c.state = graph_->SaveState();
  // The outputs since the last checkpoint, as staged batches (their markers name checkpoint
  // c.id: RunCycle set the prefix). Every topic is described before anything is moved, so an
  // error puts them all back.
  std::vector<StagedBatch> batches = ctx_.staging.Take();
  std::map<std::string, storage::TopicDescription> described;
  for (const StagedBatch& b : batches) {
    if (described.contains(b.topic)) continue;
    std::string name = b.topic;
    auto desc = co_await log_.DescribeTopic(name);
    if (!desc.ok() && desc.status().code() == ErrorCode::kNotFound && b.create_if_missing) {
      // The error and late topics are created on first use.
      storage::TopicConfig config;
      std::string create = b.topic;
      Status st = co_await log_.CreateTopic(std::move(create), config);
      if (!st.ok() && st.code() != ErrorCode::kAlreadyExists) {
        ctx_.staging.Restore(std::move(batches));
        co_return st;
      }
      std::string again = b.topic;
      desc = co_await log_.DescribeTopic(again);
    }
    if (!desc.ok()) {
      ctx_.staging.Restore(std::move(batches));
      co_return desc.status();
    }
    if (b.partition >= static_cast<int32_t>(desc->partitions.size())) {
      Status st = FailedPrecondition("output topic {} has no partition {}", b.topic, b.partition);
      ctx_.staging.Restore(std::move(batches));
      co_return st;
    }
    described.emplace(b.topic, std::move(*desc));
  }
  for (StagedBatch& b : batches) {
    CheckpointOutput o;
    o.topic = std::move(b.topic);
    o.partition = b.partition;
    o.scan_from = described[o.topic].partitions[static_cast<size_t>(b.partition)]
                      .high_watermark.value();
    o.create_if_missing = b.create_if_missing;
    o.marker = std::move(b.marker);
    o.batch = std::move(b.bytes);
    c.outputs.push_back(std::move(o));
  }
  batches.clear();
  std::string bytes = EncodeCheckpoint(c);
  // A large checkpoint goes in parts, a few per append, its head last (checkpoint.h).
  std::vector<model::ProduceRecord> records = CheckpointRecords(CheckpointKey(spec_->name, task_index_), c.id, bytes);
  Result<storage::AppendResult> r = storage::AppendResult{};
  size_t at = 0;
  while (at < records.size() && r.ok()) {
    size_t n = records.size() == 1 ? 1 : std::min<size_t>(8, records.size() - 1 - at);
    if (at == records.size() - 1) n = 1;  // the head, alone, once every part is in
    std::vector<model::ProduceRecord> batch(std::make_move_iterator(records.begin() + at),
                                            std::make_move_iterator(records.begin() + at + n));
    at += n;
    r = co_await log_.Append(model::TopicPartition(kCheckpointsTopic, model::PartitionId(0)),
                             std::move(batch));
  }
  if (!r.ok()) {
    if (probe_) probe_->checkpoint_failures.Inc();
    // Not committed: keep the outputs staged for the next attempt (with newer state then, and
    // the same checkpoint id, so their markers still fit).
    std::vector<StagedBatch> back;
    for (auto& o : c.outputs) {
      StagedBatch b;
      b.topic = std::move(o.topic);
      b.partition = o.partition;
      b.create_if_missing = o.create_if_missing;
      b.marker = std::move(o.marker);
      b.bytes = std::move(o.batch);
      back.push_back(std::move(b));
    }
    ctx_.staging.Restore(std::move(back));
    co_return r.status();
  }
  ++next_checkpoint_id_;
  state_dirty_ = false;
  {
    std::lock_guard lock(status_mu_);
    last_checkpoint_ = std::move(bytes);
  }
  size_t checkpoint_size = last_checkpoint_.size();
  applying_ = std::move(c);
  SLUICE_CO_RETURN_IF_ERROR(co_await ApplyOutputs(false));
  if (probe_) {
    int64_t now = SteadyMs();
    probe_->checkpoints.Inc();
    probe_->checkpoint_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    probe_->checkpoint_bytes.Set(static_cast<double>(checkpoint_size));
    if (last_checkpoint_written_ms_ != 0) {
      probe_->checkpoint_interval_seconds.Set(static_cast<double>(now - last_checkpoint_written_ms_) / 1000);
    }
    last_checkpoint_written_ms_ = now;
  }
  // Progress for lag tools; the checkpoint is what the task resumes from.
  positions_dirty_ = true;
  (void)co_await CommitPositions();
  co_return Status::Ok();
}

Task<Status> PipelineTask::ApplyOutputs(bool verify) {
  if (!applying_) co_return Status::Ok();
  auto& outputs = applying_->outputs;
  while (!outputs.empty()) {
    CheckpointOutput& o = outputs.front();
    const std::string marker = o.marker;
    model::TopicPartition tp(o.topic, model::PartitionId(o.partition));
    bool present = false;
    if (verify) {
      // Did this batch reach its topic before the interruption? Look for its marker.
      int64_t offset = o.scan_from;
      for (;;) {
        storage::ReadOptions opts;
        opts.max_records = 1000;
        auto read = co_await log_.Read(tp, model::Offset(offset), opts);
        if (!read.ok()) {
          if (read.status().code() == ErrorCode::kNotFound) break;  // topic not created yet
          co_return read.status();
        }
        Status walk = read->ForEachRecord([&](const model::RecordView& rec) {
          for (const auto& h : rec.headers) {
            if (h.key == kCheckpointHeader && h.value && *h.value == marker && !marker.empty()) {
              present = true;
            }
          }
        });
        if (!walk.ok()) co_return walk;
        if (present || read->next_offset.value() <= offset ||
            read->next_offset >= read->high_watermark) {
          break;
        }
        offset = read->next_offset.value();
      }
    }
    if (!present) {
      if (o.create_if_missing) {
        // The error and late topics are created on first use (they are rare batches).
        storage::TopicConfig config;
        std::string topic = o.topic;
        Status st = co_await log_.CreateTopic(std::move(topic), config);
        if (!st.ok() && st.code() != ErrorCode::kAlreadyExists) co_return st;
      }
      // The batch moves into the append (no copy); if it fails, it is taken again from the
      // checkpoint record, which holds every batch.
      auto r = co_await log_.AppendEncoded(tp, std::move(o.batch));
      if (!r.ok()) {
        auto saved = DecodeCheckpoint(LastCheckpoint());
        bool restored = false;
        if (saved.ok()) {
          for (auto& so : saved->outputs) {
            if (so.marker == marker && !marker.empty()) {
              o.batch = std::move(so.batch);
              restored = true;
              break;
            }
          }
        }
        if (!restored) {
          co_return DataLoss("pipeline {} task {}: output batch {} lost after a failed append",
                             spec_->name, task_index_, marker);
        }
        co_return r.status();
      }
    }
    outputs.erase(outputs.begin());
  }
  applying_.reset();
  co_return Status::Ok();
}

Task<Status> PipelineTask::RestoreCheckpoint() {
  auto c = DecodeCheckpoint(*resume_from_);
  if (!c.ok()) co_return DataLoss("pipeline {} task {}: checkpoint unreadable: {}", spec_->name, task_index_, c.status().message());
  for (const auto& pos : c->positions) {
    for (auto& p : parts_) {
      if (p.tp.topic == pos.topic && p.tp.partition.value() == pos.partition) {
        p.next = pos.next_offset;
        p.committed = pos.next_offset;
        p.max_event_time = pos.max_event_time;
      }
    }
  }
  if (c->version == version_) {
    SLUICE_CO_RETURN_IF_ERROR(graph_->LoadState(c->state));
  } else {
    // A replaced pipeline keeps the state of operators that still fit; others start empty.
    Status st = graph_->LoadState(c->state);
    if (!st.ok()) {
      Log().warn("pipeline {} v{} task {}: state of v{} does not fit ({}); operators start empty",
                 spec_->name, version_, task_index_, c->version, st.message());
      auto fresh = TaskGraph::Build(*spec_, ctx_, graph_options_);
      if (!fresh.ok()) co_return fresh.status();
      graph_ = std::move(*fresh);
    }
    // Lookup tables are read again from the start: a new enrich operator (or one whose state
    // did not fit) starts empty. Replaying a table over a restored one ends in the same rows.
    for (auto& p : parts_) {
      if (p.table) p.next = p.log_start;
    }
  }
  next_checkpoint_id_ = c->id + 1;
  applying_ = std::move(*c);
  // Outputs of the last checkpoint may not all have reached their topics before the stop.
  co_return co_await ApplyOutputs(true);
}

}  // namespace sluice::stream
