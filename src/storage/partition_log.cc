// PartitionLog: recovery, append with group commit, reads, retention and checkpoints.
#include "storage/partition_log.h"

#include <dirent.h>

#include <algorithm>
#include <charconv>

#include "base/crc32c.h"
#include "storage/internal/compactor.h"
#include "storage/internal/logger.h"

namespace sluice::storage {
using model::Offset;

namespace {

// Parses "00000000000000000123.log" into 123.
std::optional<int64_t> ParseSegmentName(std::string_view name, std::string_view ext) {
  if (name.size() != 20 + ext.size() || name.substr(20) != ext) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 20, v);
  if (ec != std::errc() || p != name.data() + 20) return std::nullopt;
  return v;
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ErrnoStatus("opendir " + dir, errno);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

}  // namespace

PartitionLog::PartitionLog(std::string dir, model::TopicPartition tp, TopicConfig config, Deps deps)
    : dir_(std::move(dir)),
      tp_(std::move(tp)),
      config_(config),
      deps_(deps),
      recovery_point_(std::make_shared<internal::RecoveryPointFile>(RecoveryPointPath())) {}

Result<std::shared_ptr<PartitionLog>> PartitionLog::Open(std::string dir, model::TopicPartition tp,
                                                         TopicConfig config, Deps deps,
                                                         bool create) {
  auto log =
      std::shared_ptr<PartitionLog>(new PartitionLog(std::move(dir), std::move(tp), config, deps));
  SLUICE_RETURN_IF_ERROR(log->Recover(create).WithContext(fmt::format("partition {}", log->tp_)));
  return log;
}

Status PartitionLog::Recover(bool create) {
  if (create) SLUICE_RETURN_IF_ERROR(internal::MakeDirs(dir_));
  SLUICE_ASSIGN_OR_RETURN(auto names, ListDir(dir_));
  std::vector<int64_t> bases;
  for (const auto& n : names) {
    if (auto b = ParseSegmentName(n, ".log")) {
      bases.push_back(*b);
    } else if (n.ends_with(".tmp") || n.ends_with(".cleaned") || n.ends_with(".deleting")) {
      // Leftovers of an interrupted checkpoint, compaction or zero-fill (the originals are
      // intact), or of a removed segment's gradual deletion.
      SLUICE_RETURN_IF_ERROR(internal::RemoveFile(dir_ + "/" + n));
    }
  }
  if (internal::Exists(PreparedPath())) {
    // A whole zero-filled file, synced before its rename: keep it for the next roll.
    if (config_.preallocate) {
      SLUICE_ASSIGN_OR_RETURN(auto f, internal::File::Open(PreparedPath(), false));
      SLUICE_ASSIGN_OR_RETURN(prealloc_bytes_, f->Size());
      prealloc_ = Prealloc::kReady;
    } else {
      SLUICE_RETURN_IF_ERROR(internal::RemoveFile(PreparedPath()));
    }
  }
  if (internal::Exists(RecycledPath())) {
    // Whatever it holds is overwritten with zeros before it is used.
    if (config_.preallocate) {
      recycled_ready_ = true;
    } else {
      SLUICE_RETURN_IF_ERROR(internal::RemoveFile(RecycledPath()));
    }
  }
  std::sort(bases.begin(), bases.end());
  const bool clean = internal::Exists(CleanMarkerPath());
  std::optional<std::pair<int64_t, int64_t>> rp;
  if (!clean) rp = internal::RecoveryPointFile::Read(RecoveryPointPath());
  const int64_t now = deps_.clock->NowMs();
  for (size_t i = 0; i < bases.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(auto seg,
                            Segment::Open(dir_, Offset(bases[i]), config_.index_interval_bytes));
    int64_t verified_from = 0;
    if (clean) {
      verified_from = INT64_MAX;
    } else if (rp && bases[i] < rp->first) {
      verified_from = INT64_MAX;
    } else if (rp && bases[i] == rp->first) {
      verified_from = rp->second;
    }
    const int64_t before = *seg->log_file()->Size();
    auto truncated = seg->Recover(verified_from);
    if (!truncated.ok()) return truncated.status();
    stats_.truncated_bytes_on_recovery += static_cast<uint64_t>(before - seg->size());
    if (!segments_.empty() && seg->base_offset() < segments_.rbegin()->second->next_offset()) {
      return DataLoss("segment {} overlaps the previous segment", seg->base_offset());
    }
    seg->set_created_ms(now);
    segments_.emplace(bases[i], std::move(seg));
    if (*truncated) {
      // Everything after a damaged batch is unreachable: drop later segments.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        auto later = Segment::Open(dir_, Offset(bases[j]), config_.index_interval_bytes);
        if (later.ok()) {
          stats_.truncated_bytes_on_recovery +=
              static_cast<uint64_t>((*later)->log_file()->Size().value());
          SLUICE_RETURN_IF_ERROR((*later)->Delete());
        }
      }
      break;
    }
  }
  if (segments_.empty()) {
    SLUICE_ASSIGN_OR_RETURN(auto seg,
                            Segment::Create(dir_, Offset(0), config_.index_interval_bytes));
    seg->set_created_ms(now);
    segments_.emplace(0, std::move(seg));
    SLUICE_RETURN_IF_ERROR(internal::SyncDir(dir_));
  }
  // What survived a process crash is in the page cache; make it durable before serving it.
  SLUICE_RETURN_IF_ERROR(active().log_file()->DataSync());
  durable_offset_ = next_offset();
  durable_segment_ = active().base_offset().value();
  durable_position_ = active().size();
  if (clean) {
    SLUICE_RETURN_IF_ERROR(internal::RemoveFile(CleanMarkerPath()));
    SLUICE_RETURN_IF_ERROR(internal::SyncDir(dir_));
  }
  return Status::Ok();
}

