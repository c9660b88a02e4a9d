// KafkaLog topic admin: Kafka's admin API (CreateTopics, DeleteTopics, CreatePartitions,
// DescribeConfigs, AlterConfigs) plus cluster metadata for listing and describing.
#include <algorithm>

#include "kafka/internal/kafka_log_state.h"
#include "kafka/kafka_log.h"

namespace sluice::kafka {

using internal::ErrorStatus;

const std::map<std::string, std::string>& KafkaConfigNames() {
  // TopicConfig key -> Kafka topic config. partitions is the partition count; durability and
  // flush_interval_ms have no Kafka topic equivalent (README).
  static const std::map<std::string, std::string> kNames = {
      {"retention_ms", "retention.ms"},
      {"retention_bytes", "retention.bytes"},
      {"cleanup_policy", "cleanup.policy"},
      {"delete_retention_ms", "delete.retention.ms"},
      {"segment_bytes", "segment.bytes"},
      {"segment_ms", "segment.ms"},
      {"max_message_bytes", "max.message.bytes"},
      {"index_interval_bytes", "index.interval.bytes"},
      {"preallocate", "preallocate"},
  };
  return kNames;
}

namespace {

Status TopicResultStatus(const rd_kafka_topic_result_t* r, std::string_view what) {
  rd_kafka_resp_err_t err = rd_kafka_topic_result_error(r);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  const char* detail = rd_kafka_topic_result_error_string(r);
  return ErrorStatus(err, what, detail != nullptr ? detail : "");
}

bool IsInternalName(std::string_view name) { return !name.empty() && name[0] == '_'; }

}  // namespace

Result<internal::Event> KafkaLog::State::AwaitAdmin(rd_kafka_queue_t* q,
                                                    rd_kafka_event_type_t type,
                                                    std::string_view what) {
  // The admin request carries its own timeout; allow a little more for the result to arrive.
  internal::Event ev(rd_kafka_queue_poll(q, options.request_timeout_ms + 2000));
  if (!ev) return Status(ErrorCode::kDeadlineExceeded, fmt::format("{}: no answer", what));
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* detail = rd_kafka_event_error_string(ev.get());
    return ErrorStatus(rd_kafka_event_error(ev.get()), what, detail != nullptr ? detail : "");
  }
  if (rd_kafka_event_type(ev.get()) != type) {
    return Internal("{}: unexpected admin event {}", what, rd_kafka_event_name(ev.get()));
  }
  return ev;
}

