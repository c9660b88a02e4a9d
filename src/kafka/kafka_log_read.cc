// KafkaLog reads (a pool of assign()-ed consumers, one per in-flight read), timestamp lookup,
// and consumer-group offsets (a standalone client per group: commit and fetch, never join).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kafka/internal/kafka_log_state.h"
#include "kafka/kafka_log.h"

namespace sluice::kafka {

using internal::ErrorStatus;

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int RemainingMs(Clock::time_point deadline) {
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Accumulates consumed messages into RecordBatch v2 batches, one batch per run of
// consecutive offsets (Kafka offsets may have gaps: compaction, transaction markers).
class BatchAccumulator {
 public:
  void Add(const rd_kafka_message_t* m) {
    if (builder_ && m->offset != last_ + 1) Flush();
    if (!builder_) {
      builder_.emplace(NowMs());
      base_ = m->offset;
    }
    headers_.clear();
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
      const char* name = nullptr;
      const void* val = nullptr;
      size_t size = 0;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        model::Header h;
        h.key = name;
        if (val != nullptr) h.value = std::string(static_cast<const char*>(val), size);
        headers_.push_back(std::move(h));
      }
    }
    std::optional<std::string_view> key;
    if (m->key != nullptr) key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    std::optional<std::string_view> value;
    if (m->payload != nullptr) {
      value = std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    builder_->Add(key, value, headers_, ts < 0 ? model::kNoTimestamp : ts);
    last_ = m->offset;
    ++count_;
    bytes_ += m->len + m->key_len;
  }

  std::vector<storage::OwnedBatch> Finish() {
    Flush();
    return std::move(batches_);
  }
  int32_t count() const { return count_; }
  int64_t bytes() const { return bytes_; }
  int64_t last() const { return last_; }

 private:
  void Flush() {
    if (!builder_) return;
    std::string bytes = builder_->Finish();
    model::SetBaseOffset(bytes, model::Offset(base_));
    batches_.push_back(storage::OwnedBatch(std::move(bytes)));
    builder_.reset();
  }
  std::optional<model::RecordBatchBuilder> builder_;
  std::vector<model::Header> headers_;
  std::vector<storage::OwnedBatch> batches_;
  int64_t base_ = -1;
  int64_t last_ = -1;
  int32_t count_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Read consumers

Result<std::unique_ptr<ReadConsumer>> KafkaLog::State::AcquireConsumer(
    const model::TopicPartition& tp, int64_t offset) {
  {
    std::lock_guard lock(pool_mu);
    // Prefer a consumer already positioned where this read starts, then an unassigned one.
    for (auto it = idle.begin(); it != idle.end(); ++it) {
      if ((*it)->assigned == tp && (*it)->position == offset) {
        auto c = std::move(*it);
        idle.erase(it);
        return c;
      }
    }
    if (!idle.empty()) {
      auto c = std::move(idle.front());
      idle.erase(idle.begin());
      return c;
    }
  }
  auto kv = BaseProperties();
  // assign() needs a group-enabled handle; this group never joins nor commits.
  kv["group.id"] = "sluice.kafka-log.reader";
  kv["enable.auto.commit"] = "false";
  kv["enable.auto.offset.store"] = "false";
  kv["enable.partition.eof"] = "true";
  kv["auto.offset.reset"] = "error";
  kv["fetch.wait.max.ms"] = std::to_string(options.fetch_wait_max_ms);
  kv["fetch.error.backoff.ms"] = "20";
  kv["queued.max.messages.kbytes"] = "8192";
  for (const auto& [k, v] : options.properties) kv[k] = v;
  SLUICE_ASSIGN_OR_RETURN(internal::Conf conf, internal::MakeConf(kv));
  auto c = std::make_unique<ReadConsumer>();
  SLUICE_ASSIGN_OR_RETURN(c->rk, internal::NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
  return c;
}

void KafkaLog::State::ReleaseConsumer(std::unique_ptr<ReadConsumer> c) {
  std::unique_ptr<ReadConsumer> evicted;
  {
    std::lock_guard lock(pool_mu);
    if (!stopping.load()) {
      idle.push_back(std::move(c));
      if (static_cast<int>(idle.size()) > options.max_idle_consumers) {
        evicted = std::move(idle.front());
        idle.erase(idle.begin());
      }
    } else {
      evicted = std::move(c);
    }
  }
  // `evicted` closes as it is destroyed, outside the lock.
}

Result<storage::ReadResult> KafkaLog::State::ReadBlocking(const model::TopicPartition& tp,
                                                          model::Offset offset,
                                                          const storage::ReadOptions& opts) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ReadConsumer> c, AcquireConsumer(tp, offset.value()));
  rd_kafka_t* rk = c->rk.get();
  const std::string what = fmt::format("read {} at {}", tp, offset.value());

  int64_t lo = 0, hi = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, tp.topic.c_str(), tp.partition.value(), &lo, &hi, options.request_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ReleaseConsumer(std::move(c));
    return ErrorStatus(err, what);
  }
  storage::ReadResult out;
  out.requested = offset;
  out.next_offset = offset;
  out.log_start_offset = model::Offset(lo);
  out.high_watermark = model::Offset(hi);
  out.max_records = opts.max_records;
  if (offset.value() < lo || offset.value() > hi) {
    ReleaseConsumer(std::move(c));
    return OutOfRange("{}: offset outside [{}, {}] (log start, high watermark)", what, lo, hi);
  }
  if (offset.value() == hi && opts.wait_ms <= 0) {
    ReleaseConsumer(std::move(c));
    return out;
  }

