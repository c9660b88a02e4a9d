// Log: the one interface every component uses to reach the event log. Two implementations:
// storage::EmbeddedLog (the local Event Store, the default) and kafka::KafkaLog (an external
// Apache Kafka cluster through librdkafka, the scale-out mode). Behaviour both must share is
// pinned by tests/log/log_conformance.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/ids.h"
#include "model/record.h"
#include "model/record_batch.h"
#include "runtime/asio.h"
#include "storage/topic_config.h"

namespace sluice::storage {

struct AppendResult {
  model::Offset base_offset;  // offset of the first record; the rest follow contiguously
  int32_t record_count = 0;
  model::TimestampMs log_append_time = model::kNoTimestamp;
};

// An encoded batch and the storage that keeps its bytes alive. Batches read together share one
// buffer (no copy per batch); a batch built elsewhere owns its own string.
class OwnedBatch {
 public:
  OwnedBatch() = default;
  explicit OwnedBatch(std::string b) {
    auto s = std::make_shared<const std::string>(std::move(b));
    bytes_ = *s;
    storage_ = std::move(s);
  }
  OwnedBatch(std::shared_ptr<const void> storage, std::string_view bytes)
      : storage_(std::move(storage)), bytes_(bytes) {}
  std::string_view bytes() const { return bytes_; }
  model::RecordBatchView view() const { return model::RecordBatchView(bytes_); }

 private:
  std::shared_ptr<const void> storage_;
  std::string_view bytes_;
};

struct ReadOptions {
  int32_t max_records = 1000;   // stop after this many records (>= 1)
  int64_t max_bytes = 1 << 20;  // soft limit; at least one batch is always returned
  int32_t wait_ms = 0;          // long-poll: wait up to this long when nothing is there
};

struct ReadResult {
  // Whole batches; the first may start before the requested offset and the last may run past
  // max_records: use ForEachRecord to get exactly the requested records.
  std::vector<OwnedBatch> batches;
  model::Offset requested;         // the offset asked for
  model::Offset next_offset;       // where the next read should start
  model::Offset high_watermark;    // first offset not yet readable
  model::Offset log_start_offset;  // first offset still stored
  int32_t max_records = 0;

  // Calls fn for every record at or after `requested`, at most max_records of them. Checks each
  // batch's CRC-32C first (as Kafka clients do): the store does not re-verify on read.
  Status ForEachRecord(const std::function<void(const model::RecordView&)>& fn) const;
};

struct PartitionInfo {
  model::PartitionId partition;
  model::Offset log_start_offset;
  model::Offset high_watermark;
  int64_t size_bytes = -1;  // -1 when the implementation cannot tell
  int32_t segments = -1;    // -1 when the implementation cannot tell
  // Zero-filled disk space held ahead of the data (topic config `preallocate`): the active
  // segment's unused tail plus the next segment's file. -1 when the implementation cannot tell.
  int64_t preallocated_bytes = -1;
  bool active_segment_preallocated = false;
  // The active segment's file is one that retention removed from this partition, zero-filled
  // again (topic config `preallocate`).
  bool active_segment_recycled = false;
};

struct TopicDescription {
  std::string name;
  TopicConfig config;
  std::vector<PartitionInfo> partitions;
  bool internal = false;
};

// Committed position of a consumer group on one partition.
struct GroupOffset {
  GroupOffset() = default;
  GroupOffset(model::TopicPartition t, model::Offset o, std::string m = {})
      : tp(std::move(t)), offset(o), metadata(std::move(m)) {}
  model::TopicPartition tp;
  model::Offset offset;  // the next offset the group will read
  std::string metadata;
};

// Receives a group member's changes of ownership (JoinGroup). The implementation calls it from
// a thread of its own (never while holding its locks), one call at a time: every OnRevoked of
// an assignment comes before the OnAssigned of the next one.
class GroupListener {
 public:
  virtual ~GroupListener() = default;
  // The member no longer owns `partitions`. Must return only once the work on them has stopped:
  // another member may start on them as soon as it returns. May block (not on a shard).
  virtual void OnRevoked(const std::vector<model::PartitionId>& partitions) = 0;
  // The member now owns `partitions` as well. Should not block: post the work somewhere.
  virtual void OnAssigned(const std::vector<model::PartitionId>& partitions) = 0;
};

// Membership of a group whose members share the partitions of one topic among themselves, each
// partition owned by one member at a time (Kafka's consumer-group protocol). Destroying it
// leaves the group.
class GroupMembership {
 public:
  virtual ~GroupMembership() = default;
  // Revokes what this member owns (GroupListener::OnRevoked) and leaves the group, so that the
  // others take over at once rather than after a session timeout. Blocking, not on a shard
  // thread; idempotent. No listener call follows.
  virtual void Leave() = 0;
};

class Log {
 public:
  virtual ~Log() = default;

  // --- topic admin ---
  // Errors: kAlreadyExists, kInvalidArgument (name or config).
  virtual Task<Status> CreateTopic(std::string name, TopicConfig config) = 0;
  // Errors: kNotFound.
  virtual Task<Status> DeleteTopic(std::string name) = 0;
  virtual Task<Result<std::vector<TopicDescription>>> ListTopics(bool include_internal) = 0;
  virtual Task<Result<TopicDescription>> DescribeTopic(std::string name) = 0;
  // Applies key/value changes (same keys as TopicConfig::Apply). Partition count may only grow.
  virtual Task<Status> AlterTopicConfig(std::string name,
                                        std::map<std::string, std::string> changes) = 0;

