// ReadResult::ForEachRecord: trims whole batches to exactly the records a reader asked for.
#include "storage/log.h"

namespace sluice::storage {

Status ReadResult::ForEachRecord(const std::function<void(const model::RecordView&)>& fn) const {
  int32_t emitted = 0;
  for (const auto& b : batches) {
    if (emitted >= max_records) break;
    SLUICE_RETURN_IF_ERROR(b.view().VerifyHeaderAndCrc());
    Status st = b.view().ForEachRecord([&](const model::RecordView& r) {
      if (r.offset < requested || emitted >= max_records) return;
      ++emitted;
      fn(r);
    });
    SLUICE_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

}  // namespace sluice::storage