Offset PartitionLog::high_watermark() const {
  return config_.durability == Durability::kAlways ? durable_offset_ : next_offset();
}

PartitionInfo PartitionLog::Info() const {
  PartitionInfo info;
  info.partition = tp_.partition;
  info.log_start_offset = log_start_offset();
  info.high_watermark = high_watermark();
  info.size_bytes = 0;
  for (const auto& [base, seg] : segments_) info.size_bytes += seg->size();
  info.segments = static_cast<int32_t>(segments_.size());
  const Segment& act = active();
  info.active_segment_preallocated = act.allocated() > 0;
  info.active_segment_recycled = act.allocated() > 0 && active_recycled_;
  info.preallocated_bytes = (act.allocated() > 0 ? act.allocated() - act.size() : 0) +
                            (prealloc_ == Prealloc::kNone || prealloc_ == Prealloc::kFailed
                                 ? 0
                                 : prealloc_bytes_);
  return info;
}

void PartitionLog::SetConfig(const TopicConfig& config) {
  config_ = config;
  if (!config_.preallocate && prealloc_ == Prealloc::kReady) {
    // Unlinking is one metadata update: cheap enough for the owner shard.
    (void)internal::RemoveFile(PreparedPath());
    prealloc_ = Prealloc::kNone;
    prealloc_bytes_ = 0;
  }
  if (!config_.preallocate && recycled_ready_ && !recycling_) {
    (void)internal::RemoveFile(RecycledPath());
    recycled_ready_ = false;
  }
}

void PartitionLog::StartPreallocation(asio::any_io_executor ex) {
  if (prealloc_ != Prealloc::kNone || closed_ || !write_error_.ok()) return;
  prealloc_ = Prealloc::kFilling;
  prealloc_bytes_ = 0;
  auto self = shared_from_this();
  asio::co_spawn(
      ex, [self]() -> Task<void> { co_await self->FillNextSegment(); }, asio::detached);
}

