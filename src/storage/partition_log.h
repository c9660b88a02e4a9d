// PartitionLog: one partition of a topic — its segments, the append path with group commit,
// reads, timestamp lookups, retention, compaction and crash recovery.
// Owned by EmbeddedLog's per-shard table (shared_ptr so in-flight calls keep it alive) and
// used only on its owner shard. Blocking I/O (fdatasync, file creation, compaction rewrites)
// runs on the blocking pool.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "metrics/registry.h"
#include "runtime/event.h"
#include "runtime/notifier.h"
#include "runtime/shards.h"
#include "storage/fault_injector.h"
#include "storage/internal/pacer.h"
#include "storage/internal/reaper.h"
#include "storage/internal/recovery_point.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace sluice::storage {

struct PartitionStats {
  uint64_t appended_batches = 0;
  uint64_t appended_records = 0;
  uint64_t appended_bytes = 0;
  uint64_t fsyncs = 0;
  int64_t fsync_ns_total = 0;
  uint64_t truncated_bytes_on_recovery = 0;
  uint64_t segments_deleted = 0;
  uint64_t compactions = 0;
  uint64_t segments_preallocated = 0;    // segments that started on a zero-filled file
  uint64_t segments_recycled = 0;        // ... of which the file was a retained-out segment's
  uint64_t preallocation_failures = 0;  // zero-fills that failed (retried at the next roll)
};

// Invariants:
//  1. segments_ is non-empty; the last one is the active segment; bases increase.
//  2. durable_offset_ <= next_offset(); under durability `always` readers see only offsets
//     below durable_offset_ (nothing a crash could take back is ever read or acked).
//  3. Once write_error_ is set the partition refuses appends until reopened.
class PartitionLog : public std::enable_shared_from_this<PartitionLog> {
 public:
  // Shared, thread-safe instruments (null when metrics are off).
  struct Probe {
    metrics::Counter* appended_records = nullptr;
    metrics::Counter* appended_bytes = nullptr;
    metrics::Histogram* fsync_seconds = nullptr;
    metrics::Counter* unlinked_at_once = nullptr;  // the reaper's backlog was full
  };
  struct Deps {
    runtime::BlockingPool* blocking;
    const Clock* clock;
    Probe probe;
    FaultInjector* faults = nullptr;  // tests only
    internal::Pacer* preallocation_pacer = nullptr;  // shared budget for zero-filling; may be null
    bool recycle_segments = true;  // see RecycledPath
    internal::Reaper* reaper = nullptr;  // null: removed and replaced files are unlinked at once
  };

  // Opens the partition in `dir`, creating it when `create`. Recovers after an unclean stop:
  // the tail after the recovery point is verified by CRC and torn or corrupt batches are
  // truncated; missing or damaged indexes are rebuilt. Blocking: call on a blocking thread or
  // at start-up.
  static Result<std::shared_ptr<PartitionLog>> Open(std::string dir, model::TopicPartition tp,
                                                    TopicConfig config, Deps deps, bool create);

  const model::TopicPartition& tp() const { return tp_; }
  const TopicConfig& config() const { return config_; }
  // Takes effect at once; a prepared next-segment file is deleted when preallocate goes off.
  void SetConfig(const TopicConfig& config);

  // Appends one encoded batch (base offset 0; stamped here). Resolves per the durability
  // policy. Errors: kUnavailable when read-only or closed.
  Task<Result<AppendResult>> Append(std::string batch);
  Task<Result<ReadResult>> Read(model::Offset offset, ReadOptions options);
  Result<model::Offset> OffsetForTimestamp(model::TimestampMs ts) const;
  PartitionInfo Info() const;

  model::Offset next_offset() const { return segments_.rbegin()->second->next_offset(); }
  model::Offset log_start_offset() const { return segments_.begin()->second->base_offset(); }
  model::Offset high_watermark() const;
  const PartitionStats& stats() const { return stats_; }
  const Status& write_error() const { return write_error_; }

  // Makes everything appended so far durable.
  Task<Status> Flush();
  // Records a recovery point at the durable position (bounds work after a crash).
  Task<Status> Checkpoint();
  // Applies retention (time, bytes) and, for compacted topics, compaction. `force` compacts
  // even when no new segment was sealed since the last run.
  Task<Status> Housekeeping(bool force);
  // Flushes, seals and marks a clean shutdown (clean=true) or just stops (clean=false).
  // Wakes every waiter; later calls fail with kUnavailable.
  Task<Status> Close(bool clean);
  // Called before Close when the topic is deleted: writes refused because the partition closed
  // then answer kNotFound (the topic is gone) rather than kUnavailable (retry later).
  void MarkDeleted() { deleted_ = true; }

