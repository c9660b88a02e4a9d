// Key-map building and segment rewriting for compacted topics.
#include "storage/internal/compactor.h"

#include <fmt/format.h>
#include <unistd.h>

#include <unordered_map>

namespace sluice::storage::internal {
using model::Offset;

namespace {

// Calls fn(batch view) for each batch of seg below `end` (byte position).
template <typename Fn>
Status ForEachBatch(const Segment& seg, int64_t end, Fn fn) {
  std::string buf;
  int64_t pos = 0;
  while (pos < end) {
    SLUICE_ASSIGN_OR_RETURN(BatchInfo info, seg.ReadBatchInfo(pos));
    buf.resize(static_cast<size_t>(info.size));
    SLUICE_RETURN_IF_ERROR(seg.log_file()->ReadAt(pos, buf.size(), buf.data()));
    model::RecordBatchView v(buf);
    SLUICE_RETURN_IF_ERROR(v.VerifyHeaderAndCrc());
    SLUICE_RETURN_IF_ERROR(fn(v));
    pos += info.size;
  }
  return Status::Ok();
}

}  // namespace

Result<CompactionResult> CompactSegments(const CompactionInput& in) {
  // 1. Latest offset of every key, over sealed segments and the active one.
  std::unordered_map<std::string, int64_t> latest;
  auto index_keys = [&](const model::RecordBatchView& v) -> Status {
    return v.ForEachRecord([&](const model::RecordView& r) {
      if (r.key) latest[std::string(*r.key)] = r.offset.value();
    });
  };
  for (const auto& seg : in.sealed)
    SLUICE_RETURN_IF_ERROR(ForEachBatch(*seg, seg->size(), index_keys));
  SLUICE_RETURN_IF_ERROR(ForEachBatch(*in.active, in.active_end, index_keys));

  CompactionResult result;
  for (const auto& seg : in.sealed) {
    std::string out;
    bool changed = false;
    Status st = ForEachBatch(*seg, seg->size(), [&](const model::RecordBatchView& v) -> Status {
      model::RecordBatchBuilder b(0);
      int32_t kept = 0;
      Status inner = v.ForEachRecord([&](const model::RecordView& r) {
        bool keep = true;
        if (r.key) {
          auto it = latest.find(std::string(*r.key));
          keep = it != latest.end() && it->second == r.offset.value();
          if (keep && !r.value && in.now_ms - r.timestamp > in.delete_retention_ms) keep = false;
        }
        if (keep) {
          b.AddWithDelta(static_cast<int32_t>(r.offset - v.base_offset()), r);
          ++kept;
        }
      });
      SLUICE_RETURN_IF_ERROR(inner);
      if (kept == v.record_count()) {
        out.append(v.bytes());
        return Status::Ok();
      }
      changed = true;
      result.records_removed += v.record_count() - kept;
      if (kept == 0) return Status::Ok();
      std::string nb = b.Finish(v.last_offset_delta());
      model::SetBaseOffset(nb, v.base_offset());
      out.append(nb);
      return Status::Ok();
    });
    SLUICE_RETURN_IF_ERROR(st);
    if (!changed) continue;
    const Offset base = seg->base_offset();
    const std::string log_path = Segment::LogPath(in.dir, base);
    const std::string cleaned = log_path + ".cleaned";
    {
      SLUICE_ASSIGN_OR_RETURN(auto f, File::Open(cleaned, true));
      SLUICE_RETURN_IF_ERROR(f->Truncate(0));
      SLUICE_RETURN_IF_ERROR(f->WriteAt(0, out));
      SLUICE_RETURN_IF_ERROR(f->DataSync());
    }
    SLUICE_RETURN_IF_ERROR(RemoveFile(Segment::IndexPath(in.dir, base)));
    SLUICE_RETURN_IF_ERROR(RemoveFile(Segment::TimeIndexPath(in.dir, base)));
    // The link fails when an earlier replaced file of this segment is still queued: then this
    // one is freed at the rename, as it is without a reaper. Queued after the rename, when the
    // link is the old file's only name (the reaper only unlinks a file with two).
    std::string kept;
    if (in.reaper && in.reaper->Admits(seg->size())) {
      kept = fmt::format("{}/{:020d}.replaced.deleting", in.dir, base.value());
      if (::link(log_path.c_str(), kept.c_str()) != 0) kept.clear();
    }
    SLUICE_RETURN_IF_ERROR(Rename(cleaned, log_path));
    if (!kept.empty()) in.reaper->Add(kept, seg->size());
    SLUICE_RETURN_IF_ERROR(SyncDir(in.dir));
    SLUICE_ASSIGN_OR_RETURN(auto reopened, Segment::Open(in.dir, base, in.index_interval_bytes));
    auto rec = reopened->Recover(INT64_MAX);
    if (!rec.ok()) return rec.status();
    SLUICE_RETURN_IF_ERROR(reopened->Seal());
    result.replaced.push_back(std::shared_ptr<Segment>(std::move(reopened)));
  }
  return result;
}

}  // namespace sluice::storage::internal
