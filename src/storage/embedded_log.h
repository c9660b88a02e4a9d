// EmbeddedLog: the local Event Store behind the Log interface — topics of partitions, each a
// sequence of RecordBatch v2 segments on disk under <data_dir>/topics, with group commit,
// retention, compaction, recovery and consumer offsets in the internal `_offsets` topic.
// Formats: docs/formats/. Design notes: src/storage/README.md.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "runtime/shards.h"
#include "storage/fault_injector.h"
#include "storage/log.h"

namespace sluice::metrics {
class Registry;
}

namespace sluice::storage {

struct EmbeddedLogOptions {
  std::string data_dir = "./data";
  // Defaults for topics created without explicit settings.
  TopicConfig default_topic_config;
  // How often each shard applies retention and compaction.
  int64_t housekeeping_interval_ms = 5000;
  // How often each partition records its recovery point (bounds the tail verified on start).
  int64_t checkpoint_interval_ms = 1000;
  // Largest request to Read in bytes, whatever the caller asks.
  int64_t max_read_bytes = 64LL * 1024 * 1024;
  // Budget for zero-filling the next segment of `preallocate` topics, all partitions
  // together; <= 0: unpaced.
  double preallocate_bytes_per_second = 32.0 * 1024 * 1024;
  // On `preallocate` topics, retention hands the file of a segment it removes to the next
  // zero-fill instead of unlinking it (see docs/formats/segment.md). Off: always unlink.
  bool recycle_segments = true;
  // Segments that retention removes otherwise, and the files of deleted topics, are shrunk in
  // steps of 4 MiB, each synced, at most this fast (all of them together), and then unlinked,
  // so that the blocks they free are discarded a few MiB at a time; <= 0: unlinked at once.
  // See docs/formats/segment.md.
  double delete_bytes_per_second = 256.0 * 1024 * 1024;
  // Client appends are refused (kUnavailable) while the data directory's filesystem has fewer
  // free bytes than this, so the rest stays for internal topics, recovery points and indexes
  // and a full disk never fails an fdatasync. < 0: min(1 GiB, 5% of the filesystem); 0: off.
  int64_t min_free_bytes = -1;
  // Where counters and gauges go; may be null.
  metrics::Registry* metrics = nullptr;
  // Makes chosen fsyncs/writes fail; tests only.
  FaultInjector* faults = nullptr;
};

class EmbeddedLogImpl;

// Lifecycle: Open() on a thread that is not a shard, with shards started; use from any shard;
// Stop() (idempotent) before the shards stop. Thread-safe: every call hops to the partition's
// owner shard.
class EmbeddedLog final : public Log {
 public:
  // Opens (creating if needed) the store in options.data_dir and recovers every partition.
  // Errors: kDataLoss for unrecoverable corruption, I/O errors, kFailedPrecondition when the
  // directory is locked by another process.
  static Result<std::unique_ptr<EmbeddedLog>> Open(EmbeddedLogOptions options,
                                                   runtime::Shards& shards, const Clock& clock);
  ~EmbeddedLog() override;

  // Flushes every partition, writes clean-shutdown markers and stops background work.
  void Stop();

  Task<Status> CreateTopic(std::string name, TopicConfig config) override;
  Task<Status> EnsureInternalTopic(std::string name, TopicConfig config) override;
  Task<Status> DeleteTopic(std::string name) override;
  Task<Status> DeleteInternalTopic(std::string name) override;
  Task<Result<std::vector<TopicDescription>>> ListTopics(bool include_internal) override;
  Task<Result<TopicDescription>> DescribeTopic(std::string name) override;
  Task<Status> AlterTopicConfig(std::string name,
                                std::map<std::string, std::string> changes) override;
  Task<Result<AppendResult>> Append(model::TopicPartition tp,
                                    std::vector<model::ProduceRecord> records) override;
  Task<Result<AppendResult>> AppendEncoded(model::TopicPartition tp, std::string batch) override;
  Task<Result<ReadResult>> Read(model::TopicPartition tp, model::Offset offset,
                                ReadOptions options) override;
  Task<Result<model::Offset>> OffsetForTimestamp(model::TopicPartition tp,
                                                 model::TimestampMs ts) override;
  std::optional<model::PartitionId> LocalPartition(std::string_view topic, int32_t partition_count,
                                                   uint64_t seed) const override;
  Task<Status> CommitOffsets(std::string group, std::vector<GroupOffset> offsets) override;
  Task<Result<std::vector<GroupOffset>>> FetchOffsets(
      std::string group, std::vector<model::TopicPartition> partitions) override;
  Task<Result<std::vector<std::string>>> ListGroups() override;
  Task<Status> DeleteGroup(std::string group) override;

  // Runs retention and compaction on every partition now (tests; normally periodic).
  Task<Status> RunHousekeeping();

 private:
  explicit EmbeddedLog(std::unique_ptr<EmbeddedLogImpl> impl);
  std::unique_ptr<EmbeddedLogImpl> impl_;
};

}  // namespace sluice::storage