  if (!(c->assigned == tp && c->position == offset.value())) {
    internal::PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())
        ->offset = offset.value();
    err = rd_kafka_assign(rk, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      c->assigned.reset();
      ReleaseConsumer(std::move(c));
      return ErrorStatus(err, what);
    }
    c->assigned = tp;
    c->position = offset.value();
  }

  const bool data_expected = offset.value() < hi;
  const auto start = Clock::now();
  // Data known to exist should arrive within one request; otherwise wait as asked.
  auto deadline = start + std::chrono::milliseconds(
                              data_expected ? std::max(opts.wait_ms, options.request_timeout_ms)
                                            : opts.wait_ms);
  BatchAccumulator acc;
  int64_t next = offset.value();
  Status failure;
  const int64_t max_bytes = std::max<int64_t>(opts.max_bytes, 1);
  while (!stopping.load()) {
    int slice = std::min(RemainingMs(deadline), 100);
    if (slice <= 0) break;
    internal::Message m(rd_kafka_consumer_poll(rk, slice));
    if (!m) continue;
    if (m->rkt != nullptr &&
        (tp.topic != rd_kafka_topic_name(m->rkt) || m->partition != tp.partition.value())) {
      continue;  // left over from an earlier assignment
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // Everything before m->offset has been delivered (the queue is ordered).
      next = std::max(next, m->offset);
      if (acc.count() > 0) break;
      if (next >= hi && Clock::now() >= start + std::chrono::milliseconds(opts.wait_ms)) break;
      if (next >= hi) {
        deadline = start + std::chrono::milliseconds(opts.wait_ms);
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = ErrorStatus(m->err, what, rd_kafka_message_errstr(m.get()));
      break;
    }
    if (m->offset < next) continue;  // already returned by an earlier read
    acc.Add(m.get());
    next = m->offset + 1;
    if (acc.count() >= opts.max_records || acc.bytes() >= max_bytes) break;
    // Got data: return what is queued soon rather than waiting for the next fetch.
    deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(
                                                     options.fetch_wait_max_ms));
  }
  if (!failure.ok()) {
    c->assigned.reset();
    ReleaseConsumer(std::move(c));
    return failure;
  }
  c->position = next;
  int64_t lo2 = -1, hi2 = -1;
  if (rd_kafka_get_watermark_offsets(rk, tp.topic.c_str(), tp.partition.value(), &lo2, &hi2) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      hi2 > hi) {
    hi = hi2;
  }
  ReleaseConsumer(std::move(c));
  out.batches = acc.Finish();
  out.next_offset = model::Offset(next);
  out.high_watermark = model::Offset(std::max(hi, next));
  return out;
}

Task<Result<storage::ReadResult>> KafkaLog::Read(model::TopicPartition tp, model::Offset offset,
                                                 storage::ReadOptions options) {
  if (options.max_records < 1) {
    co_return InvalidArgument("read {}: max_records must be >= 1", tp);
  }
  if (offset.value() < 0) co_return OutOfRange("read {}: negative offset {}", tp, offset);
  SLUICE_CO_RETURN_IF_ERROR(co_await st_->CheckPartition(tp));
  State* st = st_.get();
  auto work = [st, tp, offset, options] { return st->ReadBlocking(tp, offset, options); };
  co_return co_await st->RunIo(std::move(work));
}

Task<Result<model::Offset>> KafkaLog::OffsetForTimestamp(model::TopicPartition tp,
                                                         model::TimestampMs ts) {
  SLUICE_CO_RETURN_IF_ERROR(co_await st_->CheckPartition(tp));
  State* st = st_.get();
  auto work = [st, tp, ts]() -> Result<model::Offset> {
    const std::string what = fmt::format("offset for timestamp {} in {}", ts, tp);
    internal::PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value())
        ->offset = std::max<int64_t>(ts, 0);
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(st->producer.get(), list.get(), st->options.request_timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, what);
    if (list->elems[0].offset >= 0) return model::Offset(list->elems[0].offset);
    // No record at or after ts: the high watermark.
    int64_t lo = 0, hi = 0;
    err = rd_kafka_query_watermark_offsets(st->producer.get(), tp.topic.c_str(),
                                           tp.partition.value(), &lo, &hi,
                                           st->options.request_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, what);
    return model::Offset(hi);
  };
  co_return co_await st->RunIo(std::move(work));
}

