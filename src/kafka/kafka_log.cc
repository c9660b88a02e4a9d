// KafkaLog lifecycle, the producer and its delivery reports, the topic metadata cache, and
// Append. Reads and group offsets: kafka_log_read.cc; topic admin: kafka_log_admin.cc.
#include "kafka/kafka_log.h"

#include "kafka/internal/kafka_log_state.h"

namespace sluice::kafka {

using internal::ErrorStatus;

namespace {

// Delivery-report callback, on the producer's poll thread: records the outcome of one message
// and wakes the Append when it was the last one.
void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* /*opaque*/) {
  auto* slot = static_cast<AppendState::Slot*>(msg->_private);
  if (slot == nullptr) return;
  slot->err = msg->err;
  slot->offset = msg->offset;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* detail = rd_kafka_message_errstr(msg);
    if (detail != nullptr) slot->errstr = detail;
  }
  slot->timestamp = rd_kafka_message_timestamp(msg, &slot->ts_type);
  slot->owner->Settle(1);
}

}  // namespace

std::map<std::string, std::string> KafkaLog::State::BaseProperties() const {
  std::map<std::string, std::string> kv;
  if (!options.bootstrap_servers.empty()) kv["bootstrap.servers"] = options.bootstrap_servers;
  // Topics are created explicitly (CreateTopic or out of band), never by a metadata request.
  kv["allow.auto.create.topics"] = "false";
  kv["log.connection.close"] = "false";
  return kv;
}

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(KafkaLogOptions options,
                                                 runtime::Shards& shards) {
  if (options.bootstrap_servers.empty() && !options.properties.contains("bootstrap.servers") &&
      !options.properties.contains("test.mock.num.brokers")) {
    return InvalidArgument("kafka log: bootstrap_servers is empty");
  }
  if (options.io_threads < 1 || options.max_pending_io < 1 || options.request_timeout_ms < 1 ||
      options.max_idle_consumers < 0 || options.max_group_clients < 1 ||
      options.fetch_wait_max_ms < 1) {
    return InvalidArgument(
        "kafka log: io_threads, max_pending_io, request_timeout_ms, max_group_clients and "
        "fetch_wait_max_ms must be >= 1, max_idle_consumers >= 0");
  }
  if (options.group_session_timeout_ms < 1 || options.group_heartbeat_interval_ms < 1 ||
      options.group_heartbeat_interval_ms >= options.group_session_timeout_ms) {
    return InvalidArgument(
        "kafka log: group_heartbeat_interval_ms must be >= 1 and below "
        "group_session_timeout_ms");
  }
  auto st = std::make_unique<State>(std::move(options), shards);

  auto kv = st->BaseProperties();
  kv["enable.idempotence"] = "true";
  kv["acks"] = "all";
  kv["linger.ms"] = "2";
  for (const auto& [k, v] : st->options.properties) kv[k] = v;
  SLUICE_ASSIGN_OR_RETURN(internal::Conf conf, internal::MakeConf(kv));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
  SLUICE_ASSIGN_OR_RETURN(st->producer, internal::NewHandle(RD_KAFKA_PRODUCER, std::move(conf)));

  st->io = std::make_unique<asio::thread_pool>(static_cast<size_t>(st->options.io_threads));
  State* raw = st.get();
  st->poll_thread = std::thread([raw] {
    while (!raw->stop_poll.load()) rd_kafka_poll(raw->producer.get(), 100);
  });
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(st)));
}

KafkaLog::KafkaLog(std::unique_ptr<State> state) : st_(std::move(state)) {}

KafkaLog::~KafkaLog() { Stop(); }

void KafkaLog::Stop() {
  if (st_->stopped) return;
  st_->stopped = true;
  st_->stopping.store(true);
  // Let in-flight appends finish, then fail whatever is left so every Append resolves.
  rd_kafka_flush(st_->producer.get(), st_->options.stop_flush_timeout_ms);
  rd_kafka_purge(st_->producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(st_->producer.get(), 1000);
  st_->stop_poll.store(true);
  if (st_->poll_thread.joinable()) st_->poll_thread.join();
  // Reads notice `stopping` within one poll slice; the io threads then drain.
  st_->io->join();
  // Destroying a consumer handle closes it (leaves no group: none was joined).
  {
    std::lock_guard lock(st_->pool_mu);
    st_->idle.clear();
  }
  {
    std::lock_guard lock(st_->group_mu);
    st_->groups.clear();
  }
  st_->producer.reset();
}

// ---------------------------------------------------------------------------------------------
// Metadata

Result<internal::Metadata> KafkaLog::State::AllMetadata() {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(producer.get(), /*all_topics=*/1, nullptr, &md, options.request_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "kafka metadata");
  return internal::Metadata(md);
}

Status KafkaLog::State::RefreshTopics() {
  SLUICE_ASSIGN_OR_RETURN(internal::Metadata md, AllMetadata());
  std::map<std::string, int32_t> fresh;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    fresh[t.topic] = t.partition_cnt;
  }
  std::lock_guard lock(md_mu);
  topics = std::move(fresh);
  topics_time = std::chrono::steady_clock::now();
  topics_valid = true;
  return Status::Ok();
}

