// SpillDb: RocksDB tuned as scratch space — no WAL, small memtables and block cache, bloom
// filters so lookups of keys that were never spilled rarely touch a file.
#include "stream/internal/spill_db.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>

namespace sluice::stream::internal {

namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  return Internal("spill store {}: {}", what, s.ToString());
}

rocksdb::Slice SliceOf(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ViewOf(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

rocksdb::WriteOptions ScratchWrites() {
  rocksdb::WriteOptions w;
  w.disableWAL = true;  // the directory does not survive a crash anyway
  w.sync = false;
  return w;
}

}  // namespace

SpillDb::SpillDb(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

Result<std::unique_ptr<SpillDb>> SpillDb::Open(const std::string& parent, std::string_view prefix) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Internal("spill store: cannot create {}: {}", parent, ec.message());
  std::string tmpl = fmt::format("{}/{}-XXXXXX", parent, prefix);
  if (mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoStatus(fmt::format("spill store: cannot create a directory in {}", parent), errno);
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.write_buffer_size = 4 << 20;
  o.max_write_buffer_number = 2;
  o.max_open_files = 64;
  o.keep_log_file_num = 1;
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.avoid_flush_during_shutdown = true;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_cache = rocksdb::NewLRUCache(4 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, tmpl, &raw);
  if (!s.ok()) {
    std::filesystem::remove_all(tmpl, ec);
    return FromRocks(s, "open " + tmpl);
  }
  return std::unique_ptr<SpillDb>(new SpillDb(tmpl, std::unique_ptr<rocksdb::DB>(raw)));
}

SpillDb::~SpillDb() {
  if (db_) {
    (void)db_->Close();
    db_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // best effort: scratch, wiped again at server start
}

Status SpillDb::Put(const std::vector<std::pair<std::string, std::string>>& pairs) {
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : pairs) batch.Put(SliceOf(k), SliceOf(v));
  rocksdb::Status s = db_->Write(ScratchWrites(), &batch);
  return s.ok() ? Status::Ok() : FromRocks(s, "write");
}

Result<bool> SpillDb::Take(std::string_view key, std::string& value) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), SliceOf(key), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "read");
  s = db_->Delete(ScratchWrites(), SliceOf(key));
  if (!s.ok()) return FromRocks(s, "delete");
  return true;
}

Status SpillDb::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one pass over everything: do not evict what lookups need
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) fn(ViewOf(it->key()), ViewOf(it->value()));
  return it->status().ok() ? Status::Ok() : FromRocks(it->status(), "scan");
}

Status SpillDb::EraseIf(const std::function<bool(std::string_view, std::string_view)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  rocksdb::WriteBatch batch;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (fn(ViewOf(it->key()), ViewOf(it->value()))) batch.Delete(it->key());
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scan");
  }
  if (batch.Count() == 0) return Status::Ok();
  rocksdb::Status s = db_->Write(ScratchWrites(), &batch);
  return s.ok() ? Status::Ok() : FromRocks(s, "delete");
}

}  // namespace sluice::stream::internal