 private:
  PartitionLog(std::string dir, model::TopicPartition tp, TopicConfig config, Deps deps);
  // The error for a write refused because the partition is closed (see MarkDeleted).
  Status ClosedError() const;
  Status Recover(bool create);
  // Whether RollIfNeeded(incoming) has anything to do (a roll running, or one due).
  bool NeedsRoll(size_t incoming) const;
  Task<Status> RollIfNeeded(size_t incoming);
  // Writes every pending batch with one write and wakes their appenders (see pending_).
  void WritePending();
  // Keeps the zero-filled pages just ahead of the active segment's tail in the page cache (see
  // the .cc): a read on the pool instead of one inside the shard's next write.
  void PrefetchAhead(const asio::any_io_executor& ex);
  Task<Status> WaitDurable(model::Offset target);
  // Starts a group commit (RunFlush) unless kMaxFlushesInFlight are running.
  void StartFlush(asio::any_io_executor ex);
  Task<void> RunFlush();
  void ScheduleIntervalFlush(asio::any_io_executor ex);
  Task<Status> ApplyRetention();
  Task<Status> Compact();
  Segment& active() { return *segments_.rbegin()->second; }
  const Segment& active() const { return *segments_.rbegin()->second; }
  std::string RecoveryPointPath() const { return dir_ + "/recovery-point"; }
  std::string CleanMarkerPath() const { return dir_ + "/clean-shutdown"; }
  // Preallocation (topic config `preallocate`): the next segment's file is zero-filled in the
  // background, paced, as PreparingPath, then renamed to PreparedPath once it is whole and
  // synced. The partition rolls onto it when the active segment is full, or at once when the
  // active segment is not preallocated itself. Writes into zeros already on disk are overwrites
  // that need no journal commit, so an fdatasync costs about half as much on ext4.
  std::string PreparingPath() const { return dir_ + "/next-segment.tmp"; }
  std::string PreparedPath() const { return dir_ + "/next-segment.zeros"; }
  // Segment recycling (with `preallocate`): retention keeps the log file of the oldest segment
  // it removes under this name instead of unlinking it, and the next zero-fill writes its zeros
  // over that file rather than into a new one, as PostgreSQL recycles WAL files. The old
  // batches are overwritten before the file can become a segment, so nothing stale is ever
  // read or recovered. Rewriting blocks the file already owns adds almost nothing to the
  // durable topic's fdatasyncs; filling new blocks made their p99 ~20% worse on this machine's
  // disk (docs/benchmarks.md). Retention runs at the start of every fill, so in a steady state
  // every fill reuses the segment that the roll before it pushed out of retention. At most one
  // such file per partition.
  std::string RecycledPath() const { return dir_ + "/recycled-segment"; }
  void StartPreallocation(asio::any_io_executor ex);
  Task<void> FillNextSegment();
  bool WantsPreparedSegment() const {
    return config_.preallocate && prealloc_ == Prealloc::kReady && active().allocated() == 0;
  }

  std::string dir_;
  model::TopicPartition tp_;
  TopicConfig config_;
  Deps deps_;
  std::map<int64_t, std::shared_ptr<Segment>> segments_;

  // Group commit state.
  model::Offset durable_offset_;
  int64_t durable_segment_ = 0;   // base of the segment holding the durable end
  int64_t durable_position_ = 0;  // byte position of the durable end in that segment
  static constexpr int kMaxFlushesInFlight = 2;
  static constexpr int64_t kWriteWarningIntervalMs = 10'000;
  int64_t last_write_warning_ms_ = INT64_MIN / 2;  // last failed write that was logged
  int flushes_in_flight_ = 0;
  model::Offset flush_target_started_;  // highest next_offset() a started flush covers
  bool interval_flush_scheduled_ = false;
  std::vector<std::shared_ptr<internal::File>> unsynced_files_;  // sealed, not yet fdatasynced
  runtime::Notifier flush_done_;
  runtime::Event data_arrived_;

  // Coalesced writes: the batches appended during one turn of the shard's event loop get their
  // offsets at once and wait in pending_ (moved in, not copied); the first of them posts
  // WritePending, which runs after the turn's other handlers and writes them all with one
  // pwritev. Readers see them only once written (next_offset() is the segment's).
  struct PendingBatch {
    int32_t records = 0;
    int64_t bytes = 0;
  };
  std::vector<std::string> pending_;
  int64_t pending_bytes_ = 0;
  std::vector<PendingBatch> pending_batches_;
  model::Offset pending_next_;     // next offset to assign while pending_ is not empty
  bool write_posted_ = false;
  uint64_t write_gen_ = 0;         // WritePending calls that wrote something
  std::map<uint64_t, Status> failed_writes_;  // the most recent failed generations
  runtime::Notifier written_;

  enum class Prealloc : uint8_t { kNone, kFilling, kReady, kFailed };
  Prealloc prealloc_ = Prealloc::kNone;
  int64_t prealloc_bytes_ = 0;  // zeros written to the next segment's file so far
  bool prepared_recycled_ = false;  // the file being filled (or ready) was RecycledPath
  bool active_recycled_ = false;    // the active segment started on a recycled file
  bool recycled_ready_ = false;     // RecycledPath holds a file for the next fill
  bool recycling_ = false;          // a retention pass is moving a file to RecycledPath
  // PrefetchAhead: the segment (base offset) and the tail position it last asked from.
  int64_t prefetch_segment_ = -1;
  int64_t prefetched_from_ = 0;
  bool prefetching_ = false;

  bool rolling_ = false;
  runtime::Event roll_done_;
  bool housekeeping_running_ = false;
  std::shared_ptr<internal::RecoveryPointFile> recovery_point_;  // shared with pool tasks
  int64_t checkpointed_segment_ = -1;
  int64_t checkpointed_position_ = -1;
  uint64_t sealed_since_compaction_ = 0;

  internal::ReadBuffers read_buffers_;
  Status write_error_;
  bool closed_ = false;
  bool deleted_ = false;  // see MarkDeleted
  PartitionStats stats_;
};

}  // namespace sluice::storage
