#include "storage/internal/reaper.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "storage/internal/file.h"

namespace sluice::storage::internal {

Reaper::Reaper(double bytes_per_second, const Clock* clock)
    : pacer_(bytes_per_second),
      bytes_per_second_(bytes_per_second),
      clock_(clock),
      thread_([this] { Run(); }) {}

Reaper::~Reaper() { Stop(); }

bool Reaper::Admits(int64_t bytes) const {
  std::lock_guard lock(mu_);
  return backlog_ == 0 ||
         static_cast<double>(backlog_ + bytes) <= kMaxBacklogSeconds * bytes_per_second_;
}

Reaper::Stats Reaper::GetStats() const {
  std::lock_guard lock(mu_);
  return {backlog_, static_cast<int64_t>(queue_.size()) + (reaping_ ? 1 : 0)};
}

void Reaper::Add(std::string path, int64_t bytes) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(path), bytes);
    backlog_ += bytes;
  }
  cv_.notify_all();
}

void Reaper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Reaper::stopped() const {
  std::lock_guard lock(mu_);
  return stop_;
}

bool Reaper::SleepFor(int64_t ns) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stop_; });
  return !stop_;
}

void Reaper::Run() {
  while (true) {
    std::pair<std::string, int64_t> item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      reaping_ = true;
    }
    Reap(item.first);
    std::lock_guard lock(mu_);
    backlog_ -= item.second;
    reaping_ = false;
  }
}

void Reaper::Reap(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    ReapFile(path);
    return;
  }
  std::vector<std::string> files;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  for (const std::string& file : files) {
    if (stopped()) return;
    ReapFile(file);
  }
  if (!stopped()) (void)RemoveAll(path);
}

void Reaper::ReapFile(const std::string& path) {
  auto f = File::Open(path, false);
  struct stat st {};
  // A file with another name (compaction's link before its rename, say) is someone's data.
  const bool shrink = f.ok() && ::fstat((*f)->fd(), &st) == 0 && st.st_nlink == 1;
  int64_t left = shrink ? st.st_size : 0;
  while (left > 0) {
    const int64_t to = std::max<int64_t>(0, left - kStep);
    const int64_t wait = pacer_.Reserve(left - to, clock_->MonotonicNs());
    if (wait > 0 && !SleepFor(wait)) return;
    if (stopped()) return;
    // Each step's fdatasync commits the journal, so its blocks are discarded now.
    if (!(*f)->Truncate(to).ok() || !(*f)->DataSync().ok()) break;
    left = to;
  }
  (void)RemoveFile(path);
}

}  // namespace sluice::storage::internal
