#include "storage/internal/recovery_point.h"

#include <cstdio>

#include <fmt/format.h>

#include "base/crc32c.h"
#include "storage/internal/file.h"

namespace sluice::storage::internal {

RecoveryPointFile::RecoveryPointFile(std::string path) : path_(std::move(path)) {}
RecoveryPointFile::~RecoveryPointFile() = default;

std::string RecoveryPointFile::EncodeSlot(int64_t segment, int64_t position) {
  std::string body = fmt::format("v1 {} {}", segment, position);
  std::string slot = fmt::format("{} {}\n", body, crc32c::Value(body));
  slot.resize(kSlotBytes, '\0');
  return slot;
}

std::optional<std::pair<int64_t, int64_t>> RecoveryPointFile::DecodeSlot(std::string_view slot) {
  const size_t end = slot.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  const std::string line(slot.substr(0, end));
  int64_t seg = 0, pos = 0;
  uint32_t crc = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "v1 %ld %ld %u%n", &seg, &pos, &crc, &used) != 3 ||
      static_cast<size_t>(used) != line.size()) {
    return std::nullopt;
  }
  const std::string body = fmt::format("v1 {} {}", seg, pos);
  if (crc32c::Value(body) != crc || seg < 0 || pos < 0) return std::nullopt;
  return std::make_pair(seg, pos);
}

std::optional<std::pair<int64_t, int64_t>> RecoveryPointFile::Read(const std::string& path) {
  if (!Exists(path)) return std::nullopt;
  auto content = ReadSmallFile(path);
  if (!content.ok()) return std::nullopt;
  std::string_view all = *content;
  std::optional<std::pair<int64_t, int64_t>> best;
  for (size_t at = 0; at < all.size() && at < 2 * kSlotBytes; at += kSlotBytes) {
    auto p = DecodeSlot(all.substr(at, kSlotBytes));
    if (p && (!best || *p > *best)) best = p;
  }
  return best;
}

Status RecoveryPointFile::Create(int64_t segment, int64_t position) {
  std::string content = EncodeSlot(segment, position);
  content.resize(2 * kSlotBytes, '\0');
  SLUICE_RETURN_IF_ERROR(WriteFileAtomic(path_, content));  // synced, and its directory
  auto f = File::Open(path_, false);
  if (!f.ok()) return f.status();
  file_ = *f;
  next_slot_ = 1;
  return Status::Ok();
}

Status RecoveryPointFile::Write(int64_t segment, int64_t position) {
  std::lock_guard lock(mu_);
  if (!file_) {
    // First write of this run: reuse a two-slot file, writing over the slot that does not hold
    // the newest valid point; anything else (missing, old one-line shape) is created afresh.
    std::shared_ptr<File> f;
    if (Exists(path_)) {
      auto opened = File::Open(path_, false);
      if (opened.ok()) f = *opened;
    }
    auto size = f ? f->Size() : Result<int64_t>(int64_t{0});
    if (!f || !size.ok() || *size != static_cast<int64_t>(2 * kSlotBytes)) {
      return Create(segment, position);
    }
    std::string both(2 * kSlotBytes, '\0');
    if (!f->ReadAt(0, both.size(), both.data()).ok()) return Create(segment, position);
    auto a = DecodeSlot(std::string_view(both).substr(0, kSlotBytes));
    auto b = DecodeSlot(std::string_view(both).substr(kSlotBytes));
    next_slot_ = (a && (!b || *a > *b)) ? 1 : 0;
    file_ = std::move(f);
  }
  const std::string slot = EncodeSlot(segment, position);
  Status st = file_->WriteAt(static_cast<int64_t>(next_slot_ * kSlotBytes), slot);
  if (st.ok()) st = file_->DataSync();
  if (!st.ok()) {
    file_.reset();  // the next write starts over from what the file holds
    return st;
  }
  next_slot_ ^= 1;
  return Status::Ok();
}

}  // namespace sluice::storage::internal