Task<void> PartitionLog::FillNextSegment() {
  auto self = shared_from_this();
  // Small writes at idle I/O priority: a fdatasync of the active segment still waits for
  // zero-fill I/O already on the device, so each piece must be short (1 MiB pieces took the
  // ack p99 from ~0.7 to ~5 ms in store_bench's ack_open; 128 KiB ones left it where it was).
  constexpr int64_t kChunk = 128 << 10;
  const int64_t target = config_.segment_bytes;
  const std::string tmp = PreparingPath();
  const std::string ready = PreparedPath();
  const std::string recycled = RecycledPath();
  // Retention first: a segment it removes now becomes this fill's file (see RecycledPath). Its
  // errors are housekeeping's to report; the fill goes on either way.
  // (Not beside housekeeping's own pass, which may be compacting.)
  if (!recycled_ready_ && !housekeeping_running_) {
    housekeeping_running_ = true;
    (void)co_await ApplyRetention();
    housekeeping_running_ = false;
  }
  if (closed_ || !config_.preallocate) {
    prealloc_ = Prealloc::kNone;
    co_return;
  }
  const bool reuse = recycled_ready_;
  recycled_ready_ = false;
  struct Opened {
    std::shared_ptr<internal::File> file;
    bool recycled = false;
  };
  auto open = [tmp, recycled, reuse, target]() -> Result<Opened> {
    Opened out;
    if (reuse) {
      out.recycled = internal::Rename(recycled, tmp).ok();
      if (!out.recycled) (void)internal::RemoveFile(recycled);
    }
    SLUICE_ASSIGN_OR_RETURN(out.file, internal::File::Open(tmp, true));
    SLUICE_ASSIGN_OR_RETURN(const int64_t size, out.file->Size());
    // A recycled file keeps the blocks it has (every byte is rewritten below); anything else
    // starts empty.
    const int64_t keep = out.recycled ? std::min(size, target) : 0;
    if (size != keep) SLUICE_RETURN_IF_ERROR(out.file->Truncate(keep));
    return out;
  };
  auto opened = co_await deps_.blocking->Run(open);
  Result<std::shared_ptr<internal::File>> file = opened.status();
  if (opened.ok()) {
    file = opened->file;
    prepared_recycled_ = opened->recycled;
  }
  Status st = file.status();
  auto ex = co_await asio::this_coro::executor;  // named: see the GCC 12 rule in runtime/
  asio::steady_timer pace(ex);
  for (int64_t done = 0; st.ok() && done < target; done += kChunk) {
    // Stopped (closed, or preallocate switched off): leave the .tmp for the next start.
    if (closed_ || !config_.preallocate) {
      prealloc_ = Prealloc::kNone;
      co_return;
    }
    const int64_t n = std::min(kChunk, target - done);
    if (deps_.preallocation_pacer) {
      const int64_t wait = deps_.preallocation_pacer->Reserve(n, deps_.clock->MonotonicNs());
      if (wait > 0) {
        pace.expires_after(std::chrono::nanoseconds(wait));
        boost::system::error_code ec;
        co_await pace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    std::shared_ptr<internal::File> f = *file;
    auto write = [f, done, n]() { return f->WriteZerosAt(done, n); };
    st = co_await deps_.blocking->Run(write);
    if (st.ok()) prealloc_bytes_ = done + n;
  }
  if (st.ok()) {
    std::shared_ptr<internal::File> f = *file;
    // Synced before the rename: a file under the final name is always whole.
    auto finish = [f, tmp, ready]() -> Status {
      internal::IdleIoPriority idle;
      SLUICE_RETURN_IF_ERROR(f->DataSync());
      return internal::Rename(tmp, ready);
    };
    st = co_await deps_.blocking->Run(finish);
  }
  if (closed_) co_return;
  if (!st.ok()) {
    // Out of space, most likely; appends go on into plain segments. Retried at the next roll.
    stats_.preallocation_failures++;
    prealloc_ = Prealloc::kFailed;
    prealloc_bytes_ = 0;
    auto cleanup = [tmp]() { return internal::RemoveFile(tmp); };
    (void)co_await deps_.blocking->Run(cleanup);
    co_return;
  }
  prealloc_ = Prealloc::kReady;
}

bool PartitionLog::NeedsRoll(size_t incoming) const {
  if (rolling_) return true;
  const Segment& seg = active();
  return seg.size() + pending_bytes_ + static_cast<int64_t>(incoming) > config_.segment_bytes ||
         deps_.clock->NowMs() - seg.created_ms() >= config_.segment_ms || WantsPreparedSegment();
}

Task<Status> PartitionLog::RollIfNeeded(size_t incoming) {
  while (rolling_) co_await roll_done_.Wait();
  Segment& seg = active();
  const bool full = seg.size() + pending_bytes_ + static_cast<int64_t>(incoming) >
                    config_.segment_bytes;
  const bool old = deps_.clock->NowMs() - seg.created_ms() >= config_.segment_ms;
  // A zero-filled file is ready and the active segment is a plain one: move onto it now.
  const bool switch_now = WantsPreparedSegment();
  // Pending batches have offsets in this segment: write them before sealing it.
  if ((full || old || switch_now) && !pending_.empty()) WritePending();
  if (!(full || old || switch_now) || (seg.empty() && !switch_now)) co_return Status::Ok();
  // An empty plain segment is not sealed: the prepared file replaces it under the same base.
  const bool replace = seg.empty();
  const bool adopt = config_.preallocate && prealloc_ == Prealloc::kReady;
  rolling_ = true;
  std::shared_ptr<Segment> sealed = segments_.rbegin()->second;
  const Offset next = sealed->next_offset();
  const std::string dir = dir_;
  const int64_t interval = config_.index_interval_bytes;
  const std::string prepared = adopt ? PreparedPath() : std::string();
  // Sealing adds the final time-index entry; do that here, the file work on the pool.
  auto fn1 = [sealed, next, dir, interval, prepared,
              replace]() -> Result<std::shared_ptr<Segment>> {
    if (!replace) SLUICE_RETURN_IF_ERROR(sealed->Seal());
    std::unique_ptr<Segment> seg;
    if (!prepared.empty()) {
      auto adopted = Segment::Adopt(dir, next, interval, prepared);
      if (adopted.ok()) {
        seg = std::move(*adopted);
      } else {
        // The prepared file went missing or is unusable: a plain segment instead, rather than
        // a partition that stops taking writes over an optimisation.
        (void)internal::RemoveFile(prepared);
      }
    }
    if (!seg) {
      SLUICE_ASSIGN_OR_RETURN(seg, Segment::Create(dir, next, interval));
    }
    SLUICE_RETURN_IF_ERROR(internal::SyncDir(dir));
    return std::shared_ptr<Segment>(std::move(seg));
  };
  auto created = co_await deps_.blocking->Run(fn1);
  rolling_ = false;
  roll_done_.NotifyAll();
  const bool adopted_recycled = adopt && prepared_recycled_;
  if (adopt) {
    prealloc_ = Prealloc::kNone;
    prealloc_bytes_ = 0;
    prepared_recycled_ = false;
  } else if (prealloc_ == Prealloc::kFailed) {
    prealloc_ = Prealloc::kNone;  // try again for the segment after this one
  }
  if (!created.ok()) {
    write_error_ = created.status();
    co_return write_error_;
  }
  (*created)->set_created_ms(deps_.clock->NowMs());
  active_recycled_ = adopted_recycled && (*created)->allocated() > 0;
  if (adopt && (*created)->allocated() > 0) stats_.segments_preallocated++;
  if (active_recycled_) stats_.segments_recycled++;
  if (replace) {
    segments_[next.value()] = std::move(*created);
  } else {
    unsynced_files_.push_back(sealed->log_file());
    segments_.emplace(next.value(), std::move(*created));
    ++sealed_since_compaction_;
  }
  if (config_.preallocate) StartPreallocation(co_await asio::this_coro::executor);
  co_return Status::Ok();
}

Task<Result<AppendResult>> PartitionLog::Append(std::string batch) {
  auto self = shared_from_this();
  if (closed_) co_return ClosedError();
  if (!write_error_.ok()) {
    co_return Unavailable("partition {} is read-only after an I/O error ({}); restart to reopen",
                          tp_, write_error_.message());
  }
  if (static_cast<int64_t>(batch.size()) > config_.max_message_bytes) {
    co_return ResourceExhausted("batch of {} bytes exceeds max_message_bytes {} of topic {}",
                                batch.size(), config_.max_message_bytes, tp_.topic);
  }
  if (config_.preallocate && prealloc_ == Prealloc::kNone) {
    StartPreallocation(co_await asio::this_coro::executor);
  }
  // Most appends neither roll nor wait for a roll: test that here rather than paying a
  // RollIfNeeded coroutine frame per append.
  if (NeedsRoll(batch.size())) SLUICE_CO_RETURN_IF_ERROR(co_await RollIfNeeded(batch.size()));
  if (closed_) co_return ClosedError();
  if (!write_error_.ok()) co_return Unavailable("partition {} is read-only", tp_);
  // No suspension between here and queuing the batch: offsets are assigned in log order.
  const Offset base = pending_.empty() ? next_offset() : pending_next_;
  model::SetBaseOffset(batch, base);
  const model::RecordBatchView v(batch);
  const int32_t records = v.record_count();
  const Offset end = v.last_offset() + 1;
  pending_batches_.push_back(PendingBatch{records, static_cast<int64_t>(batch.size())});
  pending_bytes_ += static_cast<int64_t>(batch.size());
  pending_next_ = end;
  pending_.push_back(std::move(batch));  // `v` must not be used after this
  const uint64_t my_gen = write_gen_ + 1;
  if (!write_posted_) {
    write_posted_ = true;
    auto ex = co_await asio::this_coro::executor;  // named: see the GCC 12 rule in runtime/
    auto write = [self, ex] {
      self->WritePending();
      self->PrefetchAhead(ex);
    };
    asio::post(ex, std::move(write));
  }
  while (write_gen_ < my_gen) co_await written_.Wait();
  if (auto failed = failed_writes_.find(my_gen); failed != failed_writes_.end()) {
    co_return failed->second;
  }
  AppendResult result{base, records, deps_.clock->NowMs()};
  switch (config_.durability) {
    case Durability::kAlways:
      SLUICE_CO_RETURN_IF_ERROR(co_await WaitDurable(end));
      break;
    case Durability::kInterval:
      ScheduleIntervalFlush(co_await asio::this_coro::executor);
      break;
    case Durability::kNever:
      break;
  }
  co_return result;
}

void PartitionLog::WritePending() {
  write_posted_ = false;
  if (pending_.empty()) return;
  const uint64_t gen = write_gen_ + 1;
  Status st;
  if (closed_) {
    st = ClosedError();
  } else if (!write_error_.ok()) {
    st = Unavailable("partition {} is read-only", tp_);
  } else {
    Segment& seg = active();
    const int64_t size_before = seg.size();
    if (deps_.faults && FaultInjector::Take(deps_.faults->fail_writes)) {
      (void)seg.log_file()->WriteAt(
          size_before, std::string_view(pending_.front()).substr(0, pending_.front().size() / 2));
      st = ErrnoStatus("write " + seg.log_file()->path() + " (injected)", ENOSPC);
    } else {
      st = seg.AppendBatches(pending_);
    }
    if (!st.ok()) {
      // A partial write must not stay behind a later append.
      Status undo = seg.TruncateTo(size_before);
      if (!undo.ok()) write_error_ = st;
      st = st.WithContext(fmt::format("append to {}", tp_));
    } else {
      for (const auto& b : pending_batches_) {
        stats_.appended_batches++;
        stats_.appended_records += static_cast<uint64_t>(b.records);
        stats_.appended_bytes += static_cast<uint64_t>(b.bytes);
        if (deps_.probe.appended_records) {
          deps_.probe.appended_records->Inc(static_cast<uint64_t>(b.records));
          deps_.probe.appended_bytes->Inc(static_cast<uint64_t>(b.bytes));
        }
      }
    }
  }
  if (!st.ok()) {
    failed_writes_[gen] = st;
    while (failed_writes_.size() > 64) failed_writes_.erase(failed_writes_.begin());
    // The clients are told; the operator needs to hear it too (a full disk fails every append
    // of every partition on it), but not once per batch.
    const int64_t now = deps_.clock->NowMs();
    if (now - last_write_warning_ms_ >= kWriteWarningIntervalMs) {
      last_write_warning_ms_ = now;
      internal::Logger().warn("{} (the batches were refused; the next such failures of this "
                              "partition within {} s are not logged)",
                              st.message(), kWriteWarningIntervalMs / 1000);
    }
  }
  pending_.clear();
  pending_bytes_ = 0;
  pending_batches_.clear();
  write_gen_ = gen;
  written_.NotifyAll();
  if (st.ok() && config_.durability != Durability::kAlways) data_arrived_.NotifyAll();
}

// A write that ends inside a page the page cache does not hold reads that page first,
// synchronously, on the shard (ext4_block_write_begin). In a preallocated segment every page
// ahead of the tail was written by the zero-fill, but some still go missing from the cache
// before the tail reaches them: on the Firecracker VM the benchmarks run on, `mincore` showed
// one or two 128 KiB pieces of each 256 MiB segment gone within seconds, with no reclaim
// counted, and `perf` caught the shards' `pwritev` issuing ~20 reads a second, each append that
// met one waiting for a disk read queued behind the fdatasyncs. So each time the tail has moved
// kStep on, the pool asks again for the kWindow ahead of it: missing pages are read back in
// the background, cached ones cost a lookup.
void PartitionLog::PrefetchAhead(const asio::any_io_executor& ex) {
  constexpr int64_t kWindow = 1 << 20;
  constexpr int64_t kStep = 256 << 10;
  if (prefetching_ || closed_ || !write_error_.ok()) return;
  Segment& seg = active();
  if (seg.allocated() == 0) return;  // a plain segment: nothing ahead of the tail
  const int64_t base = seg.base_offset().value();
  const int64_t tail = seg.size();
  if (base == prefetch_segment_ && tail < prefetched_from_ + kStep) return;
  const int64_t to = std::min(seg.allocated(), tail + kWindow);
  if (to <= tail) return;
  prefetch_segment_ = base;
  prefetched_from_ = tail;
  prefetching_ = true;
  auto self = shared_from_this();
  std::shared_ptr<internal::File> f = seg.log_file();
  asio::co_spawn(
      ex,
      [self, f, tail, to]() -> Task<void> {
        auto hint = [f, tail, to]() { return f->WillNeed(tail, to - tail); };
        (void)co_await self->deps_.blocking->Run(hint);  // a hint: failing it changes nothing
        self->prefetching_ = false;
      },
      asio::detached);
}

Task<Status> PartitionLog::WaitDurable(Offset target) {
  while (durable_offset_ < target) {
    if (!write_error_.ok()) {
      co_return Unavailable("partition {}: flush failed ({}); the write is not acknowledged", tp_,
                            write_error_.message());
    }
    if (closed_ && deleted_) {
      co_return NotFound("topic '{}' was deleted before the write was durable", tp_.topic);
    }
    if (closed_) co_return Unavailable("partition {} closed before the write was durable", tp_);
    // Start a flush unless one already started after this write (it covers it). Up to
    // kMaxFlushesInFlight overlap, so a write that arrives during a flush does not wait for
    // that flush and then a whole second one.
    if (flush_target_started_ < target && flushes_in_flight_ < kMaxFlushesInFlight) {
      StartFlush(co_await asio::this_coro::executor);
    }
    co_await flush_done_.Wait();
  }
  co_return Status::Ok();
}

// One group commit: fdatasync of every file written since the last durable point. Appends
// that arrive while it runs are covered by the next one. fdatasync covers every dirty page of
// the file whoever wrote it, so a later flush that finishes first makes the earlier range
// durable too; sealed files stay listed until a flush that synced them succeeds.
void PartitionLog::StartFlush(asio::any_io_executor ex) {
  if (flushes_in_flight_ >= kMaxFlushesInFlight || !write_error_.ok()) return;
  // Claimed here, before the coroutine first runs, so concurrent waiters see it at once.
  ++flushes_in_flight_;
  flush_target_started_ = next_offset();
  auto self = shared_from_this();  // keeps the partition alive until the flush ends
  asio::co_spawn(
      ex, [self]() -> Task<void> { co_await self->RunFlush(); }, asio::detached);
}

Task<void> PartitionLog::RunFlush() {
  auto self = shared_from_this();
  const Offset target = next_offset();
  const int64_t seg_base = active().base_offset().value();
  const int64_t position = active().size();
  std::vector<std::shared_ptr<internal::File>> files = unsynced_files_;
  files.push_back(active().log_file());
  const Clock* clock = deps_.clock;
  FaultInjector* faults = deps_.faults;
  auto fn2 = [files, clock, faults]() -> std::pair<Status, int64_t> {
    const int64_t t0 = clock->MonotonicNs();
    if (faults && FaultInjector::Take(faults->fail_syncs)) {
      return {ErrnoStatus("fdatasync (injected)", EIO), 0};
    }
    for (const auto& f : files) {
      // Let an overlapping flush's writeback finish first, holding no page lock (see
      // File::WaitForWriteback): the shard's next append into the tail page does not stall.
      Status s = f->WaitForWriteback();
      if (s.ok()) s = f->DataSync();
      if (!s.ok()) return {s, 0};
    }
    return {Status::Ok(), clock->MonotonicNs() - t0};
  };
  auto [st, ns] = co_await deps_.blocking->Run(fn2);
  --flushes_in_flight_;
  if (st.ok()) {
    std::erase_if(unsynced_files_, [&](const std::shared_ptr<internal::File>& f) {
      return std::find(files.begin(), files.end(), f) != files.end();
    });
  }
  stats_.fsyncs++;
  stats_.fsync_ns_total += ns;
  if (deps_.probe.fsync_seconds && st.ok())
    deps_.probe.fsync_seconds->Observe(static_cast<double>(ns) / 1e9);
  if (!st.ok()) {
    // Never pretend: the partition stops taking writes until it is reopened.
    if (write_error_.ok()) {
      internal::Logger().error("partition {} is read-only: a group commit failed ({}); its "
                               "unflushed batches were not acknowledged; restart to reopen",
                               tp_, st.message());
    }
    write_error_ = st;
  } else if (target > durable_offset_) {
    durable_offset_ = target;
    durable_segment_ = seg_base;
    durable_position_ = position;
  }
  flush_done_.NotifyAll();
  data_arrived_.NotifyAll();
}

void PartitionLog::ScheduleIntervalFlush(asio::any_io_executor ex) {
  if (interval_flush_scheduled_) return;
  interval_flush_scheduled_ = true;
  auto self = shared_from_this();
  asio::co_spawn(
      ex,
      [self, ex]() -> Task<void> {
        asio::steady_timer t(ex, std::chrono::milliseconds(self->config_.flush_interval_ms));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        self->interval_flush_scheduled_ = false;
        if (!self->closed_) (void)co_await self->Flush();
      },
      asio::detached);
}

Task<Status> PartitionLog::Flush() {
  auto self = shared_from_this();
  co_return co_await WaitDurable(next_offset());
}

Task<Status> PartitionLog::Checkpoint() {
  auto self = shared_from_this();
  if (!write_error_.ok() || closed_) co_return Status::Ok();
  if (durable_segment_ == checkpointed_segment_ && durable_position_ == checkpointed_position_) {
    co_return Status::Ok();
  }
  const int64_t seg = durable_segment_;
  const int64_t pos = durable_position_;
  auto it = segments_.find(seg);
  if (it == segments_.end()) co_return Status::Ok();
  std::shared_ptr<Segment> s = it->second;
  // Index entries are written here (on the owner shard), synced on the pool.
  SLUICE_CO_RETURN_IF_ERROR(s->FlushIndexes());
  auto fn3 = [s, rp = recovery_point_, seg, pos]() -> Status {
    SLUICE_RETURN_IF_ERROR(s->SyncIndexes());
    return rp->Write(seg, pos);
  };
  Status st = co_await deps_.blocking->Run(fn3);
  if (st.ok()) {
    checkpointed_segment_ = seg;
    checkpointed_position_ = pos;
  }
  co_return st;
}

Task<Result<ReadResult>> PartitionLog::Read(Offset offset, ReadOptions options) {
  auto self = shared_from_this();
  if (options.max_records < 1) co_return InvalidArgument("max_records must be >= 1");
  if (offset.value() < 0) co_return InvalidArgument("offset {} is negative", offset.value());
  if (offset < log_start_offset()) {
    co_return OutOfRange("offset {} is before the log start offset {} of {}", offset.value(),
                         log_start_offset().value(), tp_);
  }
  if (offset > high_watermark()) {
    co_return OutOfRange("offset {} is beyond the high watermark {} of {}", offset.value(),
                         high_watermark().value(), tp_);
  }
  if (offset == high_watermark() && options.wait_ms > 0) {
    const auto deadline = runtime::Event::Clock::now() + std::chrono::milliseconds(options.wait_ms);
    while (offset == high_watermark() && !closed_ && runtime::Event::Clock::now() < deadline) {
      co_await data_arrived_.WaitUntil(deadline);
    }
    if (offset < log_start_offset()) {
      co_return OutOfRange("offset {} was removed by retention while waiting", offset.value());
    }
  }
  ReadResult out;
  out.requested = offset;
  out.max_records = options.max_records;
  out.log_start_offset = log_start_offset();
  const Offset hw = high_watermark();
  out.high_watermark = hw;
  out.next_offset = offset;
  if (offset >= hw) co_return out;
  int64_t bytes = 0;
  int64_t records = 0;
  auto it = segments_.upper_bound(offset.value());
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    const Segment& seg = *it->second;
    if (seg.next_offset() <= offset) continue;
    auto pos = seg.FindPosition(offset);
    if (!pos.ok()) co_return pos.status();
    const size_t before = out.batches.size();
    Status st =
        seg.ReadBatches(*pos, hw, options.max_bytes - bytes, read_buffers_, &out.batches, &bytes);
    if (!st.ok()) co_return st;
    for (size_t i = before; i < out.batches.size(); ++i) {
      auto v = out.batches[i].view();
      records += v.last_offset() + 1 - std::max(v.base_offset(), offset);
    }
    if (bytes >= options.max_bytes || records >= options.max_records) break;
    if (out.batches.size() == before && seg.next_offset() >= hw) break;
  }
  // Trim to max_records and compute where the next read starts.
  Offset next = offset;
  int64_t counted = 0;
  size_t keep = 0;
  for (; keep < out.batches.size(); ++keep) {
    auto v = out.batches[keep].view();
    if (counted >= options.max_records) break;
    Offset first = std::max(v.base_offset(), offset);
    int64_t n = v.last_offset() + 1 - first;
    if (counted + n > options.max_records) {
      // Batch straddles the limit: keep it; the next read resumes inside it.
      next = first + (options.max_records - counted);
      counted = options.max_records;
      ++keep;
      break;
    }
    counted += n;
    next = v.last_offset() + 1;
  }
  out.batches.resize(keep);
  // Nothing left below hw (compaction can leave gaps): skip to it.
  out.next_offset = out.batches.empty() ? hw : next;
  co_return out;
}

Result<Offset> PartitionLog::OffsetForTimestamp(model::TimestampMs ts) const {
  const Offset hw = high_watermark();
  for (const auto& [base, seg] : segments_) {
    auto found = seg->FindOffsetForTimestamp(ts);
    if (!found.ok()) return found.status();
    if (*found) return std::min(**found, hw);
  }
  return hw;
}

Task<Status> PartitionLog::Housekeeping(bool force) {
  auto self = shared_from_this();
  if (closed_ || housekeeping_running_) co_return Status::Ok();
  housekeeping_running_ = true;
  Status st = co_await ApplyRetention();
  if (st.ok() && config_.cleanup_policy == CleanupPolicy::kCompact &&
      (force || sealed_since_compaction_ > 0)) {
    st = co_await Compact();
  }
  housekeeping_running_ = false;
  co_return st;
}

Task<Status> PartitionLog::ApplyRetention() {
  if (closed_) co_return Status::Ok();
  if (config_.cleanup_policy == CleanupPolicy::kCompact) co_return Status::Ok();
  const int64_t now = deps_.clock->NowMs();
  int64_t total = 0;
  for (const auto& [b, s] : segments_) total += s->size();
  std::vector<std::shared_ptr<Segment>> doomed;
  // Only sealed segments go, oldest first, as whole segments.
  while (segments_.size() > 1) {
    auto& oldest = segments_.begin()->second;
    bool expired = config_.retention_ms > 0 && oldest->max_timestamp() != model::kNoTimestamp &&
                   oldest->max_timestamp() < now - config_.retention_ms;
    bool over = config_.retention_bytes > 0 && total - oldest->size() >= config_.retention_bytes;
    if (!expired && !over) break;
    total -= oldest->size();
    doomed.push_back(oldest);
    segments_.erase(segments_.begin());
  }
  if (doomed.empty()) co_return Status::Ok();
  stats_.segments_deleted += doomed.size();
  // The oldest goes first, so a crash part-way leaves the log without a gap.
  std::shared_ptr<Segment> keep;
  if (config_.preallocate && deps_.recycle_segments && !recycled_ready_ && !recycling_) {
    keep = doomed.front();
    recycling_ = true;
  }
  const std::string recycled = RecycledPath();
  internal::Reaper* reaper = deps_.reaper;
  metrics::Counter* at_once = deps_.probe.unlinked_at_once;
  auto fn4 = [doomed, keep, recycled, reaper, at_once]() -> Result<bool> {
    bool kept = false;
    for (const auto& s : doomed) {
      if (s == keep) {
        Status r = s->Recycle(recycled);
        kept = r.ok();
        if (kept) continue;
        // Not renamed, or renamed with its indexes left: delete what is left of it.
        (void)internal::RemoveFile(recycled);
      }
      // Deleted gradually unless the reaper's queue is full (then at once).
      if (reaper && reaper->Admits(s->size())) {
        auto path = s->Retire();
        if (path.ok()) {
          reaper->Add(*path, s->size());
          continue;
        }
      } else if (reaper && at_once) {
        at_once->Inc();
      }
      SLUICE_RETURN_IF_ERROR(s->Delete());
    }
    return kept;
  };
  auto kept = co_await deps_.blocking->Run(fn4);
  if (keep) {
    recycling_ = false;
    recycled_ready_ = kept.ok() && *kept;
    if (recycled_ready_ && (!config_.preallocate || closed_)) {
      // Switched off meanwhile (closed: the next open decides).
      if (!closed_) (void)internal::RemoveFile(recycled);
      recycled_ready_ = false;
    }
  }
  co_return kept.status();
}

Task<Status> PartitionLog::Compact() {
  // Sealed segments are immutable, so the pool can read and rewrite them while appends go on.
  std::vector<std::shared_ptr<Segment>> sealed;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    sealed.push_back(it->second);
  }
  if (sealed.empty()) co_return Status::Ok();
  std::shared_ptr<Segment> act = segments_.rbegin()->second;
  const int64_t active_end = act->size();
  internal::CompactionInput input{dir_,
                                  sealed,
                                  act,
                                  active_end,
                                  deps_.clock->NowMs(),
                                  config_.delete_retention_ms,
                                  config_.index_interval_bytes,
                                  deps_.reaper};
  auto fn5 = [input]() { return internal::CompactSegments(input); };
  auto result = co_await deps_.blocking->Run(fn5);
  if (!result.ok()) co_return result.status();
  for (auto& seg : result->replaced) {
    seg->set_created_ms(deps_.clock->NowMs());
    segments_[seg->base_offset().value()] = seg;
  }
  stats_.compactions++;
  sealed_since_compaction_ = 0;
  co_return Status::Ok();
}

