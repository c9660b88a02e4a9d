// File: a thin RAII wrapper over a POSIX file descriptor returning Status. Positional I/O
// only (pread/pwrite), so one File can be read and written from different threads.
#pragma once

#include <span>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sluice::storage::internal {

class File {
 public:
  // Opens path; creates it when `create` (mode 0644). Errors carry the path.
  static Result<std::shared_ptr<File>> Open(const std::string& path, bool create);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Writes all of data at pos (retrying short writes).
  Status WriteAt(int64_t pos, std::string_view data);
  // Writes the pieces end to end starting at pos with as few pwritev calls as possible.
  Status WriteVAt(int64_t pos, std::span<const std::string> pieces);
  // Reads exactly n bytes at pos into dst; kOutOfRange when the file is shorter.
  Status ReadAt(int64_t pos, size_t n, char* dst) const;
  // Reads up to n bytes; returns how many were read.
  Result<size_t> ReadSomeAt(int64_t pos, size_t n, char* dst) const;
  // Writes n zero bytes at pos and starts their writeback (sync_file_range, not waiting), so
  // zero-filling a file ahead of use does not pile up dirty pages for a later fdatasync. The
  // I/O is submitted at idle priority (IdleIoPriority).
  Status WriteZerosAt(int64_t pos, int64_t n);
  Status DataSync();
  // Waits, without starting any, for the writeback already in flight on the file's pages
  // (sync_file_range WAIT_BEFORE). A group commit calls it before DataSync: fdatasync's own
  // writeback locks each dirty page and only then waits for that page's earlier writeback, and
  // while it waits an append into the same page (the partly written tail page) blocks on the
  // page lock. Waiting here first holds no page lock.
  Status WaitForWriteback();
  // Asks the kernel to read [pos, pos + len) into the page cache in the background
  // (POSIX_FADV_WILLNEED); returns once the reads are queued. Pages already cached cost a lookup.
  Status WillNeed(int64_t pos, int64_t len);
  Status Sync();
  Status Truncate(int64_t size);
  Result<int64_t> Size() const;

 private:
  File(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// While alive, the calling thread's I/O has the idle priority class, so the block layer's
// scheduler (mq-deadline, bfq) serves it only when no other I/O waits: background zero-filling
// then does not sit in front of a foreground write or fdatasync. Restores the previous class;
// does nothing where ioprio_set fails.
class IdleIoPriority {
 public:
  IdleIoPriority();
  ~IdleIoPriority();
  IdleIoPriority(const IdleIoPriority&) = delete;
  IdleIoPriority& operator=(const IdleIoPriority&) = delete;

 private:
  int saved_ = -1;
};

// Directory helpers. All errors name the path.
Status MakeDirs(const std::string& path);
Status SyncDir(const std::string& path);
// Writes a small file atomically: temp file, fsync, rename, fsync of the directory.
Status WriteFileAtomic(const std::string& path, std::string_view content);
Result<std::string> ReadSmallFile(const std::string& path);
bool Exists(const std::string& path);
Status RemoveFile(const std::string& path);  // ok when missing
Status RemoveAll(const std::string& path);   // recursive; ok when missing
Status Rename(const std::string& from, const std::string& to);

}  // namespace sluice::storage::internal
