#include "storage/internal/reaper.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "storage/internal/file.h"

namespace sluice::storage::internal {

Reaper::Reaper(Pacer* pacer, const Clock* clock)
    : pacer_(pacer), clock_(clock), thread_([this] { Run(); }) {}

Reaper::~Reaper() { Stop(); }

void Reaper::Add(std::string dir) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(dir));
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

size_t Reaper::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + (busy_ ? 1 : 0);
}

bool Reaper::SleepFor(int64_t ns) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stop_; });
  return !stop_;
}

void Reaper::Run() {
  while (true) {
    std::string dir;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      dir = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    Reap(dir);
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

void Reaper::Reap(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  for (const std::string& path : files) {
    auto f = File::Open(path, false);
    auto size = f.ok() ? (*f)->Size() : Result<int64_t>(int64_t{0});
    int64_t left = size.ok() ? *size : 0;
    while (left > 0) {
      const int64_t to = std::max<int64_t>(0, left - kStep);
      const int64_t wait = pacer_->Reserve(left - to, clock_->MonotonicNs());
      if (wait > 0 && !SleepFor(wait)) return;
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      // Each step's fdatasync commits the journal, so its blocks are discarded now.
      if (!(*f)->Truncate(to).ok() || !(*f)->DataSync().ok()) break;
      left = to;
    }
    (void)RemoveFile(path);
  }
  (void)RemoveAll(dir);
}

}  // namespace sluice::storage::internal
