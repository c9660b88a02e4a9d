// Compaction of sealed segments: keeps the last record per key (and tombstones until
// delete_retention_ms has passed), preserving offsets. Runs on the blocking pool on immutable
// sealed segments; the owner shard swaps the results in.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/internal/reaper.h"
#include "storage/segment.h"

namespace sluice::storage::internal {

struct CompactionInput {
  std::string dir;
  std::vector<std::shared_ptr<Segment>> sealed;  // oldest first; all but the active segment
  std::shared_ptr<Segment> active;               // read (up to active_end) for newer keys
  int64_t active_end = 0;
  int64_t now_ms = 0;
  int64_t delete_retention_ms = 0;
  int64_t index_interval_bytes = 4096;
  // Not null: each replaced file is kept under a second name (<base>.replaced.deleting, a hard
  // link made before the rename) and handed to the reaper, rather than freed at the rename.
  Reaper* reaper = nullptr;
};

struct CompactionResult {
  std::vector<std::shared_ptr<Segment>> replaced;  // rewritten segments, reopened
  int64_t records_removed = 0;
};

// Crash safety: each rewritten segment is written to <base>.log.cleaned and fsynced; its
// index files are deleted; then it is renamed over <base>.log (atomic). A crash leaves either
// the old or the new file, and missing indexes are rebuilt on open. A kept replaced file is a
// second link to the old file until the rename, so a crash before it loses nothing when the
// start deletes the `.deleting` name.
Result<CompactionResult> CompactSegments(const CompactionInput& in);

}  // namespace sluice::storage::internal
