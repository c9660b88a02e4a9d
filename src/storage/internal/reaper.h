// Reaper: deletes directory trees (deleted topics) on its own thread, shrinking each file in
// synced steps before unlinking it, so that the blocks they free are discarded a few MiB at a
// time instead of all at once (on a filesystem mounted with `discard`, one large discard stalls
// every fdatasync on it; docs/formats/segment.md).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "storage/internal/pacer.h"

namespace sluice::storage::internal {

class Reaper {
 public:
  // Bytes freed per step (one ftruncate + fdatasync).
  static constexpr int64_t kStep = 4 << 20;

  // `pacer` (shared with other deletions) and `clock` must outlive the Reaper.
  Reaper(Pacer* pacer, const Clock* clock);
  ~Reaper();  // Stop()
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Queues the tree at `dir` for deletion. Thread-safe.
  void Add(std::string dir);
  // Stops (within one step) and joins the thread; what is not deleted yet stays on disk.
  void Stop();
  // Trees queued or being deleted; for tests.
  size_t pending() const;

 private:
  void Run();
  void Reap(const std::string& dir);
  // Sleeps until `ns` from now or Stop(); false when stopped.
  bool SleepFor(int64_t ns);

  Pacer* pacer_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::storage::internal
