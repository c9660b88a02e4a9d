// FaultInjector: lets tests make the store's next fdatasync or append write fail, to prove
// that a failed fsync is never acknowledged and that a failed write leaves no partial batch.
// Thread-safe. Null in production.
#pragma once

#include <atomic>

namespace sluice::storage {

struct FaultInjector {
  // The next N group-commit fdatasync calls fail with EIO (the partition becomes read-only).
  std::atomic<int> fail_syncs{0};
  // The next N appends write half their batch, then fail with ENOSPC (the half is undone).
  std::atomic<int> fail_writes{0};

  static bool Take(std::atomic<int>& counter) {
    int n = counter.load();
    while (n > 0) {
      if (counter.compare_exchange_weak(n, n - 1)) return true;
    }
    return false;
  }
};

}  // namespace sluice::storage
