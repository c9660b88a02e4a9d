// SpillDb: the RocksDB side of SpillStore — a scratch key-value instance in a fresh directory of
// its own, written without a write-ahead log and removed when closed. The only file of the
// component that includes RocksDB (spill_db.cc), so its headers stay out of everything else.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace rocksdb {
class DB;
}

namespace sluice::stream::internal {

// Lifecycle: Open creates `<parent>/<prefix>-XXXXXX` (a new directory, so two instances never
// share one) and the database in it; the destructor closes it and deletes the directory. Nothing
// in it survives: it is not durable state (checkpoints are), only memory moved to disk.
// Not thread-safe: owned and used by one task on its shard. RocksDB's own background threads
// (flushes, compactions) only touch its files.
class SpillDb {
 public:
  // Errors: kInternal (the directory cannot be created, RocksDB cannot open).
  static Result<std::unique_ptr<SpillDb>> Open(const std::string& parent, std::string_view prefix);
  ~SpillDb();
  SpillDb(const SpillDb&) = delete;
  SpillDb& operator=(const SpillDb&) = delete;

  // Writes all pairs in one batch (no WAL, no sync). Errors: kInternal (I/O, disk full).
  Status Put(const std::vector<std::pair<std::string, std::string>>& pairs);
  // Reads `key` into `value` and deletes it. false: not there. Errors: kInternal.
  Result<bool> Take(std::string_view key, std::string& value);
  // Calls fn(key, value) for every entry, in key order. Errors: kInternal (a read failed).
  Status ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const;
  // Deletes every entry for which fn(key, value) returns true. Errors: kInternal.
  Status EraseIf(const std::function<bool(std::string_view, std::string_view)>& fn);
  const std::string& dir() const { return dir_; }

 private:
  SpillDb(std::string dir, std::unique_ptr<rocksdb::DB> db);
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;  // closed by the destructor
};

}  // namespace sluice::stream::internal
