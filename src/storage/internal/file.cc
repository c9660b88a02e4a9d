// POSIX file operations behind Status.
#include "storage/internal/file.h"

#include <sys/uio.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace sluice::storage::internal {

Result<std::shared_ptr<File>> File::Open(const std::string& path, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  return std::shared_ptr<File>(new File(path, fd));
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Status File::WriteAt(int64_t pos, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd_, p, left, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path_, errno);
    }
    p += n;
    pos += n;
    left -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status File::WriteVAt(int64_t pos, std::span<const std::string> pieces) {
  constexpr size_t kMaxIov = 512;  // below IOV_MAX (1024 on Linux)
  iovec iov[kMaxIov];
  size_t next = 0;     // first piece not fully written
  size_t offset = 0;   // bytes of pieces[next] already written
  while (next < pieces.size()) {
    size_t n = 0;
    for (size_t i = next; i < pieces.size() && n < kMaxIov; ++i, ++n) {
      const size_t skip = i == next ? offset : 0;
      iov[n].iov_base = const_cast<char*>(pieces[i].data() + skip);
      iov[n].iov_len = pieces[i].size() - skip;
    }
    ssize_t w = ::pwritev(fd_, iov, static_cast<int>(n), pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path_, errno);
    }
    pos += w;
    // Advance over what was written (a short write stops inside some piece).
    size_t left = static_cast<size_t>(w);
    while (next < pieces.size() && left >= pieces[next].size() - offset) {
      left -= pieces[next].size() - offset;
      offset = 0;
      ++next;
    }
    offset += left;
  }
  return Status::Ok();
}

Result<size_t> File::ReadSomeAt(int64_t pos, size_t n, char* dst) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, dst + done, n - done, pos + static_cast<int64_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read " + path_, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Status File::ReadAt(int64_t pos, size_t n, char* dst) const {
  auto r = ReadSomeAt(pos, n, dst);
  if (!r.ok()) return r.status();
  if (*r != n) return OutOfRange("read {}: wanted {} bytes at {}, file ends", path_, n, pos);
  return Status::Ok();
}

namespace {
// linux/ioprio.h values (glibc has no wrapper): who = the calling thread, class in bits 13+.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassIdle = 3;
}  // namespace

IdleIoPriority::IdleIoPriority() {
  const long old = ::syscall(SYS_ioprio_get, kIoprioWhoProcess, 0);
  if (old < 0) return;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift) == 0) {
    saved_ = static_cast<int>(old);
  }
}

IdleIoPriority::~IdleIoPriority() {
  if (saved_ >= 0) (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, saved_);
}

Status File::WriteZerosAt(int64_t pos, int64_t n) {
  static const char kZeros[1 << 20] = {};
  IdleIoPriority idle;
  const int64_t start = pos;
  while (n > 0) {
    const auto chunk = static_cast<size_t>(std::min<int64_t>(n, sizeof(kZeros)));
    SLUICE_RETURN_IF_ERROR(WriteAt(pos, std::string_view(kZeros, chunk)));
    pos += static_cast<int64_t>(chunk);
    n -= static_cast<int64_t>(chunk);
  }
  if (::sync_file_range(fd_, start, pos - start, SYNC_FILE_RANGE_WRITE) != 0) {
    return ErrnoStatus("sync_file_range " + path_, errno);
  }
  return Status::Ok();
}

Status File::WaitForWriteback() {
  if (::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE) != 0) {
    return ErrnoStatus("sync_file_range " + path_, errno);
  }
  return Status::Ok();
}

Status File::WillNeed(int64_t pos, int64_t len) {
  if (int err = ::posix_fadvise(fd_, pos, len, POSIX_FADV_WILLNEED); err != 0) {
    return ErrnoStatus("posix_fadvise " + path_, err);
  }
  return Status::Ok();
}

Status File::DataSync() {
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync " + path_, errno);
  return Status::Ok();
}

Status File::Sync() {
  if (::fsync(fd_) != 0) return ErrnoStatus("fsync " + path_, errno);
  return Status::Ok();
}

Status File::Truncate(int64_t size) {
  if (::ftruncate(fd_, size) != 0) return ErrnoStatus("truncate " + path_, errno);
  return Status::Ok();
}

Result<int64_t> File::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat " + path_, errno);
  return static_cast<int64_t>(st.st_size);
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Internal("mkdir {}: {}", path, ec.message());
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open dir " + path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync dir " + path, err);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    auto f = File::Open(tmp, true);
    if (!f.ok()) return f.status();
    SLUICE_RETURN_IF_ERROR((*f)->Truncate(0));
    SLUICE_RETURN_IF_ERROR((*f)->WriteAt(0, content));
    SLUICE_RETURN_IF_ERROR((*f)->Sync());
  }
  SLUICE_RETURN_IF_ERROR(Rename(tmp, path));
  return SyncDir(std::filesystem::path(path).parent_path().string());
}

Result<std::string> ReadSmallFile(const std::string& path) {
  auto f = File::Open(path, false);
  if (!f.ok()) return f.status();
  auto size = (*f)->Size();
  if (!size.ok()) return size.status();
  std::string out(static_cast<size_t>(*size), '\0');
  SLUICE_RETURN_IF_ERROR((*f)->ReadAt(0, out.size(), out.data()));
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink " + path, errno);
  return Status::Ok();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Internal("remove {}: {}", path, ec.message());
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus("rename " + from + " -> " + to, errno);
  }
  return Status::Ok();
}

}  // namespace sluice::storage::internal
