// IndexFile: a sparse, append-only index kept in memory and mirrored to a file of fixed-size
// big-endian entries. Used for the offset index (.index) and the time index (.timeindex);
// formats in docs/formats/segment.md. Owned by one Segment, touched only on its owner shard
// (files are written on flush, so appends cost no syscall).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/endian.h"
#include "storage/internal/file.h"

namespace sluice::storage::internal {

// Offset index entry: batch base offset relative to the segment base (u32) -> file position (u32).
struct OffsetEntry {
  int64_t offset;  // absolute
  int64_t position;
  static constexpr size_t kSize = 8;
  void Encode(char* p, int64_t base) const {
    be::Store<uint32_t>(p, static_cast<uint32_t>(offset - base));
    be::Store<uint32_t>(p + 4, static_cast<uint32_t>(position));
  }
  static OffsetEntry Decode(const char* p, int64_t base) {
    return {base + be::Load<uint32_t>(p), be::Load<uint32_t>(p + 4)};
  }
  int64_t key() const { return offset; }
};

// Time index entry: largest timestamp seen so far in the segment -> base offset (relative, u32)
// of the batch that was last when the entry was written.
struct TimeEntry {
  int64_t timestamp;
  int64_t offset;  // absolute
  static constexpr size_t kSize = 12;
  void Encode(char* p, int64_t base) const {
    be::Store<int64_t>(p, timestamp);
    be::Store<uint32_t>(p + 8, static_cast<uint32_t>(offset - base));
  }
  static TimeEntry Decode(const char* p, int64_t base) {
    return {be::Load<int64_t>(p), base + be::Load<uint32_t>(p + 8)};
  }
  int64_t key() const { return timestamp; }
};

template <typename Entry>
class IndexFile {
 public:
  IndexFile(std::string path, int64_t base) : path_(std::move(path)), base_(base) {}

  // Loads entries from the file. A missing file, a size that is not a whole number of entries,
  // or keys/offsets going backwards make the index "not sane": the caller rebuilds it.
  Status Load() {
    entries_.clear();
    written_ = 0;
    sane_ = false;
    if (!Exists(path_)) return Status::Ok();
    auto content = ReadSmallFile(path_);
    if (!content.ok()) return content.status();
    if (content->size() % Entry::kSize != 0) return Status::Ok();
    for (size_t p = 0; p < content->size(); p += Entry::kSize) {
      Entry e = Entry::Decode(content->data() + p, base_);
      if (!entries_.empty() &&
          (e.key() < entries_.back().key() || e.offset < entries_.back().offset)) {
        entries_.clear();
        return Status::Ok();
      }
      entries_.push_back(e);
    }
    written_ = entries_.size();
    sane_ = true;
    return Status::Ok();
  }
  bool sane() const { return sane_; }

  void Add(const Entry& e) { entries_.push_back(e); }
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  const Entry& back() const { return entries_.back(); }

  // Drops entries for which drop(entry) is true from the back.
  template <typename Pred>
  void TruncateBackWhile(Pred drop) {
    while (!entries_.empty() && drop(entries_.back())) entries_.pop_back();
    if (written_ > entries_.size()) {
      written_ = entries_.size();
      rewrite_ = true;
    }
  }
  void Clear() {
    entries_.clear();
    written_ = 0;
    rewrite_ = true;
  }

  // Last entry with key <= k (nullptr when none).
  const Entry* Floor(int64_t k) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), k,
                               [](int64_t v, const Entry& e) { return v < e.key(); });
    if (it == entries_.begin()) return nullptr;
    return &*(it - 1);
  }
  // Last entry with key < k (nullptr when none).
  const Entry* Below(int64_t k) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), k,
                               [](const Entry& e, int64_t v) { return e.key() < v; });
    if (it == entries_.begin()) return nullptr;
    return &*(it - 1);
  }

  // Writes entries not yet in the file (or rewrites it after a truncation).
  Status Flush() {
    if (!file_) {
      auto f = File::Open(path_, true);
      if (!f.ok()) return f.status();
      file_ = *f;
      rewrite_ = true;
    }
    if (rewrite_) {
      SLUICE_RETURN_IF_ERROR(file_->Truncate(static_cast<int64_t>(written_ * Entry::kSize)));
      rewrite_ = false;
    }
    if (written_ == entries_.size()) return Status::Ok();
    std::string buf((entries_.size() - written_) * Entry::kSize, '\0');
    for (size_t i = written_; i < entries_.size(); ++i) {
      entries_[i].Encode(buf.data() + (i - written_) * Entry::kSize, base_);
    }
    SLUICE_RETURN_IF_ERROR(file_->WriteAt(static_cast<int64_t>(written_ * Entry::kSize), buf));
    written_ = entries_.size();
    return Status::Ok();
  }
  Status Sync() {
    SLUICE_RETURN_IF_ERROR(Flush());
    return file_->DataSync();
  }
  std::shared_ptr<File> file() const { return file_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int64_t base_;
  std::vector<Entry> entries_;
  size_t written_ = 0;  // entries already in the file
  bool rewrite_ = false;
  bool sane_ = false;
  std::shared_ptr<File> file_;
};

using OffsetIndex = IndexFile<OffsetEntry>;
using TimeIndex = IndexFile<TimeEntry>;

}  // namespace sluice::storage::internal
