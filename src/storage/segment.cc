// Segment files: append, recovery by scanning and checking batches, index lookups, reads.
#include "storage/segment.h"

#include <fmt/format.h>

#include "base/crc32c.h"

namespace sluice::storage {
namespace bl = model::batch_layout;
using model::Offset;

namespace {
constexpr int64_t kMaxBatchBytes = 1LL << 30;
}

std::string Segment::LogPath(const std::string& dir, Offset base) {
  return fmt::format("{}/{:020d}.log", dir, base.value());
}
std::string Segment::IndexPath(const std::string& dir, Offset base) {
  return fmt::format("{}/{:020d}.index", dir, base.value());
}
std::string Segment::TimeIndexPath(const std::string& dir, Offset base) {
  return fmt::format("{}/{:020d}.timeindex", dir, base.value());
}

Segment::Segment(std::string dir, Offset base, int64_t index_interval,
                 std::shared_ptr<internal::File> log)
    : dir_(std::move(dir)),
      base_(base),
      index_interval_(index_interval),
      log_(std::move(log)),
      offset_index_(IndexPath(dir_, base), base.value()),
      time_index_(TimeIndexPath(dir_, base), base.value()),
      next_offset_(base) {}

Result<std::unique_ptr<Segment>> Segment::Create(const std::string& dir, Offset base,
                                                 int64_t index_interval_bytes) {
  auto f = internal::File::Open(LogPath(dir, base), true);
  if (!f.ok()) return f.status();
  SLUICE_RETURN_IF_ERROR((*f)->Truncate(0));
  auto seg = std::unique_ptr<Segment>(new Segment(dir, base, index_interval_bytes, *f));
  seg->offset_index_.Clear();
  seg->time_index_.Clear();
  SLUICE_RETURN_IF_ERROR(seg->FlushIndexes());
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::Adopt(const std::string& dir, Offset base,
                                                int64_t index_interval_bytes,
                                                const std::string& prepared) {
  SLUICE_RETURN_IF_ERROR(internal::Rename(prepared, LogPath(dir, base)));
  auto f = internal::File::Open(LogPath(dir, base), false);
  if (!f.ok()) return f.status();
  auto length = (*f)->Size();
  if (!length.ok()) return length.status();
  auto seg = std::unique_ptr<Segment>(new Segment(dir, base, index_interval_bytes, *f));
  seg->allocated_ = *length;
  seg->offset_index_.Clear();
  seg->time_index_.Clear();
  SLUICE_RETURN_IF_ERROR(seg->FlushIndexes());
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::Open(const std::string& dir, Offset base,
                                               int64_t index_interval_bytes) {
  auto f = internal::File::Open(LogPath(dir, base), false);
  if (!f.ok()) return f.status();
  auto seg = std::unique_ptr<Segment>(new Segment(dir, base, index_interval_bytes, *f));
  SLUICE_RETURN_IF_ERROR(seg->offset_index_.Load());
  SLUICE_RETURN_IF_ERROR(seg->time_index_.Load());
  return seg;
}

Result<BatchInfo> Segment::ReadBatchInfo(int64_t position) const {
  char h[bl::kHeaderSize];
  auto n = log_->ReadSomeAt(position, sizeof(h), h);
  if (!n.ok()) return n.status();
  if (*n < sizeof(h)) return DataLoss("{}: torn batch header at {}", log_->path(), position);
  BatchInfo b;
  b.position = position;
  b.size = model::BatchTotalSize(h);
  model::RecordBatchView v(std::string_view(h, sizeof(h)));
  b.base_offset = v.base_offset();
  b.last_offset = v.last_offset();
  b.max_timestamp = v.max_timestamp();
  if (b.size < static_cast<int64_t>(bl::kHeaderSize) || b.size > kMaxBatchBytes ||
      v.magic() != model::kMagicV2 || v.last_offset_delta() < 0) {
    return DataLoss("{}: bad batch header at {}", log_->path(), position);
  }
  return b;
}

void Segment::IndexBatch(const BatchInfo& b) {
  bytes_since_index_ += b.size;
  if (b.max_timestamp > max_timestamp_) max_timestamp_ = b.max_timestamp;
  if (bytes_since_index_ >= index_interval_) {
    offset_index_.Add({b.base_offset.value(), b.position});
    if (time_index_.empty() || max_timestamp_ > time_index_.back().timestamp) {
      time_index_.Add({max_timestamp_, b.base_offset.value()});
    }
    bytes_since_index_ = 0;
  }
}

Result<bool> Segment::Recover(int64_t verified_from) {
  auto file_size = log_->Size();
  if (!file_size.ok()) return file_size.status();
  // Start of the trusted walk: the last index entry before verified_from, when indexes are sane.
  int64_t walk_from = 0;
  if (offset_index_.sane() && time_index_.sane()) {
    offset_index_.TruncateBackWhile([&](const internal::OffsetEntry& e) {
      return e.position >= verified_from || e.position >= *file_size;
    });
    if (!offset_index_.empty()) walk_from = offset_index_.back().position;
    const int64_t walk_offset = offset_index_.empty() ? base_.value() : offset_index_.back().offset;
    time_index_.TruncateBackWhile(
        [&](const internal::TimeEntry& e) { return e.offset >= walk_offset; });
    // Entries at walk_from are re-added by the walk.
    offset_index_.TruncateBackWhile(
        [&](const internal::OffsetEntry& e) { return e.position >= walk_from; });
    max_timestamp_ = time_index_.empty() ? model::kNoTimestamp : time_index_.back().timestamp;
  } else {
    offset_index_.Clear();
    time_index_.Clear();
    max_timestamp_ = model::kNoTimestamp;
    verified_from = std::min<int64_t>(verified_from, *file_size);
  }
  bytes_since_index_ = index_interval_;  // index the first batch of the walk
  next_offset_ = base_;
  int64_t pos = walk_from;
  bool truncated = false;
  std::string buf;
  while (pos < *file_size) {
    auto info = ReadBatchInfo(pos);
    bool bad = !info.ok() || pos + info->size > *file_size || info->base_offset < next_offset_;
    if (!bad && pos >= verified_from) {
      buf.resize(static_cast<size_t>(info->size));
      Status st = log_->ReadAt(pos, buf.size(), buf.data());
      bad = !st.ok() || !model::RecordBatchView(buf).VerifyHeaderAndCrc().ok();
    }
    if (bad) {
      if (pos < verified_from) {
        return DataLoss("{}: batch at {} below the recovery point is damaged", log_->path(), pos);
      }
      SLUICE_RETURN_IF_ERROR(log_->Truncate(pos));
      truncated = true;
      break;
    }
    IndexBatch(*info);
    next_offset_ = info->last_offset + 1;
    pos += info->size;
  }
  size_ = pos;
  allocated_ = 0;  // a zero-filled tail ends the walk like a torn batch and is cut off
  offset_index_.TruncateBackWhile([](const internal::OffsetEntry&) { return false; });
  // Rewrite the index files to match what was found.
  SLUICE_RETURN_IF_ERROR(offset_index_.Flush());
  SLUICE_RETURN_IF_ERROR(time_index_.Flush());
  return truncated;
}

Status Segment::Append(std::string_view batch) {
  model::RecordBatchView v(batch);
  SLUICE_RETURN_IF_ERROR(log_->WriteAt(size_, batch));
  BatchInfo info{size_, static_cast<int64_t>(batch.size()), v.base_offset(), v.last_offset(),
                 v.max_timestamp()};
  IndexBatch(info);
  size_ += static_cast<int64_t>(batch.size());
  next_offset_ = info.last_offset + 1;
  return Status::Ok();
}

Status Segment::AppendBatches(std::span<const std::string> batches) {
  SLUICE_RETURN_IF_ERROR(log_->WriteVAt(size_, batches));
  for (const std::string& batch : batches) {
    model::RecordBatchView v(batch);
    BatchInfo info{size_, static_cast<int64_t>(batch.size()), v.base_offset(), v.last_offset(),
                   v.max_timestamp()};
    IndexBatch(info);
    size_ += static_cast<int64_t>(batch.size());
    next_offset_ = info.last_offset + 1;
  }
  return Status::Ok();
}

Status Segment::TruncateTo(int64_t size) {
  SLUICE_RETURN_IF_ERROR(log_->Truncate(size));
  size_ = size;
  allocated_ = 0;
  offset_index_.TruncateBackWhile(
      [&](const internal::OffsetEntry& e) { return e.position >= size; });
  return Status::Ok();
}

Result<int64_t> Segment::FindPosition(Offset offset) const {
  const auto* e = offset_index_.Floor(offset.value());
  int64_t pos = e ? e->position : 0;
  while (pos < size_) {
    auto info = ReadBatchInfo(pos);
    if (!info.ok()) return info.status();
    if (info->last_offset >= offset) return pos;
    pos += info->size;
  }
  return size_;
}

Result<std::optional<Offset>> Segment::FindOffsetForTimestamp(model::TimestampMs ts) const {
  if (empty() || max_timestamp_ < ts) return std::optional<Offset>();
  const auto* te = time_index_.Below(ts);
  int64_t pos = 0;
  if (te) {
    auto p = FindPosition(Offset(te->offset));
    if (!p.ok()) return p.status();
    pos = *p;
  }
  std::string buf;
  while (pos < size_) {
    auto info = ReadBatchInfo(pos);
    if (!info.ok()) return info.status();
    if (info->max_timestamp >= ts) {
      buf.resize(static_cast<size_t>(info->size));
      SLUICE_RETURN_IF_ERROR(log_->ReadAt(pos, buf.size(), buf.data()));
      std::optional<Offset> found;
      Status st = model::RecordBatchView(buf).ForEachRecord([&](const model::RecordView& r) {
        if (!found && r.timestamp >= ts) found = r.offset;
      });
      SLUICE_RETURN_IF_ERROR(st);
      if (found) return found;
    }
    pos += info->size;
  }
  return std::optional<Offset>();
}

Status Segment::ReadBatches(int64_t position, Offset end_offset, int64_t max_bytes,
                            internal::ReadBuffers& buffers, std::vector<OwnedBatch>* out,
                            int64_t* bytes_read) const {
  const bool must_return_one = out->empty();
  int64_t want = std::min(std::max<int64_t>(max_bytes, bl::kHeaderSize), size_ - position);
  if (want <= 0) return Status::Ok();
  // The first batch may be larger than max_bytes: then read exactly that batch.
  if (must_return_one) {
    SLUICE_ASSIGN_OR_RETURN(BatchInfo first, ReadBatchInfo(position));
    if (first.base_offset >= end_offset) return Status::Ok();
    if (first.size > want) want = first.size;
  }
  std::shared_ptr<char[]> buf = buffers.Get(static_cast<size_t>(want));
  SLUICE_RETURN_IF_ERROR(log_->ReadAt(position, static_cast<size_t>(want), buf.get()));
  size_t p = 0;
  const size_t n = static_cast<size_t>(want);
  while (n - p >= bl::kHeaderSize) {
    const int64_t total = model::BatchTotalSize(buf.get() + p);
    if (total < static_cast<int64_t>(bl::kHeaderSize) || total > kMaxBatchBytes) {
      return DataLoss("{}: bad batch length at {}", log_->path(),
                      position + static_cast<int64_t>(p));
    }
    if (p + static_cast<size_t>(total) > n) break;
    std::string_view bytes(buf.get() + p, static_cast<size_t>(total));
    model::RecordBatchView v(bytes);
    if (v.magic() != model::kMagicV2) {
      return DataLoss("{}: bad batch magic at {}", log_->path(),
                      position + static_cast<int64_t>(p));
    }
    if (v.base_offset() >= end_offset) break;
    out->emplace_back(buf, bytes);
    *bytes_read += total;
    p += static_cast<size_t>(total);
  }
  return Status::Ok();
}

Status Segment::FlushIndexes() {
  SLUICE_RETURN_IF_ERROR(offset_index_.Flush());
  return time_index_.Flush();
}

Status Segment::SyncIndexes() {
  SLUICE_RETURN_IF_ERROR(offset_index_.Sync());
  return time_index_.Sync();
}

Status Segment::TrimPreallocation() {
  if (allocated() == 0) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(log_->Truncate(size_));
  SLUICE_RETURN_IF_ERROR(log_->DataSync());
  allocated_ = 0;
  return Status::Ok();
}

Status Segment::Seal() {
  SLUICE_RETURN_IF_ERROR(TrimPreallocation());
  if (!empty() && (time_index_.empty() || max_timestamp_ > time_index_.back().timestamp)) {
    // Final entry so the segment's max timestamp survives a restart.
    auto last = offset_index_.empty() ? base_.value() : offset_index_.back().offset;
    time_index_.Add({max_timestamp_, last});
  }
  return SyncIndexes();
}

Status Segment::Delete() {
  SLUICE_RETURN_IF_ERROR(internal::RemoveFile(LogPath(dir_, base_)));
  SLUICE_RETURN_IF_ERROR(internal::RemoveFile(IndexPath(dir_, base_)));
  return internal::RemoveFile(TimeIndexPath(dir_, base_));
}

Result<std::string> Segment::Retire() {
  const std::string to = fmt::format("{}/{:020d}.deleting", dir_, base_.value());
  SLUICE_RETURN_IF_ERROR(Recycle(to));
  return to;
}

Status Segment::Recycle(const std::string& to) {
  // The log file first, as in Delete: a crash in between leaves only orphaned indexes.
  SLUICE_RETURN_IF_ERROR(internal::Rename(LogPath(dir_, base_), to));
  SLUICE_RETURN_IF_ERROR(internal::RemoveFile(IndexPath(dir_, base_)));
  return internal::RemoveFile(TimeIndexPath(dir_, base_));
}

}  // namespace sluice::storage