Status PartitionLog::ClosedError() const {
  if (deleted_) return NotFound("topic '{}' was deleted", tp_.topic);
  return Unavailable("partition {} is closed", tp_);
}

Task<Status> PartitionLog::Close(bool clean) {
  auto self = shared_from_this();
  if (closed_) co_return Status::Ok();
  Status st;
  if (clean && write_error_.ok()) {
    while (rolling_) co_await roll_done_.Wait();
    WritePending();  // batches waiting for this turn's write go out before the flush
    st = co_await Flush();
    if (st.ok()) {
      std::shared_ptr<Segment> act = segments_.rbegin()->second;
      const std::string marker = CleanMarkerPath();
      const int64_t seg = act->base_offset().value();
      const int64_t pos = act->size();
      SLUICE_CO_RETURN_IF_ERROR(act->FlushIndexes());
      auto fn6 = [act, marker, rp = recovery_point_, seg, pos]() -> Status {
        // A clean start trusts every byte of the file: no zero-filled tail may stay.
        SLUICE_RETURN_IF_ERROR(act->TrimPreallocation());
        SLUICE_RETURN_IF_ERROR(act->SyncIndexes());
        SLUICE_RETURN_IF_ERROR(rp->Write(seg, pos));
        return internal::WriteFileAtomic(marker, "clean\n");
      };
      st = co_await deps_.blocking->Run(fn6);
    }
  }
  closed_ = true;
  WritePending();  // anything still pending fails (closed) and its appenders wake
  flush_done_.NotifyAll();
  data_arrived_.NotifyAll();
  roll_done_.NotifyAll();
  co_return st;
}

}  // namespace sluice::storage
