// RecoveryPointFile: a partition's recovery point — the (segment base, byte position) up to which
// its log is known durable — kept in a file that is overwritten in place.
//
// The file has two 512-byte slots, each holding "v1 <segment base> <byte position> <crc32c of the
// preceding text>\n" and zero padding. Writes alternate between the slots, so a write torn by a
// crash damages at most the slot being written and the other still holds the previous point.
// Readers take the valid slot with the larger point (points only advance). An update is one
// pwrite and one fdatasync of blocks the file already has: no new file, no rename, no directory
// sync, and no freed blocks (which the disk would be told to discard). The file of earlier
// versions, one text line, reads as slot 0 and is rewritten in the two-slot shape on the first
// update.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/status.h"

namespace sluice::storage::internal {

class File;

class RecoveryPointFile {
 public:
  static constexpr size_t kSlotBytes = 512;

  explicit RecoveryPointFile(std::string path);
  ~RecoveryPointFile();

  // The latest valid point in the file at path; nullopt when it is missing or no slot is valid.
  static std::optional<std::pair<int64_t, int64_t>> Read(const std::string& path);
  // The point stored in one slot's bytes (or the old one-line file); nullopt when damaged.
  static std::optional<std::pair<int64_t, int64_t>> DecodeSlot(std::string_view slot);
  static std::string EncodeSlot(int64_t segment, int64_t position);

  // Stores the point durably. Safe to call from any thread.
  Status Write(int64_t segment, int64_t position);

 private:
  Status Create(int64_t segment, int64_t position);

  std::mutex mu_;
  const std::string path_;
  std::shared_ptr<File> file_;  // open once the file has its two-slot shape
  size_t next_slot_ = 0;
};

}  // namespace sluice::storage::internal
