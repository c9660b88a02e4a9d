// KafkaLog group membership: a high-level consumer that subscribes to one topic under a group
// id and turns librdkafka's rebalance callbacks into GroupListener calls (JoinGroup).
#include <atomic>
#include <thread>

#include "kafka/internal/kafka_log_state.h"
#include "kafka/kafka_log.h"
#include "kafka/logger.h"

namespace sluice::kafka {

using internal::ErrorStatus;

namespace {

std::vector<model::PartitionId> PartitionsOf(const rd_kafka_topic_partition_list_t* list) {
  std::vector<model::PartitionId> out;
  for (int i = 0; i < list->cnt; ++i) out.emplace_back(list->elems[i].partition);
  return out;
}

// One member of a Kafka consumer group. Its poll thread serves the group protocol's callbacks
// (librdkafka sends heartbeats from its own threads; the poll only delivers rebalances), so the
// listener is always called from that thread, or from the thread calling Leave().
//
// Invariants:
//  1. The listener hears OnRevoked for an assignment before the member tells librdkafka to
//     drop it (rd_kafka_assign(NULL) / incremental_unassign), so under the eager protocol the
//     group's next generation, which may hand those partitions to another member, only forms
//     after this member's work on them has stopped.
//  2. After Leave() returns no callback runs.
class KafkaGroupMembership final : public storage::GroupMembership {
 public:
  KafkaGroupMembership(std::string group, storage::GroupListener& listener)
      : group_(std::move(group)), listener_(listener) {}
  ~KafkaGroupMembership() override { Leave(); }

  Status Open(std::map<std::string, std::string> kv, const std::string& topic) {
    SLUICE_ASSIGN_OR_RETURN(internal::Conf conf, internal::MakeConf(kv));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &KafkaGroupMembership::OnRebalance);
    SLUICE_ASSIGN_OR_RETURN(rk_, internal::NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
    rd_kafka_poll_set_consumer(rk_.get());
    internal::PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(err, fmt::format("join group '{}' on topic '{}'", group_, topic));
    }
    thread_ = std::thread([this] { PollLoop(); });
    return Status::Ok();
  }

  void Leave() override {
    if (left_.exchange(true)) return;
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (rk_) {
      // Serves the final revoke through OnRebalance on this thread, then sends LeaveGroup.
      rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_.get());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Log().warn("group {}: leaving: {}", group_, rd_kafka_err2str(err));
      }
      rk_.reset();
    }
  }

 private:
  void PollLoop() {
    while (!stop_.load()) {
      internal::Message m(rd_kafka_consumer_poll(rk_.get(), 100));
      if (!m) continue;
      // The topic carries no data; errors are transient (the client reconnects and rejoins).
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        Log().debug("group {}: {}", group_, rd_kafka_message_errstr(m.get()));
      }
    }
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<KafkaGroupMembership*>(opaque)->Rebalance(rk, err, partitions);
  }

  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions) {
    const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
        if (e != nullptr) {
          Log().error("group {}: assign: {}", group_, rd_kafka_error_string(e));
          rd_kafka_error_destroy(e);
          return;
        }
      } else {
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, partitions);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          Log().error("group {}: assign: {}", group_, rd_kafka_err2str(e));
          return;
        }
      }
      // Nothing is read from the topic: its partitions only name units of work.
      rd_kafka_pause_partitions(rk, partitions);
      auto owned = PartitionsOf(partitions);
      Log().info("group {}: assigned {} partition(s)", group_, owned.size());
      listener_.OnAssigned(owned);
      return;
    }
    // Revoked (or an error): stop the work first (invariant 1), then let the group move on.
    auto revoked = PartitionsOf(partitions);
    Log().info("group {}: revoking {} partition(s){}", group_, revoked.size(),
               rd_kafka_assignment_lost(rk) ? " (assignment lost)" : "");
    listener_.OnRevoked(revoked);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  std::string group_;
  storage::GroupListener& listener_;
  internal::Handle rk_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> left_{false};
};

}  // namespace

Task<Result<std::unique_ptr<storage::GroupMembership>>> KafkaLog::JoinGroup(
    std::string group, std::string topic, storage::GroupListener& listener) {
  if (group.empty()) co_return InvalidArgument("join group: group is empty");
  if (st_->stopping.load()) co_return Unavailable("kafka log is stopping");
  // The topic must exist first: subscribing to a missing topic waits for it silently.
  auto n = co_await st_->PartitionCount(topic);
  if (!n.ok()) co_return n.status();
  auto kv = st_->BaseProperties();
  kv["group.id"] = group;
  kv["enable.auto.commit"] = "false";
  kv["enable.auto.offset.store"] = "false";
  kv["auto.offset.reset"] = "latest";
  // Round robin deals consecutive partitions to different members, so a pipeline's tasks
  // (consecutive slots) spread over the instances.
  kv["partition.assignment.strategy"] = "roundrobin";
  kv["session.timeout.ms"] = std::to_string(st_->options.group_session_timeout_ms);
  kv["heartbeat.interval.ms"] = std::to_string(st_->options.group_heartbeat_interval_ms);
  for (const auto& [k, v] : st_->options.properties) kv[k] = v;
  auto m = std::make_unique<KafkaGroupMembership>(group, listener);
  Status st = m->Open(std::move(kv), topic);
  if (!st.ok()) co_return st;
  std::unique_ptr<storage::GroupMembership> out = std::move(m);
  co_return out;
}

}  // namespace sluice::kafka