Status KafkaLog::State::DescribeConfigs(
    const std::vector<std::string>& names, std::map<std::string, storage::TopicConfig>& configs,
    std::map<std::string, std::map<std::string, std::string>>* dynamic) {
  if (!options.admin_api) return Unimplemented("describe topic configs: admin_api is off");
  if (names.empty()) return Status::Ok();
  const std::string what = "describe topic configs";
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& n : names) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, n.c_str()));
  }
  internal::Queue q(rd_kafka_queue_new(producer.get()));
  auto opts = internal::MakeAdminOptions(producer.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
                               options.request_timeout_ms);
  rd_kafka_DescribeConfigs(producer.get(), resources.data(), resources.size(), opts.get(),
                           q.get());
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  SLUICE_ASSIGN_OR_RETURN(internal::Event ev,
                          AwaitAdmin(q.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, what));
  size_t n = 0;
  const rd_kafka_ConfigResource_t** res = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  std::map<std::string, std::string> reverse;
  for (const auto& [ours, theirs] : KafkaConfigNames()) reverse[theirs] = ours;
  for (size_t i = 0; i < n; ++i) {
    const std::string topic = rd_kafka_ConfigResource_name(res[i]);
    rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(res[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* detail = rd_kafka_ConfigResource_error_string(res[i]);
      return ErrorStatus(err, fmt::format("{} of '{}'", what, topic),
                         detail != nullptr ? detail : "");
    }
    storage::TopicConfig& cfg = configs[topic];
    size_t entry_cnt = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(res[i], &entry_cnt);
    for (size_t e = 0; e < entry_cnt; ++e) {
      const char* name = rd_kafka_ConfigEntry_name(entries[e]);
      const char* value = rd_kafka_ConfigEntry_value(entries[e]);
      if (name == nullptr || value == nullptr) continue;
      if (dynamic != nullptr &&
          rd_kafka_ConfigEntry_source(entries[e]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) {
        (*dynamic)[topic][name] = value;
      }
      if (reverse.contains(name)) {
        // Values Sluice cannot represent (e.g. cleanup.policy=compact,delete) keep the default.
        (void)cfg.Set(reverse[name], value);
      }
    }
  }
  return Status::Ok();
}

namespace {

// Fills the partitions of a description from metadata and per-partition watermarks.
Status FillPartitions(rd_kafka_t* rk, const rd_kafka_metadata_topic_t& t, int timeout_ms,
                      storage::TopicDescription& d) {
  d.name = t.topic;
  d.internal = IsInternalName(d.name);
  d.config.partitions = t.partition_cnt;
  d.config.durability = storage::Durability::kAlways;  // acks=all (README)
  for (int p = 0; p < t.partition_cnt; ++p) {
    storage::PartitionInfo info;
    info.partition = model::PartitionId(t.partitions[p].id);
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, t.topic, t.partitions[p].id, &lo, &hi, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(err, fmt::format("watermarks of {}/{}", t.topic, t.partitions[p].id));
    }
    info.log_start_offset = model::Offset(lo);
    info.high_watermark = model::Offset(hi);
    d.partitions.push_back(info);
  }
  std::sort(d.partitions.begin(), d.partitions.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  return Status::Ok();
}

}  // namespace

Result<storage::TopicDescription> KafkaLog::State::DescribeBlocking(const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(internal::Metadata md, AllMetadata());
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (name != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    storage::TopicDescription d;
    std::map<std::string, storage::TopicConfig> configs;
    Status st = DescribeConfigs({name}, configs, nullptr);
    if (st.ok()) {
      d.config = configs[name];
    } else if (st.code() != ErrorCode::kUnimplemented) {
      return st;
    }  // else: a cluster without DescribeConfigs (the mock): the defaults stand (README).
    d.config.partitions = t.partition_cnt;
    SLUICE_RETURN_IF_ERROR(FillPartitions(producer.get(), t, options.request_timeout_ms, d));
    return d;
  }
  return NotFound("topic '{}' does not exist", name);
}

Task<Status> KafkaLog::CreateTopic(std::string name, storage::TopicConfig config) {
  SLUICE_CO_RETURN_IF_ERROR(storage::ValidateTopicName(name, /*allow_internal=*/true));
  SLUICE_CO_RETURN_IF_ERROR(config.Validate());
  if (!st_->options.admin_api) co_return Unimplemented("create topic: admin_api is off");
  if ((co_await st_->PartitionCount(name)).ok()) {
    co_return AlreadyExists("topic '{}' already exists", name);
  }
  State* st = st_.get();
  auto work = [st, name, config]() -> Status {
    const std::string what = fmt::format("create topic '{}'", name);
    char errstr[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(name.c_str(), config.partitions,
                                                    st->options.replication_factor, errstr,
                                                    sizeof(errstr));
    if (nt == nullptr) return InvalidArgument("{}: {}", what, errstr);
    const auto values = config.ToMap();
    for (const auto& [ours, theirs] : KafkaConfigNames()) {
      rd_kafka_NewTopic_set_config(nt, theirs.c_str(), values.at(ours).c_str());
    }
    internal::Queue q(rd_kafka_queue_new(st->producer.get()));
    auto opts = internal::MakeAdminOptions(st->producer.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS,
                                 st->options.request_timeout_ms);
    rd_kafka_CreateTopics(st->producer.get(), &nt, 1, opts.get(), q.get());
    rd_kafka_NewTopic_destroy(nt);
    SLUICE_ASSIGN_OR_RETURN(internal::Event ev,
                            st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, what));
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) SLUICE_RETURN_IF_ERROR(TopicResultStatus(res[i], what));
    return st->RefreshTopics();
  };
  co_return co_await st->RunIo(std::move(work));
}

Task<Status> KafkaLog::DeleteTopic(std::string name) {
  if (!st_->options.admin_api) co_return Unimplemented("delete topic: admin_api is off");
  auto count = co_await st_->PartitionCount(name);
  if (!count.ok()) co_return count.status();
  State* st = st_.get();
  auto work = [st, name]() -> Status {
    const std::string what = fmt::format("delete topic '{}'", name);
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(name.c_str());
    internal::Queue q(rd_kafka_queue_new(st->producer.get()));
    auto opts = internal::MakeAdminOptions(st->producer.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS,
                                 st->options.request_timeout_ms);
    rd_kafka_DeleteTopics(st->producer.get(), &dt, 1, opts.get(), q.get());
    rd_kafka_DeleteTopic_destroy(dt);
    SLUICE_ASSIGN_OR_RETURN(internal::Event ev,
                            st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_DELETETOPICS_RESULT, what));
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) SLUICE_RETURN_IF_ERROR(TopicResultStatus(res[i], what));
    st->ForgetTopic(name);
    return Status::Ok();
  };
  co_return co_await st->RunIo(std::move(work));
}

