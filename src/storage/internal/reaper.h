// Reaper: deletes files and directory trees on its own thread (the segments retention removes,
// the files compaction replaces, deleted topics), shrinking each file in synced steps before
// unlinking it, so that the blocks they free are discarded a few MiB at a time instead of all
// at once: on a filesystem mounted with `discard`, one large discard stalls every fdatasync on
// it (docs/formats/segment.md). Its own thread, so the steps never hold a blocking-pool thread
// that a group commit waits for.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "base/clock.h"
#include "storage/internal/pacer.h"

namespace sluice::storage::internal {

class Reaper {
 public:
  // Bytes freed per step (one ftruncate + fdatasync).
  static constexpr int64_t kStep = 4 << 20;
  // The queue holds at most what the budget deletes in this long; callers delete anything more
  // at once (see Admits), so the disk held by pending deletions stays bounded.
  static constexpr double kMaxBacklogSeconds = 8;

  // Deletes at most `bytes_per_second` (> 0) of file data per second. `clock` must outlive it.
  Reaper(double bytes_per_second, const Clock* clock);
  ~Reaper();  // Stop()
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Whether `bytes` more fit in the queue: always when it is empty. Thread-safe.
  bool Admits(int64_t bytes) const;
  // Queues a file or a directory tree for deletion; `bytes` is what it holds, as counted by
  // Admits (0 for a tree: a deleted topic is never deleted at once). Only names nothing else
  // uses (`*.deleting`, `*.deleted`): a file that still has another name is only unlinked,
  // never shrunk. Thread-safe.
  void Add(std::string path, int64_t bytes);
  // Stops (within one step) and joins the thread; what is not deleted yet stays on disk, for
  // the next start to delete.
  void Stop();

  struct Stats {
    int64_t backlog_bytes = 0;  // queued or being deleted (a deleted topic's tree counts 0)
    int64_t pending = 0;        // files and trees queued or being deleted
  };
  // Thread-safe.
  Stats GetStats() const;

 private:
  void Run();
  void Reap(const std::string& path);
  void ReapFile(const std::string& path);
  // Sleeps until `ns` from now or Stop(); false when stopped.
  bool SleepFor(int64_t ns);
  bool stopped() const;

  Pacer pacer_;
  const double bytes_per_second_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, int64_t>> queue_;
  int64_t backlog_ = 0;  // bytes queued or being deleted
  bool reaping_ = false;  // an item is out of the queue and being deleted
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::storage::internal
