// Segment: one file of consecutive RecordBatch v2 batches plus its sparse offset and time
// indexes. Formats: docs/formats/segment.md. Owned by one PartitionLog and used only on the
// partition's owner shard; the log File is shared with blocking-pool flushes.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "model/record_batch.h"
#include "storage/internal/file.h"
#include "storage/internal/index_file.h"
#include "storage/internal/read_buffers.h"
#include "storage/log.h"

namespace sluice::storage {

// Summary of one batch read from its header.
struct BatchInfo {
  int64_t position = 0;
  int64_t size = 0;
  model::Offset base_offset;
  model::Offset last_offset;
  model::TimestampMs max_timestamp = model::kNoTimestamp;
};

// Invariants:
//  1. size_ is the end of the last whole batch; batches lie back to back from position 0.
//  2. Batch base offsets increase; next_offset_ is one past the last batch's last offset.
//  3. Index entries point at batch starts below size_, in increasing order.
//  4. allocated_ is 0, or the file's length when it was adopted zero-filled (preallocated):
//     bytes from size_ to allocated_ are zeros. Only the active segment has such a tail; Seal
//     trims it durably, so sealed segments end at their last batch on disk too.
class Segment {
 public:
  static std::string LogPath(const std::string& dir, model::Offset base);
  static std::string IndexPath(const std::string& dir, model::Offset base);
  static std::string TimeIndexPath(const std::string& dir, model::Offset base);

  // Creates empty files for a new segment.
  static Result<std::unique_ptr<Segment>> Create(const std::string& dir, model::Offset base,
                                                 int64_t index_interval_bytes);
  // Makes the zero-filled file at `prepared` (see PartitionLog's preallocation) the log file
  // of a new, empty segment: renames it into place (replacing an empty segment's file of the
  // same base) and writes empty indexes. The caller syncs the directory.
  static Result<std::unique_ptr<Segment>> Adopt(const std::string& dir, model::Offset base,
                                                int64_t index_interval_bytes,
                                                const std::string& prepared);
  // Opens an existing segment and loads (but does not trust) its indexes; call Recover next.
  static Result<std::unique_ptr<Segment>> Open(const std::string& dir, model::Offset base,
                                               int64_t index_interval_bytes);

  // Establishes invariants after Open. Batches before `verified_from` are trusted when the
  // indexes are sane (their headers are walked from the last index entry); from there on
  // every batch is checked (framing, CRC, offsets) and the file is truncated at the first
  // bad one. Returns true when something was truncated.
  Result<bool> Recover(int64_t verified_from);

  model::Offset base_offset() const { return base_; }
  model::Offset next_offset() const { return next_offset_; }
  int64_t size() const { return size_; }
  model::TimestampMs max_timestamp() const { return max_timestamp_; }
  bool empty() const { return size_ == 0; }
  // Length of the zero-filled file this segment was adopted with; 0 when not preallocated.
  int64_t allocated() const { return allocated_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }
  std::shared_ptr<internal::File> log_file() const { return log_; }
  int64_t created_ms() const { return created_ms_; }
  void set_created_ms(int64_t ms) { created_ms_ = ms; }

  // Writes one encoded batch (base offset already stamped) at the end.
  Status Append(std::string_view batch);
  // Writes several whole encoded batches (base offsets stamped), in order, with one pwritev.
  Status AppendBatches(std::span<const std::string> batches);
  // Undoes a failed append: truncates back to `size`.
  Status TruncateTo(int64_t size);

  // Position of the batch holding `offset`, or of the first batch after it; size() if none.
  Result<int64_t> FindPosition(model::Offset offset) const;
  // Offset of the first record whose timestamp is >= ts; nullopt when none is in this segment.
  Result<std::optional<model::Offset>> FindOffsetForTimestamp(model::TimestampMs ts) const;
  // Reads whole batches starting at `position`, stopping before `end_offset`, after max_bytes
  // (at least one batch) or at the end of the segment, with one pread into a buffer from
  // `buffers`; the batches are views into it. Checks framing, not CRCs (readers do).
  Status ReadBatches(int64_t position, model::Offset end_offset, int64_t max_bytes,
                     internal::ReadBuffers& buffers, std::vector<OwnedBatch>* out,
                     int64_t* bytes_read) const;
  // Header of the batch at position.
  Result<BatchInfo> ReadBatchInfo(int64_t position) const;

  // Writes pending index entries (not synced).
  Status FlushIndexes();
  // Writes and fsyncs index entries.
  Status SyncIndexes();
  // Called when the segment stops being the active one: trims a preallocated tail (truncate +
  // fdatasync), final time-index entry, index fsync.
  Status Seal();
  // Cuts the unused zero-filled tail off the file and makes that durable (clean shutdown and
  // Seal), so recovery never meets zeros where it trusts batches.
  Status TrimPreallocation();
  // Deletes the segment's files.
  Status Delete();
  // Deletes the segment's indexes and renames its log file to `to`, for reuse as a later
  // segment's file (see PartitionLog::RecycledPath). The caller owns what is in it.
  Status Recycle(const std::string& to);
  // Renames the log file to `<base>.deleting` (returned) and deletes the indexes: the segment is
  // gone from the log, its file left for the reaper (internal::Reaper).
  Result<std::string> Retire();

 private:
  Segment(std::string dir, model::Offset base, int64_t index_interval,
          std::shared_ptr<internal::File> log);
  void IndexBatch(const BatchInfo& b);

  std::string dir_;
  model::Offset base_;
  int64_t index_interval_;
  std::shared_ptr<internal::File> log_;
  internal::OffsetIndex offset_index_;
  internal::TimeIndex time_index_;
  int64_t size_ = 0;
  // Written on the blocking pool by Seal/TrimPreallocation while the owner shard may read it.
  std::atomic<int64_t> allocated_ = 0;
  model::Offset next_offset_;
  model::TimestampMs max_timestamp_ = model::kNoTimestamp;
  int64_t bytes_since_index_ = 0;
  int64_t created_ms_ = 0;
};

}  // namespace sluice::storage