Task<Result<std::vector<storage::TopicDescription>>> KafkaLog::ListTopics(bool include_internal) {
  State* st = st_.get();
  auto work = [st, include_internal]() -> Result<std::vector<storage::TopicDescription>> {
        SLUICE_ASSIGN_OR_RETURN(internal::Metadata md, st->AllMetadata());
        std::vector<const rd_kafka_metadata_topic_t*> listed;
        std::vector<std::string> names;
        for (int i = 0; i < md->topic_cnt; ++i) {
          const auto& t = md->topics[i];
          if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
          if (!include_internal && IsInternalName(t.topic)) continue;
          listed.push_back(&t);
          names.push_back(t.topic);
        }
        std::map<std::string, storage::TopicConfig> configs;
        Status st_cfg = st->DescribeConfigs(names, configs, nullptr);
        if (!st_cfg.ok() && st_cfg.code() != ErrorCode::kUnimplemented) return st_cfg;
        std::vector<storage::TopicDescription> out;
        for (const auto* t : listed) {
          storage::TopicDescription d;
          if (auto it = configs.find(t->topic); it != configs.end()) d.config = it->second;
          SLUICE_RETURN_IF_ERROR(
              FillPartitions(st->producer.get(), *t, st->options.request_timeout_ms, d));
          out.push_back(std::move(d));
        }
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        return out;
      };
  co_return co_await st->RunIo(std::move(work));
}

Task<Result<storage::TopicDescription>> KafkaLog::DescribeTopic(std::string name) {
  State* st = st_.get();
  auto work = [st, name] { return st->DescribeBlocking(name); };
  co_return co_await st->RunIo(std::move(work));
}

Task<Status> KafkaLog::AlterTopicConfig(std::string name,
                                        std::map<std::string, std::string> changes) {
  if (!st_->options.admin_api) co_return Unimplemented("alter topic: admin_api is off");
  State* st = st_.get();
  auto work = [st, name, changes]() -> Status {
    const std::string what = fmt::format("alter topic '{}'", name);
    SLUICE_ASSIGN_OR_RETURN(storage::TopicDescription current, st->DescribeBlocking(name));
    storage::TopicConfig next = current.config;
    SLUICE_RETURN_IF_ERROR(next.Apply(changes));
    if (next.partitions < current.config.partitions) {
      return InvalidArgument("{}: partitions may only grow ({} -> {})", what,
                             current.config.partitions, next.partitions);
    }
    // AlterConfigs (librdkafka 2.0 has no incremental form) replaces every dynamic config of
    // the topic: send the ones set today plus the changed keys, so others are kept.
    std::map<std::string, std::string> kafka_changes;
    const auto values = next.ToMap();
    for (const auto& [key, value] : changes) {
      std::string canonical = key;
      std::replace(canonical.begin(), canonical.end(), '.', '_');
      auto it = KafkaConfigNames().find(canonical);
      if (it != KafkaConfigNames().end()) kafka_changes[it->second] = values.at(canonical);
    }
    if (!kafka_changes.empty()) {
      std::map<std::string, storage::TopicConfig> configs;
      std::map<std::string, std::map<std::string, std::string>> dynamic;
      SLUICE_RETURN_IF_ERROR(st->DescribeConfigs({name}, configs, &dynamic));
      std::map<std::string, std::string> all = dynamic[name];
      for (const auto& [k, v] : kafka_changes) all[k] = v;
      rd_kafka_ConfigResource_t* res =
          rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str());
      for (const auto& [k, v] : all) rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
      internal::Queue q(rd_kafka_queue_new(st->producer.get()));
      auto opts = internal::MakeAdminOptions(st->producer.get(), RD_KAFKA_ADMIN_OP_ALTERCONFIGS,
                                   st->options.request_timeout_ms);
      rd_kafka_AlterConfigs(st->producer.get(), &res, 1, opts.get(), q.get());
      rd_kafka_ConfigResource_destroy(res);
      SLUICE_ASSIGN_OR_RETURN(internal::Event ev,
                              st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, what));
      size_t n = 0;
      const rd_kafka_ConfigResource_t** out =
          rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
      for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(out[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* detail = rd_kafka_ConfigResource_error_string(out[i]);
          return ErrorStatus(err, what, detail != nullptr ? detail : "");
        }
      }
    }
    if (next.partitions > current.config.partitions) {
      char errstr[512];
      rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(
          name.c_str(), static_cast<size_t>(next.partitions), errstr, sizeof(errstr));
      if (np == nullptr) return InvalidArgument("{}: {}", what, errstr);
      internal::Queue q(rd_kafka_queue_new(st->producer.get()));
      auto opts = internal::MakeAdminOptions(st->producer.get(), RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
                                   st->options.request_timeout_ms);
      rd_kafka_CreatePartitions(st->producer.get(), &np, 1, opts.get(), q.get());
      rd_kafka_NewPartitions_destroy(np);
      SLUICE_ASSIGN_OR_RETURN(
          internal::Event ev, st->AwaitAdmin(q.get(), RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, what));
      size_t n = 0;
      const rd_kafka_topic_result_t** res = rd_kafka_CreatePartitions_result_topics(
          rd_kafka_event_CreatePartitions_result(ev.get()), &n);
      for (size_t i = 0; i < n; ++i) SLUICE_RETURN_IF_ERROR(TopicResultStatus(res[i], what));
      SLUICE_RETURN_IF_ERROR(st->RefreshTopics());
    }
    return Status::Ok();
  };
  co_return co_await st->RunIo(std::move(work));
}

}  // namespace sluice::kafka