  // Creates an internal topic (a name starting with '_', e.g. "_schemas") for the platform's own
  // state unless it exists. Errors: as CreateTopic, except that an existing topic is fine.
  virtual Task<Status> EnsureInternalTopic(std::string name, TopicConfig config) {
    auto d = co_await DescribeTopic(name);
    if (d.ok()) co_return Status::Ok();
    if (d.status().code() != ErrorCode::kNotFound) co_return d.status();
    Status st = co_await CreateTopic(std::move(name), std::move(config));
    if (st.code() == ErrorCode::kAlreadyExists) co_return Status::Ok();
    co_return st;
  }

  // Deletes an internal topic the platform made for itself (a deleted pipeline's exchanges),
  // which DeleteTopic refuses on the embedded store. Errors: as DeleteTopic.
  virtual Task<Status> DeleteInternalTopic(std::string name) {
    co_return co_await DeleteTopic(std::move(name));
  }

  // --- data ---
  // Appends records to one partition as one batch, atomically: all or none. Resolves when the
  // topic's durability policy is met (`always`: after fdatasync).
  // Errors: kNotFound (topic/partition), kResourceExhausted (too large), kInvalidArgument,
  // kUnavailable (partition read-only after an I/O error, or shutting down).
  virtual Task<Result<AppendResult>> Append(model::TopicPartition tp,
                                            std::vector<model::ProduceRecord> records) = 0;
  // Appends one batch the caller built with model::RecordBatchBuilder (uncompressed RecordBatch
  // v2, base offset 0), as Append would: same atomicity, durability and errors. The embedded
  // store writes the bytes as they are, so producers that build batches as they go (pipeline
  // outputs) pay no allocation per record; this default decodes them into ProduceRecords.
  // Errors: as Append, and kInvalidArgument when `batch` is not a well-formed batch.
  virtual Task<Result<AppendResult>> AppendEncoded(model::TopicPartition tp, std::string batch);
  // Reads from `offset`. An offset below the log start is kOutOfRange; at the high watermark
  // the read waits up to wait_ms and may return no batches.
  virtual Task<Result<ReadResult>> Read(model::TopicPartition tp, model::Offset offset,
                                        ReadOptions options) = 0;
  // First offset whose record timestamp is >= ts; the high watermark when none is.
  virtual Task<Result<model::Offset>> OffsetForTimestamp(model::TopicPartition tp,
                                                         model::TimestampMs ts) = 0;

  // For events without a key: a partition of `topic` (which has `partition_count` partitions)
  // owned by the calling shard, so the append needs no hop between threads; `seed` rotates
  // among such partitions. nullopt when none is local or the implementation has no owners.
  virtual std::optional<model::PartitionId> LocalPartition(std::string_view topic,
                                                           int32_t partition_count,
                                                           uint64_t seed) const {
    (void)topic;
    (void)partition_count;
    (void)seed;
    return std::nullopt;
  }

  // --- consumer groups ---
  virtual Task<Status> CommitOffsets(std::string group, std::vector<GroupOffset> offsets) = 0;
  // Committed offsets of the group for the given partitions (missing when never committed).
  // Empty `partitions` means every partition the group has committed.
  virtual Task<Result<std::vector<GroupOffset>>> FetchOffsets(
      std::string group, std::vector<model::TopicPartition> partitions) = 0;
  // The groups, sorted by name: on the embedded store every group with a committed offset; on
  // Kafka the cluster's consumer groups (ListGroups), which include groups that only have
  // members. Errors: the log's.
  virtual Task<Result<std::vector<std::string>>> ListGroups() = 0;
  // Forgets every committed offset of `group` (a group no longer used, whose lag would
  // otherwise be reported forever). Errors: kNotFound (no such group), kFailedPrecondition
  // (Kafka: the group still has members), the log's.
  virtual Task<Status> DeleteGroup(std::string group) = 0;

  // Joins `group` as a member that shares the partitions of `topic` with the group's other
  // members, and reports what this member owns to `listener` (which must outlive the
  // membership). The default is a group of one: the only member owns every partition the topic
  // has now, reported before this returns, and Leave() revokes them (the embedded store, where
  // one process owns everything). KafkaLog joins a Kafka consumer group.
  // Errors: kNotFound (topic), the log's.
  virtual Task<Result<std::unique_ptr<GroupMembership>>> JoinGroup(std::string group,
                                                                   std::string topic,
                                                                   GroupListener& listener);
};

// The records of one batch built by model::RecordBatchBuilder (checked: framing and CRC).
// Errors: kInvalidArgument.
Result<std::vector<model::ProduceRecord>> DecodeBuiltBatch(std::string_view batch);

// Reads partition `tp` from `*next` to its high watermark as of the last read, calling `fn` for
// every record, and leaves `*next` after the last record read. When `*next` is below the log
// start (retention or compaction removed it), it continues from the log start: for replaying a
// compacted state topic (`_schemas`, `_pipelines`, `_checkpoints`, `_lineage`) into memory.
// Errors: the log's, and kDataLoss for a corrupt batch (nothing after it is read).
Task<Status> ReadToEnd(Log& log, model::TopicPartition tp, int64_t* next, ReadOptions options,
                       const std::function<void(const model::RecordView&)>& fn);

}  // namespace sluice::storage
