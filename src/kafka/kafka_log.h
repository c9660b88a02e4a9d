// KafkaLog: storage::Log on an external Apache Kafka cluster through librdkafka (the scale-out
// mode, `--log kafka://HOST:PORT`). Design notes and the guarantees that differ from the
// embedded store: src/kafka/README.md.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "runtime/shards.h"
#include "storage/log.h"

namespace sluice::kafka {

struct KafkaLogOptions {
  // Comma-separated host:port list (librdkafka's bootstrap.servers).
  std::string bootstrap_servers;
  // Extra librdkafka properties applied to every client this log creates (producer, readers,
  // group clients), after Sluice's own defaults so they can override them.
  // Example: {"test.mock.num.brokers", "3"}.
  std::map<std::string, std::string> properties;
  // Threads for librdkafka calls that block (reads, metadata, admin, commits). This also
  // bounds how many reads (and long polls) run at once.
  int io_threads = 4;
  // Blocking calls queued for the io threads before new calls fail with kUnavailable.
  int max_pending_io = 1024;
  // Read consumers kept for reuse; a consumer stays assigned to its last partition so a
  // sequential reader finds its next records already fetched.
  int max_idle_consumers = 8;
  // Per-group clients kept for CommitOffsets/FetchOffsets (least recently used are closed).
  int max_group_clients = 16;
  // Timeout for one metadata, watermark, admin or commit request.
  int request_timeout_ms = 10000;
  // How long the broker may hold an empty fetch; bounds the latency of a long-poll read on
  // brokers (such as librdkafka's mock) that do not answer early when data arrives.
  int fetch_wait_max_ms = 100;
  // How long the topic list learned from metadata is trusted before it is refreshed.
  int metadata_max_age_ms = 5000;
  // Whether the cluster has Kafka's admin API (CreateTopics, DeleteTopics, CreatePartitions,
  // DescribeConfigs, AlterConfigs). When false (librdkafka's mock cluster), create/delete/alter
  // fail with kUnimplemented and describe/list report only what metadata knows.
  bool admin_api = true;
  // Replication factor for CreateTopic; -1 takes the broker's default.replication.factor.
  int replication_factor = -1;
  // How long Stop() waits for in-flight appends to be acknowledged.
  int stop_flush_timeout_ms = 10000;
  // Group membership (JoinGroup): a member that stops heartbeating (a killed process) loses
  // its partitions after group_session_timeout_ms; heartbeats, which also tell members that a
  // rebalance started, go every group_heartbeat_interval_ms (< the session timeout).
  int group_session_timeout_ms = 10000;
  int group_heartbeat_interval_ms = 1000;
};

// Lifecycle: Open() (from a thread that is not a shard; shards may or may not be started),
// use from any shard, Stop() (idempotent, blocking; not on a shard thread) before the shards
// stop. Thread-safe. librdkafka's own threads never touch caller state: delivery reports are
// posted back to the executor of the coroutine that appended.
class KafkaLog final : public storage::Log {
 public:
  // Creates the idempotent producer and checks the options. Does not wait for the cluster:
  // an unreachable cluster shows as kUnavailable/kDeadlineExceeded on the first call.
  // Errors: kInvalidArgument (bad option or librdkafka property).
  static Result<std::unique_ptr<KafkaLog>> Open(KafkaLogOptions options,
                                                runtime::Shards& shards);
  ~KafkaLog() override;

  // Stops accepting calls (they fail with kUnavailable), waits up to stop_flush_timeout_ms for
  // in-flight appends, ends long polls and closes every client.
  void Stop();

  // Admin goes through Kafka's admin API; List/Describe use metadata (and DescribeConfigs when
  // options.admin_api). TopicConfig.durability has no Kafka equivalent: see README.
  Task<Status> CreateTopic(std::string name, storage::TopicConfig config) override;
  Task<Status> DeleteTopic(std::string name) override;
  Task<Result<std::vector<storage::TopicDescription>>> ListTopics(bool include_internal) override;
  Task<Result<storage::TopicDescription>> DescribeTopic(std::string name) override;
  Task<Status> AlterTopicConfig(std::string name,
                                std::map<std::string, std::string> changes) override;

  // Produces every record to tp.partition with the idempotent producer (acks=all) and resolves
  // when all delivery reports are in. Not atomic: see README.
  Task<Result<storage::AppendResult>> Append(model::TopicPartition tp,
                                             std::vector<model::ProduceRecord> records) override;
  Task<Result<storage::ReadResult>> Read(model::TopicPartition tp, model::Offset offset,
                                         storage::ReadOptions options) override;
  Task<Result<model::Offset>> OffsetForTimestamp(model::TopicPartition tp,
                                                 model::TimestampMs ts) override;
  // Kafka committed offsets of `group` (OffsetCommit as a standalone client, no group join).
  Task<Status> CommitOffsets(std::string group,
                             std::vector<storage::GroupOffset> offsets) override;
  Task<Result<std::vector<storage::GroupOffset>>> FetchOffsets(
      std::string group, std::vector<model::TopicPartition> partitions) override;
  // The cluster's consumer groups (the admin ListConsumerGroups call, every broker).
  Task<Result<std::vector<std::string>>> ListGroups() override;
  // The admin DeleteGroups call (the broker refuses a group that still has members).
  Task<Status> DeleteGroup(std::string group) override;
  // A member of the Kafka consumer group `group` subscribed to `topic` (round-robin
  // assignment, eager rebalancing unless kafka properties choose cooperative-sticky), with its
  // own consumer and poll thread. A killed member's partitions move after the session timeout.
  Task<Result<std::unique_ptr<storage::GroupMembership>>> JoinGroup(
      std::string group, std::string topic, storage::GroupListener& listener) override;

  struct State;  // defined in kafka/internal/kafka_log_state.h

 private:
  explicit KafkaLog(std::unique_ptr<State> state);
  std::unique_ptr<State> st_;
};

}  // namespace sluice::kafka