void KafkaLog::State::ForgetTopic(const std::string& topic) {
  std::lock_guard lock(md_mu);
  topics.erase(topic);
}

Task<Result<int32_t>> KafkaLog::State::PartitionCount(const std::string& topic) {
  auto lookup = [&](bool allow_stale) -> std::optional<int32_t> {
    std::lock_guard lock(md_mu);
    if (!topics_valid) return std::nullopt;
    if (!allow_stale && std::chrono::steady_clock::now() - topics_time >
                            std::chrono::milliseconds(options.metadata_max_age_ms)) {
      return std::nullopt;
    }
    auto it = topics.find(topic);
    if (it == topics.end()) return std::nullopt;
    return it->second;
  };
  if (auto n = lookup(false)) co_return *n;
  Status st = co_await RunIo([this] { return RefreshTopics(); });
  SLUICE_CO_RETURN_IF_ERROR(st);
  if (auto n = lookup(true)) co_return *n;
  co_return NotFound("topic '{}' does not exist", topic);
}

Task<Status> KafkaLog::State::CheckPartition(const model::TopicPartition& tp) {
  if (stopping.load()) co_return Unavailable("kafka log is stopping");
  auto n = co_await PartitionCount(tp.topic);
  if (!n.ok()) co_return n.status();
  if (tp.partition.value() < 0 || tp.partition.value() >= *n) {
    // The topic may have grown since the cache was filled.
    Status st = co_await RunIo([this] { return RefreshTopics(); });
    SLUICE_CO_RETURN_IF_ERROR(st);
    n = co_await PartitionCount(tp.topic);
    if (!n.ok()) co_return n.status();
    if (tp.partition.value() < 0 || tp.partition.value() >= *n) {
      co_return NotFound("topic '{}' has no partition {} ({} partitions)", tp.topic,
                         tp.partition.value(), *n);
    }
  }
  co_return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Append

Task<Result<storage::AppendResult>> KafkaLog::Append(model::TopicPartition tp,
                                                     std::vector<model::ProduceRecord> records) {
  if (records.empty()) co_return InvalidArgument("append to {}: no records", tp);
  SLUICE_CO_RETURN_IF_ERROR(co_await st_->CheckPartition(tp));

  auto state = std::make_shared<AppendState>(records.size());
  state->self = state;
  Status produce_error;
  for (size_t i = 0; i < records.size(); ++i) {
    const model::ProduceRecord& r = records[i];
    rd_kafka_headers_t* hdrs = nullptr;
    if (!r.headers.empty()) {
      hdrs = rd_kafka_headers_new(r.headers.size());
      for (const auto& h : r.headers) {
        rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()),
                            h.value ? h.value->data() : nullptr,
                            h.value ? static_cast<ssize_t>(h.value->size()) : 0);
      }
    }
    // librdkafka's V_ macros cast their arguments unparenthesised: pass plain variables.
    const void* key = r.key ? r.key->data() : nullptr;
    const size_t key_len = r.key ? r.key->size() : 0;
    void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
    const size_t value_len = r.value ? r.value->size() : 0;
    const int64_t ts = r.timestamp == model::kNoTimestamp ? 0 : r.timestamp;
    AppendState::Slot* slot = &state->slots[i];
    rd_kafka_resp_err_t err = rd_kafka_producev(
        st_->producer.get(), RD_KAFKA_V_TOPIC(tp.topic.c_str()),
        RD_KAFKA_V_PARTITION(tp.partition.value()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(slot),
        RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
      produce_error = ErrorStatus(err, fmt::format("append to {}: record {}", tp, i));
      if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
        st_->ForgetTopic(tp.topic);
      }
      state->Settle(records.size() - i);
      break;
    }
  }
  co_await state->done.Wait();
  if (!produce_error.ok()) {
    // Records before the failing one may have been written: Kafka has no multi-record
    // atomicity outside transactions (README).
    co_return produce_error;
  }

  storage::AppendResult out;
  out.record_count = static_cast<int32_t>(records.size());
  for (size_t i = 0; i < state->slots.size(); ++i) {
    const auto& s = state->slots[i];
    if (s.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (s.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          s.err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          s.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
        st_->ForgetTopic(tp.topic);
      }
      co_return ErrorStatus(s.err, fmt::format("append to {}: record {}", tp, i), s.errstr);
    }
  }
  const int64_t base = state->slots[0].offset;
  for (size_t i = 0; i < state->slots.size(); ++i) {
    if (state->slots[i].offset != base + static_cast<int64_t>(i)) {
      co_return Internal("append to {}: record {} got offset {}, expected {} (not contiguous)",
                         tp, i, state->slots[i].offset, base + static_cast<int64_t>(i));
    }
  }
  out.base_offset = model::Offset(base);
  if (state->slots[0].ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) {
    out.log_append_time = state->slots[0].timestamp;
  }
  co_return out;
}

}  // namespace sluice::kafka