// ---------------------------------------------------------------------------------------------
// Consumer-group offsets

Result<std::shared_ptr<GroupClient>> KafkaLog::State::Group(const std::string& group) {
  std::shared_ptr<GroupClient> evicted;
  {
    std::lock_guard lock(group_mu);
    auto it = groups.find(group);
    if (it != groups.end()) {
      it->second->last_use = ++group_clock;
      return it->second;
    }
  }
  auto kv = BaseProperties();
  kv["group.id"] = group;
  kv["enable.auto.commit"] = "false";
  kv["enable.auto.offset.store"] = "false";
  for (const auto& [k, v] : options.properties) kv[k] = v;
  SLUICE_ASSIGN_OR_RETURN(internal::Conf conf, internal::MakeConf(kv));
  auto g = std::make_shared<GroupClient>();
  SLUICE_ASSIGN_OR_RETURN(g->rk, internal::NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
  std::shared_ptr<GroupClient> out;
  {
    std::lock_guard lock(group_mu);
    auto [it, inserted] = groups.emplace(group, g);
    it->second->last_use = ++group_clock;
    out = it->second;
    if (!inserted) evicted = g;  // another thread won the race
    if (static_cast<int>(groups.size()) > options.max_group_clients) {
      auto lru = groups.begin();
      for (auto i = groups.begin(); i != groups.end(); ++i) {
        if (i->second->last_use < lru->second->last_use) lru = i;
      }
      if (lru->second != out) {
        evicted = std::move(lru->second);
        groups.erase(lru);
      }
    }
  }
  // `evicted` is destroyed (closing its client) outside the lock, or later by whichever
  // in-flight call still holds it.
  return out;
}

Task<Status> KafkaLog::CommitOffsets(std::string group,
                                     std::vector<storage::GroupOffset> offsets) {
  if (group.empty()) co_return InvalidArgument("commit offsets: group is empty");
  if (offsets.empty()) co_return Status::Ok();
  for (const auto& o : offsets) {
    if (o.offset.value() < 0) {
      co_return InvalidArgument("commit offsets of group '{}': negative offset {} for {}", group,
                                o.offset, o.tp);
    }
    SLUICE_CO_RETURN_IF_ERROR(co_await st_->CheckPartition(o.tp));
  }
  State* st = st_.get();
  auto work = [st, group, offsets = std::move(offsets)]() -> Status {
    const std::string what = fmt::format("commit offsets of group '{}'", group);
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<GroupClient> g, st->Group(group));
    internal::PartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& o : offsets) {
      rd_kafka_topic_partition_t* p =
          rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.c_str(), o.tp.partition.value());
      p->offset = o.offset.value();
      if (!o.metadata.empty()) {
        // Freed by librdkafka with free().
        p->metadata = std::malloc(o.metadata.size());
        std::memcpy(p->metadata, o.metadata.data(), o.metadata.size());
        p->metadata_size = o.metadata.size();
      }
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(g->rk.get(), list.get(), /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, what);
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return ErrorStatus(list->elems[i].err,
                           fmt::format("{} on {}/{}", what, list->elems[i].topic,
                                       list->elems[i].partition));
      }
    }
    return Status::Ok();
  };
  co_return co_await st->RunIo(std::move(work));
}

namespace {

void CollectCommitted(const rd_kafka_topic_partition_list_t* list,
                      std::vector<storage::GroupOffset>& out) {
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR || e.offset < 0) continue;  // never committed
    storage::GroupOffset o;
    o.tp = model::TopicPartition{e.topic, model::PartitionId(e.partition)};
    o.offset = model::Offset(e.offset);
    if (e.metadata != nullptr) {
      o.metadata.assign(static_cast<const char*>(e.metadata), e.metadata_size);
    }
    out.push_back(std::move(o));
  }
}

}  // namespace

Task<Result<std::vector<storage::GroupOffset>>> KafkaLog::FetchOffsets(
    std::string group, std::vector<model::TopicPartition> partitions) {
  if (group.empty()) co_return InvalidArgument("fetch offsets: group is empty");
  State* st = st_.get();
  if (partitions.empty()) {
    // Every partition the group committed: the admin ListConsumerGroupOffsets call (OffsetFetch
    // with a null topic list). Brokers that do not implement that form return nothing.
    auto work = [st, group]() -> Result<std::vector<storage::GroupOffset>> {
      const std::string what = fmt::format("fetch offsets of group '{}'", group);
      internal::Queue q(rd_kafka_queue_new(st->producer.get()));
      internal::AdminOptions opts = internal::MakeAdminOptions(
          st->producer.get(), RD_KAFKA_ADMIN_OP_ANY, st->options.request_timeout_ms);
      rd_kafka_ListConsumerGroupOffsets_t* req =
          rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
      rd_kafka_ListConsumerGroupOffsets(st->producer.get(), &req, 1, opts.get(), q.get());
      rd_kafka_ListConsumerGroupOffsets_destroy(req);
      SLUICE_ASSIGN_OR_RETURN(
          internal::Event ev,
          st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, what));
      size_t n = 0;
      const rd_kafka_group_result_t** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
          rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
      std::vector<storage::GroupOffset> out;
      for (size_t i = 0; i < n; ++i) {
        if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[i])) {
          return ErrorStatus(rd_kafka_error_code(e), what, rd_kafka_error_string(e));
        }
        if (const auto* parts = rd_kafka_group_result_partitions(groups[i])) {
          CollectCommitted(parts, out);
        }
      }
      return out;
    };
    co_return co_await st->RunIo(std::move(work));
  }
  for (const auto& tp : partitions) SLUICE_CO_RETURN_IF_ERROR(co_await st->CheckPartition(tp));
  auto work = [st, group, partitions = std::move(partitions)]() -> Result<std::vector<storage::GroupOffset>> {
        const std::string what = fmt::format("fetch offsets of group '{}'", group);
        SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<GroupClient> g, st->Group(group));
        internal::PartitionList list(
            rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
        for (const auto& tp : partitions) {
          rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value());
        }
        rd_kafka_resp_err_t err =
            rd_kafka_committed(g->rk.get(), list.get(), st->options.request_timeout_ms);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, what);
        std::vector<storage::GroupOffset> out;
        CollectCommitted(list.get(), out);
        return out;
      };
  co_return co_await st->RunIo(std::move(work));
}

Task<Result<std::vector<std::string>>> KafkaLog::ListGroups() {
  State* st = st_.get();
  auto work = [st]() -> Result<std::vector<std::string>> {
    const std::string what = "list consumer groups";
    internal::Queue q(rd_kafka_queue_new(st->producer.get()));
    internal::AdminOptions opts = internal::MakeAdminOptions(
        st->producer.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, st->options.request_timeout_ms);
    rd_kafka_ListConsumerGroups(st->producer.get(), opts.get(), q.get());
    SLUICE_ASSIGN_OR_RETURN(
        internal::Event ev,
        st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, what));
    const rd_kafka_ListConsumerGroups_result_t* result =
        rd_kafka_event_ListConsumerGroups_result(ev.get());
    size_t n_errors = 0;
    const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &n_errors);
    if (n_errors > 0) {
      // A broker that could not answer: a partial list would silently hide its groups.
      return ErrorStatus(rd_kafka_error_code(errors[0]), what, rd_kafka_error_string(errors[0]));
    }
    size_t n = 0;
    const rd_kafka_ConsumerGroupListing_t** groups =
        rd_kafka_ListConsumerGroups_result_valid(result, &n);
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      out.emplace_back(rd_kafka_ConsumerGroupListing_group_id(groups[i]));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  co_return co_await st->RunIo(std::move(work));
}

Task<Status> KafkaLog::DeleteGroup(std::string group) {
  if (group.empty()) co_return InvalidArgument("delete group: group is empty");
  State* st = st_.get();
  auto work = [st, group]() -> Status {
    const std::string what = fmt::format("delete group '{}'", group);
    internal::Queue q(rd_kafka_queue_new(st->producer.get()));
    internal::AdminOptions opts = internal::MakeAdminOptions(
        st->producer.get(), RD_KAFKA_ADMIN_OP_DELETEGROUPS, st->options.request_timeout_ms);
    rd_kafka_DeleteGroup_t* del = rd_kafka_DeleteGroup_new(group.c_str());
    rd_kafka_DeleteGroups(st->producer.get(), &del, 1, opts.get(), q.get());
    rd_kafka_DeleteGroup_destroy(del);
    SLUICE_ASSIGN_OR_RETURN(internal::Event ev,
                            st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_DELETEGROUPS_RESULT, what));
    size_t n = 0;
    const rd_kafka_group_result_t** groups =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[i])) {
        const rd_kafka_resp_err_t code = rd_kafka_error_code(e);
        if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP) {
          return FailedPrecondition("{}: it still has members; stop its consumers first", what);
        }
        if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
          return NotFound("{}: no such group", what);
        }
        return ErrorStatus(code, what, rd_kafka_error_string(e));
      }
    }
    return Status::Ok();
  };
  co_return co_await st->RunIo(std::move(work));
}

}  // namespace sluice::kafka
