// EmbeddedLog: topic table, shard ownership of partitions, admin, offsets store, housekeeping.
#include "storage/embedded_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>

#include "metrics/registry.h"
#include "storage/internal/disk_space.h"
#include "storage/internal/file.h"
#include "storage/internal/logger.h"
#include "storage/internal/offsets_codec.h"
#include "storage/internal/reaper.h"
#include "storage/partition_log.h"

namespace sluice::storage {
using model::Offset;
using model::PartitionId;
using model::TopicPartition;
using runtime::ShardId;

namespace {

constexpr char kOffsetsTopic[] = "_offsets";
constexpr char kDeletedSuffix[] = ".deleted";

struct TopicMeta {
  TopicConfig config;
  bool internal = false;
};
using TopicTable = std::map<std::string, TopicMeta>;

std::string SerializeConfig(const TopicConfig& c) {
  std::string out;
  for (const auto& [k, v] : c.ToMap()) out += k + "=" + v + "\n";
  return out;
}

Result<TopicConfig> ParseConfig(const std::string& text, const std::string& path) {
  std::map<std::string, std::string> kv;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return DataLoss("{}: malformed line '{}'", path, line);
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  TopicConfig c;
  Status st = c.Apply(kv);
  if (!st.ok()) return st.WithContext(path);
  return c;
}

}  // namespace

// Per-shard state; touched only on its shard.
struct ShardState {
  std::unordered_map<TopicPartition, std::shared_ptr<PartitionLog>> partitions;
  runtime::Event wake;
  bool stopping = false;
  bool loop_running = false;
  runtime::Event loop_exited;
};

class EmbeddedLogImpl {
 public:
  EmbeddedLogImpl(EmbeddedLogOptions options, runtime::Shards& shards, const Clock& clock)
      : options_(std::move(options)),
        shards_(shards),
        clock_(clock),
        preallocation_pacer_(options_.preallocate_bytes_per_second),
        disk_space_(options_.data_dir, options_.min_free_bytes) {
    if (options_.delete_bytes_per_second > 0) {
      reaper_ = std::make_unique<internal::Reaper>(options_.delete_bytes_per_second, &clock_);
    }
    for (size_t i = 0; i < shards_.size(); ++i)
      shard_state_.push_back(std::make_unique<ShardState>());
    table_.store(std::make_shared<const TopicTable>());
  }
  ~EmbeddedLogImpl() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  std::string TopicsDir() const { return options_.data_dir + "/topics"; }
  std::string TopicDir(const std::string& t) const { return TopicsDir() + "/" + t; }
  std::string PartitionDir(const TopicPartition& tp) const {
    return fmt::format("{}/{}", TopicDir(tp.topic), tp.partition.value());
  }

  // Partition p of a topic is owned by shard (hash(topic) + p) mod shards, so a topic's
  // partitions spread over every shard.
  ShardId Owner(const TopicPartition& tp) const {
    size_t h = std::hash<std::string_view>()(tp.topic);
    return ShardId(
        static_cast<uint32_t>((h + static_cast<size_t>(tp.partition.value())) % shards_.size()));
  }

  // A partition of `topic` owned by the calling shard; see Log::LocalPartition.
  std::optional<PartitionId> PickLocalPartition(std::string_view topic, int32_t count,
                                                uint64_t seed) const {
    const uint32_t shard = runtime::Shards::CurrentIndex();
    const size_t n = shards_.size();
    if (shard >= n || count <= 0) return std::nullopt;
    // Local partitions are first, first + n, first + 2n, ... below count.
    const size_t h = std::hash<std::string_view>()(topic) % n;
    const auto first = static_cast<int64_t>((shard + n - h) % n);
    if (first >= count) return std::nullopt;
    const int64_t local = (count - 1 - first) / static_cast<int64_t>(n) + 1;
    const int64_t k = static_cast<int64_t>(seed % static_cast<uint64_t>(local));
    return PartitionId(static_cast<int32_t>(first + k * static_cast<int64_t>(n)));
  }
  ShardState& Local() {
    uint32_t i = runtime::Shards::CurrentIndex();
    SLUICE_CHECK(i < shard_state_.size(), "storage call off a shard thread");
    return *shard_state_[i];
  }
  std::shared_ptr<const TopicTable> Table() const { return table_.load(); }
  PartitionLog::Deps Deps() {
    return {&shards_.blocking(),
            &clock_,
            probe_,
            options_.faults,
            &preallocation_pacer_,
            options_.recycle_segments,
            reaper_.get()};
  }

  void InitMetrics() {
    metrics::Registry* r = options_.metrics;
    if (!r) return;
    probe_.appended_records = &r->GetCounter("sluice_storage_appended_records_total",
                                             "Records appended to the embedded store");
    probe_.appended_bytes = &r->GetCounter("sluice_storage_appended_bytes_total",
                                           "Batch bytes appended to the embedded store");
    probe_.fsync_seconds =
        &r->GetHistogram("sluice_storage_fsync_seconds", "Duration of one group-commit fdatasync",
                         metrics::LatencyBucketsSeconds());
    probe_.unlinked_at_once = &r->GetCounter(
        "sluice_storage_segments_unlinked_at_once_total",
        "Removed segments unlinked at once because the gradual-deletion backlog was full");
  }

  // Per-partition gauges, refreshed by each shard's housekeeping tick (on the owner shard).
  static metrics::Labels PartitionLabels(const TopicPartition& tp) {
    return {{"topic", tp.topic}, {"partition", std::to_string(tp.partition.value())}};
  }
  void PublishPartitionGauges(const TopicPartition& tp, const PartitionLog& p) {
    metrics::Registry* r = options_.metrics;
    if (!r) return;
    const metrics::Labels labels = PartitionLabels(tp);
    const PartitionInfo info = p.Info();
    {
      std::lock_guard lock(high_watermarks_mu_);
      high_watermarks_[tp] = info.high_watermark.value();
    }
    r->GetGauge("sluice_storage_log_start_offset", "First offset still stored", labels)
        .Set(static_cast<double>(info.log_start_offset.value()));
    r->GetGauge("sluice_storage_high_watermark", "First offset not yet readable", labels)
        .Set(static_cast<double>(info.high_watermark.value()));
    r->GetGauge("sluice_storage_partition_size_bytes", "Bytes in the partition's segments", labels)
        .Set(static_cast<double>(info.size_bytes));
    r->GetGauge("sluice_storage_partition_segments", "Segments in the partition", labels)
        .Set(static_cast<double>(info.segments));
    r->GetGauge("sluice_storage_partition_read_only",
                "1 when the partition refuses writes after an I/O error", labels)
        .Set(p.write_error().ok() ? 0 : 1);
    if (p.config().preallocate) {
      // 0 while a `preallocate` partition appends to a plain segment (its first, one after a
      // restart, or one the zero-fill did not keep up with): every fdatasync then commits the
      // journal too.
      r->GetGauge("sluice_storage_active_segment_preallocated",
                  "1 when a preallocate topic's partition appends into zero-filled blocks", labels)
          .Set(info.active_segment_preallocated ? 1 : 0);
      r->GetGauge("sluice_storage_partition_preallocated_bytes",
                  "Zero-filled bytes held ahead of the partition's data", labels)
          .Set(static_cast<double>(std::max<int64_t>(0, info.preallocated_bytes)));
    }
  }

  // Store-wide gauges of gradual deletion (the reaper), refreshed with the partitions'.
  void PublishStoreGauges() {
    metrics::Registry* r = options_.metrics;
    if (!r) return;
    const internal::DiskSpaceGuard::Space space = disk_space_.Get();
    if (space.total_bytes >= 0) {
      r->GetGauge("sluice_storage_disk_free_bytes",
                  "Bytes available on the data directory's filesystem")
          .Set(static_cast<double>(space.free_bytes));
      r->GetGauge("sluice_storage_disk_total_bytes", "Size of the data directory's filesystem")
          .Set(static_cast<double>(space.total_bytes));
      r->GetGauge("sluice_storage_disk_min_free_bytes",
                  "Free bytes below which client appends are refused (0: never)")
          .Set(static_cast<double>(space.min_free_bytes));
      r->GetGauge("sluice_storage_disk_space_low",
                  "1 while client appends are refused because the disk is nearly full")
          .Set(space.low ? 1 : 0);
    }
    if (!reaper_) return;
    const internal::Reaper::Stats s = reaper_->GetStats();
    r->GetGauge("sluice_storage_delete_backlog_bytes",
                "Bytes of removed segments still being deleted gradually")
        .Set(static_cast<double>(s.backlog_bytes));
    r->GetGauge("sluice_storage_delete_backlog_files",
                "Removed files and deleted topics still being deleted gradually")
        .Set(static_cast<double>(s.pending));
  }

  // Each group's lag, summed and at most, over its committed partitions whose high watermark
  // the shards' ticks have recorded (partitions of deleted topics are left out). On the offsets
  // owner shard, once per tick.
  void PublishGroupLag() {
    metrics::Registry* r = options_.metrics;
    if (!r) return;
    auto table = Table();
    std::set<std::string> seen;
    for (const auto& [group, partitions] : offsets_) {
      if (partitions.empty()) continue;
      int64_t sum = 0, max = 0;
      for (const auto& [tp, o] : partitions) {
        auto t = table->find(tp.topic);
        if (t == table->end() || tp.partition.value() >= t->second.config.partitions) continue;
        int64_t hw = -1;
        {
          std::lock_guard lock(high_watermarks_mu_);
          auto it = high_watermarks_.find(tp);
          if (it != high_watermarks_.end()) hw = it->second;
        }
        if (hw < 0) continue;
        const int64_t lag = std::max<int64_t>(0, hw - o.offset.value());
        sum += lag;
        max = std::max(max, lag);
      }
      const metrics::Labels labels{{"group", group}};
      r->GetGauge("sluice_consumer_group_lag_sum",
                  "Events the group has not consumed yet, over its committed partitions", labels)
          .Set(static_cast<double>(sum));
      r->GetGauge("sluice_consumer_group_lag_max",
                  "The largest lag of the group on one of its committed partitions", labels)
          .Set(static_cast<double>(max));
      seen.insert(group);
    }
    for (const auto& gone : lag_groups_published_) {
      if (seen.count(gone) == 0) r->RemoveGauges({{"group", gone}});
    }
    lag_groups_published_ = std::move(seen);
  }

  // Looks at the free space again and logs when client appends start or stop being refused.
  // Called on open and by shard 0's housekeeping tick (every checkpoint interval).
  void RefreshDiskSpace() {
    auto space = disk_space_.Refresh();
    if (!space.ok()) {
      internal::Logger().warn("cannot read the free space of {}: {}", options_.data_dir,
                              space.status().message());
      return;
    }
    if (space->low) {
      LogLowDiskSpace();
    } else if (low_space_logged_.exchange(false)) {
      internal::Logger().info("disk space is back: {} free; accepting appends again",
                              internal::DiskSpaceGuard::Bytes(space->free_bytes));
    }
  }
  // Once per period of refused appends (any shard): the first refusal, or the first look that
  // finds the disk nearly full, says so at once.
  void LogLowDiskSpace() {
    if (low_space_logged_.exchange(true)) return;
    using Guard = internal::DiskSpaceGuard;
    const Guard::Space space = disk_space_.Get();
    internal::Logger().error(
        "disk nearly full: {} free of {} in {}, store.min_free_bytes is {}; refusing appends to "
        "client topics (503) until space is freed",
        Guard::Bytes(space.free_bytes), Guard::Bytes(space.total_bytes), options_.data_dir,
        Guard::Bytes(space.min_free_bytes));
  }
  // Admits a client append of `bytes` against the free-space reserve.
  Status AdmitClientAppend(int64_t bytes) {
    Status st = disk_space_.Admit(bytes);
    if (!st.ok()) LogLowDiskSpace();
    return st;
  }

  Result<std::shared_ptr<PartitionLog>> LocalPartition(const TopicPartition& tp) {
    auto& parts = Local().partitions;
    auto it = parts.find(tp);
    if (it == parts.end()) return NotFound("partition {} does not exist", tp);
    return it->second;
  }

  Status CheckPartition(const TopicPartition& tp, TopicMeta* meta_out = nullptr) const {
    auto table = Table();
    auto it = table->find(tp.topic);
    if (it == table->end()) return NotFound("topic '{}' does not exist", tp.topic);
    if (tp.partition.value() < 0 || tp.partition.value() >= it->second.config.partitions) {
      return NotFound("topic '{}' has no partition {} (it has {})", tp.topic, tp.partition.value(),
                      it->second.config.partitions);
    }
    if (meta_out) *meta_out = it->second;
    return Status::Ok();
  }

  // ---- start-up ----
  Status OpenAll() {
    InitMetrics();
    SLUICE_RETURN_IF_ERROR(internal::MakeDirs(TopicsDir()));
    const std::string lock_path = options_.data_dir + "/.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return ErrnoStatus("open " + lock_path, errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return FailedPrecondition("data directory {} is in use by another sluice process",
                                options_.data_dir);
    }
    RefreshDiskSpace();
    PublishStoreGauges();  // from the start, not only from the first tick
    DIR* d = ::opendir(TopicsDir().c_str());
    if (!d) return ErrnoStatus("opendir " + TopicsDir(), errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    auto table = std::make_shared<TopicTable>();
    for (const auto& n : names) {
      if (n.ends_with(kDeletedSuffix)) {
        SLUICE_RETURN_IF_ERROR(internal::RemoveAll(TopicDir(n)));  // interrupted delete
        continue;
      }
      const std::string conf_path = TopicDir(n) + "/topic.conf";
      if (!internal::Exists(conf_path)) {
        // A create that crashed before its config was written: nothing was acknowledged.
        SLUICE_RETURN_IF_ERROR(internal::RemoveAll(TopicDir(n)));
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(auto content, internal::ReadSmallFile(conf_path));
      SLUICE_ASSIGN_OR_RETURN(TopicConfig cfg, ParseConfig(content, conf_path));
      (*table)[n] = TopicMeta{cfg, n.starts_with("_")};
    }
    for (const auto& [name, meta] : *table) {
      for (int32_t p = 0; p < meta.config.partitions; ++p) {
        SLUICE_RETURN_IF_ERROR(OpenPartitionBlocking(TopicPartition{name, PartitionId(p)},
                                                     meta.config, /*create=*/true));
      }
    }
    table_.store(std::shared_ptr<const TopicTable>(table));
    if (!table->contains(kOffsetsTopic)) {
      TopicConfig oc;
      oc.partitions = 1;
      oc.cleanup_policy = CleanupPolicy::kCompact;
      oc.durability = Durability::kAlways;
      oc.segment_bytes = 64LL * 1024 * 1024;
      oc.retention_ms = -1;
      SLUICE_RETURN_IF_ERROR(runtime::BlockOn(shards_, ShardId(0), [this, oc]() -> Task<Status> {
        co_return co_await CreateTopicOnShard0(kOffsetsTopic, oc, /*internal=*/true);
      }));
    }
    SLUICE_RETURN_IF_ERROR(LoadOffsets());
    for (size_t i = 0; i < shards_.size(); ++i) {
      shards_.Spawn(ShardId(static_cast<uint32_t>(i)),
                    [this]() -> Task<void> { co_await HousekeepingLoop(); });
    }
    return Status::Ok();
  }

  Status OpenPartitionBlocking(const TopicPartition& tp, const TopicConfig& cfg, bool create) {
    auto opened = PartitionLog::Open(PartitionDir(tp), tp, cfg, Deps(), create);
    if (!opened.ok()) return opened.status();
    auto log = *opened;
    runtime::BlockOn(shards_, Owner(tp), [this, tp, log]() -> Task<bool> {
      Local().partitions[tp] = log;
      co_return true;
    });
    return Status::Ok();
  }

  // ---- housekeeping ----
  Task<void> HousekeepingLoop() {
    ShardState& st = Local();
    st.loop_running = true;
    int64_t last_housekeeping = clock_.NowMs();
    while (!st.stopping) {
      co_await st.wake.WaitUntil(runtime::Event::Clock::now() +
                                 std::chrono::milliseconds(options_.checkpoint_interval_ms));
      if (st.stopping) break;
      std::vector<std::shared_ptr<PartitionLog>> parts;
      for (auto& [tp, p] : st.partitions) parts.push_back(p);
      const bool hk = clock_.NowMs() - last_housekeeping >= options_.housekeeping_interval_ms;
      if (hk) last_housekeeping = clock_.NowMs();
      for (auto& p : parts) {
        if (st.stopping) break;
        (void)co_await p->Checkpoint();
        if (hk) (void)co_await p->Housekeeping(false);
        // Not one dropped (a deleted topic's) while this loop waited: its gauges are gone.
        auto live = st.partitions.find(p->tp());
        if (live != st.partitions.end() && live->second == p) PublishPartitionGauges(p->tp(), *p);
      }
      if (runtime::Shards::CurrentIndex() == 0) {
        RefreshDiskSpace();
        PublishStoreGauges();
      }
      if (runtime::Shards::CurrentIndex() == Owner(OffsetsTp()).value()) PublishGroupLag();
    }
    st.loop_running = false;
    st.loop_exited.NotifyAll();
  }

  Task<Status> HousekeepingAll() {
    Status first;
    for (size_t i = 0; i < shards_.size(); ++i) {
      auto fn1 = [this]() -> Task<Status> {
        std::vector<std::shared_ptr<PartitionLog>> parts;
        for (auto& [tp, p] : Local().partitions) parts.push_back(p);
        Status s;
        for (auto& p : parts) {
          Status r = co_await p->Housekeeping(true);
          if (s.ok()) s = r;
        }
        co_return s;
      };
      Status st = co_await shards_.InvokeOn(ShardId(static_cast<uint32_t>(i)), fn1);
      if (first.ok()) first = st;
    }
    co_return first;
  }

  // ---- stop ----
  void StopAll() {
    if (stopped_.exchange(true)) return;
    for (size_t i = 0; i < shards_.size(); ++i) {
      runtime::BlockOn(shards_, ShardId(static_cast<uint32_t>(i)), [this]() -> Task<bool> {
        ShardState& st = Local();
        st.stopping = true;
        st.wake.NotifyAll();
        while (st.loop_running) co_await st.loop_exited.Wait();
        for (auto& [tp, p] : st.partitions) (void)co_await p->Close(/*clean=*/true);
        st.partitions.clear();
        co_return true;
      });
    }
    // A deleted topic's files not yet removed stay; the next start removes them at once.
    if (reaper_) reaper_->Stop();
  }

  // ---- admin (serialised on shard 0) ----
  Task<void> LockAdmin() {
    while (admin_busy_) co_await admin_done_.Wait();
    admin_busy_ = true;
  }
  void UnlockAdmin() {
    admin_busy_ = false;
    admin_done_.NotifyAll();
  }

  Task<Status> CreateTopicOnShard0(std::string name, TopicConfig cfg, bool internal) {
    co_await LockAdmin();
    Status st = co_await CreateTopicLocked(name, cfg, internal);
    UnlockAdmin();
    co_return st;
  }

  Task<Status> CreateTopicLocked(std::string name, TopicConfig cfg, bool internal) {
    if (Table()->contains(name)) co_return AlreadyExists("topic '{}' already exists", name);
    const std::string dir = TopicDir(name);
    const std::string body = SerializeConfig(cfg);
    const std::string topics_dir = TopicsDir();
    auto fn2 = [dir, body, topics_dir]() -> Status {
      if (internal::Exists(dir)) SLUICE_RETURN_IF_ERROR(internal::RemoveAll(dir));
      SLUICE_RETURN_IF_ERROR(internal::MakeDirs(dir));
      SLUICE_RETURN_IF_ERROR(internal::SyncDir(topics_dir));
      return Status::Ok();
    };
    SLUICE_CO_RETURN_IF_ERROR(co_await shards_.blocking().Run(fn2));
    for (int32_t p = 0; p < cfg.partitions; ++p) {
      Status st = co_await AddPartition(TopicPartition{name, PartitionId(p)}, cfg);
      if (!st.ok()) {
        co_await DropPartitions(name, p);
        auto fn3 = [dir] { return internal::RemoveAll(dir); };
        (void)co_await shards_.blocking().Run(fn3);
        co_return st;
      }
    }
    // The config file is the commit point: a topic without it is removed on start.
    auto fn4 = [dir, body]() -> Status {
      return internal::WriteFileAtomic(dir + "/topic.conf", body);
    };
    SLUICE_CO_RETURN_IF_ERROR(co_await shards_.blocking().Run(fn4));
    auto table = std::make_shared<TopicTable>(*Table());
    (*table)[name] = TopicMeta{cfg, internal};
    table_.store(std::shared_ptr<const TopicTable>(table));
    co_return Status::Ok();
  }

  Task<Status> AddPartition(TopicPartition tp, TopicConfig cfg) {
    const std::string pdir = PartitionDir(tp);
    auto deps = Deps();
    auto fn5 = [pdir, tp, cfg, deps]() { return PartitionLog::Open(pdir, tp, cfg, deps, true); };
    auto opened = co_await shards_.blocking().Run(fn5);
    if (!opened.ok()) co_return opened.status();
    auto log = *opened;
    auto fn6 = [this, tp, log]() -> Task<Status> {
      Local().partitions[tp] = log;
      co_return Status::Ok();
    };
    co_return co_await shards_.InvokeOn(Owner(tp), fn6);
  }

  // Closes and forgets partitions [0, count) of a topic on their owners.
  Task<void> DropPartitions(std::string name, int32_t count) {
    for (int32_t p = 0; p < count; ++p) {
      TopicPartition tp{name, PartitionId(p)};
      auto fn7 = [this, tp]() -> Task<bool> {
        auto& parts = Local().partitions;
        auto it = parts.find(tp);
        if (it != parts.end()) {
          auto log = it->second;
          parts.erase(it);
          log->MarkDeleted();
          (void)co_await log->Close(/*clean=*/false);
          if (options_.metrics) options_.metrics->RemoveGauges(PartitionLabels(tp));
          std::lock_guard lock(high_watermarks_mu_);
          high_watermarks_.erase(tp);
        }
        co_return true;
      };
      co_await shards_.InvokeOn(Owner(tp), fn7);
    }
  }

  Task<Status> DeleteTopicOnShard0(std::string name) {
    co_await LockAdmin();
    auto table = Table();
    auto it = table->find(name);
    if (it == table->end()) {
      UnlockAdmin();
      co_return NotFound("topic '{}' does not exist", name);
    }
    const int32_t partitions = it->second.config.partitions;
    auto next = std::make_shared<TopicTable>(*table);
    next->erase(name);
    table_.store(std::shared_ptr<const TopicTable>(next));
    co_await DropPartitions(name, partitions);
    const std::string dir = TopicDir(name);
    const std::string doomed = fmt::format("{}.{}{}", dir, clock_.NowMs(), kDeletedSuffix);
    const std::string topics_dir = TopicsDir();
    internal::Reaper* reaper = reaper_.get();
    auto fn8 = [dir, doomed, topics_dir, reaper]() -> Status {
      SLUICE_RETURN_IF_ERROR(internal::Rename(dir, doomed));
      SLUICE_RETURN_IF_ERROR(internal::SyncDir(topics_dir));
      // Gone from the store now; its files are deleted a few MiB at a time (see Reaper).
      if (reaper) {
        reaper->Add(doomed, 0);
        return Status::Ok();
      }
      return internal::RemoveAll(doomed);
    };
    Status st = co_await shards_.blocking().Run(fn8);
    UnlockAdmin();
    co_return st;
  }

  Task<Status> AlterTopicOnShard0(std::string name, std::map<std::string, std::string> changes) {
    co_await LockAdmin();
    Status st = co_await AlterTopicLocked(name, std::move(changes));
    UnlockAdmin();
    co_return st;
  }

  Task<Status> AlterTopicLocked(std::string name, std::map<std::string, std::string> changes) {
    auto table = Table();
    auto it = table->find(name);
    if (it == table->end()) co_return NotFound("topic '{}' does not exist", name);
    TopicConfig cfg = it->second.config;
    const int32_t old_partitions = cfg.partitions;
    SLUICE_CO_RETURN_IF_ERROR(cfg.Apply(changes));
    if (cfg.partitions < old_partitions) {
      co_return InvalidArgument("topic '{}' has {} partitions; partitions can only grow", name,
                                old_partitions);
    }
    if (it->second.internal && cfg.cleanup_policy != it->second.config.cleanup_policy) {
      co_return InvalidArgument("cleanup_policy of internal topic '{}' cannot change", name);
    }
    for (int32_t p = old_partitions; p < cfg.partitions; ++p) {
      SLUICE_CO_RETURN_IF_ERROR(co_await AddPartition(TopicPartition{name, PartitionId(p)}, cfg));
    }
    const std::string path = TopicDir(name) + "/topic.conf";
    const std::string body = SerializeConfig(cfg);
    auto fn9 = [path, body]() { return internal::WriteFileAtomic(path, body); };
    SLUICE_CO_RETURN_IF_ERROR(co_await shards_.blocking().Run(fn9));
    auto next = std::make_shared<TopicTable>(*table);
    (*next)[name].config = cfg;
    table_.store(std::shared_ptr<const TopicTable>(next));
    for (int32_t p = 0; p < old_partitions; ++p) {
      TopicPartition tp{name, PartitionId(p)};
      auto fn10 = [this, tp, cfg]() -> Task<bool> {
        auto log = LocalPartition(tp);
        if (log.ok()) (*log)->SetConfig(cfg);
        co_return true;
      };
      co_await shards_.InvokeOn(Owner(tp), fn10);
    }
    co_return Status::Ok();
  }

  Task<Result<TopicDescription>> Describe(std::string name) {
    auto table = Table();
    auto it = table->find(name);
    if (it == table->end()) co_return NotFound("topic '{}' does not exist", name);
    TopicDescription d{name, it->second.config, {}, it->second.internal};
    for (int32_t p = 0; p < it->second.config.partitions; ++p) {
      TopicPartition tp{name, PartitionId(p)};
      auto fn11 = [this, tp]() -> Task<Result<PartitionInfo>> {
        auto log = LocalPartition(tp);
        if (!log.ok()) co_return log.status();
        co_return (*log)->Info();
      };
      auto info = co_await shards_.InvokeOn(Owner(tp), fn11);
      if (!info.ok()) co_return info.status();
      d.partitions.push_back(*info);
    }
    co_return d;
  }

  // ---- data ----
  Task<Result<AppendResult>> Append(TopicPartition tp, std::vector<model::ProduceRecord> records) {
    TopicMeta meta;
    SLUICE_CO_RETURN_IF_ERROR(CheckPartition(tp, &meta));
    if (records.empty()) co_return InvalidArgument("append of zero records");
    size_t estimate = 0;
    for (const auto& r : records) {
      if (meta.config.cleanup_policy == CleanupPolicy::kCompact && !r.key) {
        co_return InvalidArgument("topic '{}' is compacted: every record needs a key", tp.topic);
      }
      estimate += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0) + 32;
    }
    if (estimate > static_cast<size_t>(meta.config.max_message_bytes) + 64 * records.size()) {
      co_return ResourceExhausted(
          "batch of about {} bytes exceeds max_message_bytes {} of topic '{}'", estimate,
          meta.config.max_message_bytes, tp.topic);
    }
    model::RecordBatchBuilder builder(clock_.NowMs(), estimate);
    for (const auto& r : records) builder.Add(r);
    std::string batch = builder.Finish();
    if (!meta.internal) {
      SLUICE_CO_RETURN_IF_ERROR(AdmitClientAppend(static_cast<int64_t>(batch.size())));
    }
    co_return co_await AppendBatch(std::move(tp), std::move(batch));
  }

  Task<Result<AppendResult>> AppendEncoded(TopicPartition tp, std::string batch) {
    TopicMeta meta;
    SLUICE_CO_RETURN_IF_ERROR(CheckPartition(tp, &meta));
    model::RecordBatchView v(batch);
    if (batch.size() < model::batch_layout::kHeaderSize ||
        model::BatchTotalSize(batch.data()) != static_cast<int64_t>(batch.size())) {
      co_return InvalidArgument("append: {} bytes are not one record batch", batch.size());
    }
    if (Status st = v.VerifyHeaderAndCrc(); !st.ok()) {
      co_return InvalidArgument("append: {}", st.message());
    }
    if (v.record_count() <= 0) co_return InvalidArgument("append of zero records");
    if (meta.config.cleanup_policy == CleanupPolicy::kCompact) {
      bool keyless = false;
      SLUICE_CO_RETURN_IF_ERROR(
          v.ForEachRecord([&](const model::RecordView& r) { keyless |= !r.key.has_value(); }));
      if (keyless) {
        co_return InvalidArgument("topic '{}' is compacted: every record needs a key", tp.topic);
      }
    }
    if (!meta.internal) {
      SLUICE_CO_RETURN_IF_ERROR(AdmitClientAppend(static_cast<int64_t>(batch.size())));
    }
    co_return co_await AppendBatch(std::move(tp), std::move(batch));
  }

  // Hands an encoded batch to its partition's owner shard.
  Task<Result<AppendResult>> AppendBatch(TopicPartition tp, std::string batch) {
    const ShardId owner = Owner(tp);
    if (owner.value() == runtime::Shards::CurrentIndex()) {
      // The common case for keyless produce (the gateway prefers a local partition): append
      // in place, without InvokeOn's lambda coroutine. `log` keeps the partition alive.
      auto log = LocalPartition(tp);
      if (!log.ok()) co_return log.status();
      co_return co_await (*log)->Append(std::move(batch));
    }
    auto fn12 = [this, tp, batch = std::move(batch)]() mutable -> Task<Result<AppendResult>> {
      auto log = LocalPartition(tp);
      if (!log.ok()) co_return log.status();
      co_return co_await (*log)->Append(std::move(batch));
    };
    co_return co_await shards_.InvokeOn(owner, fn12);
  }

  Task<Result<ReadResult>> Read(TopicPartition tp, Offset offset, ReadOptions options) {
    SLUICE_CO_RETURN_IF_ERROR(CheckPartition(tp));
    if (options.max_bytes > options_.max_read_bytes) options.max_bytes = options_.max_read_bytes;
    if (options.max_bytes < 1) co_return InvalidArgument("max_bytes must be >= 1");
    if (options.wait_ms < 0) co_return InvalidArgument("wait_ms must be >= 0");
    auto fn13 = [this, tp, offset, options]() -> Task<Result<ReadResult>> {
      auto log = LocalPartition(tp);
      if (!log.ok()) co_return log.status();
      co_return co_await (*log)->Read(offset, options);
    };
    co_return co_await shards_.InvokeOn(Owner(tp), fn13);
  }

  Task<Result<Offset>> OffsetForTimestamp(TopicPartition tp, model::TimestampMs ts) {
    SLUICE_CO_RETURN_IF_ERROR(CheckPartition(tp));
    auto fn14 = [this, tp, ts]() -> Task<Result<Offset>> {
      auto log = LocalPartition(tp);
      if (!log.ok()) co_return log.status();
      co_return (*log)->OffsetForTimestamp(ts);
    };
    co_return co_await shards_.InvokeOn(Owner(tp), fn14);
  }

  // ---- consumer offsets (map owned by the shard of _offsets/0) ----
  TopicPartition OffsetsTp() const { return TopicPartition{kOffsetsTopic, PartitionId(0)}; }

  Status LoadOffsets() {
    return runtime::BlockOn(shards_, Owner(OffsetsTp()), [this]() -> Task<Status> {
      SLUICE_CO_ASSIGN_OR_RETURN(auto log, LocalPartition(OffsetsTp()));
      Offset pos = log->log_start_offset();
      while (pos < log->high_watermark()) {
        SLUICE_CO_ASSIGN_OR_RETURN(auto rr,
                                   co_await log->Read(pos, ReadOptions{10000, 8 << 20, 0}));
        Status bad;
        SLUICE_CO_RETURN_IF_ERROR(rr.ForEachRecord([&](const model::RecordView& r) {
          if (!r.key) return;
          auto key = internal::DecodeOffsetKey(*r.key);
          if (!key) {
            bad = DataLoss("_offsets record at {} has a malformed key", r.offset.value());
            return;
          }
          if (!r.value) {
            offsets_[key->first].erase(key->second);
            return;
          }
          auto val = internal::DecodeOffsetValue(*r.value);
          if (!val) {
            bad = DataLoss("_offsets record at {} has a malformed value", r.offset.value());
            return;
          }
          offsets_[key->first][key->second] =
              GroupOffset{key->second, Offset(val->first), val->second};
        }));
        SLUICE_CO_RETURN_IF_ERROR(bad);
        if (rr.next_offset <= pos) break;
        pos = rr.next_offset;
      }
      co_return Status::Ok();
    });
  }

  Task<Status> CommitOffsets(std::string group, std::vector<GroupOffset> offsets) {
    if (group.empty() || group.size() > 255)
      co_return InvalidArgument("group id must be 1-255 bytes");
    if (offsets.empty()) co_return InvalidArgument("no offsets to commit");
    std::vector<model::ProduceRecord> records;
    for (const auto& o : offsets) {
      SLUICE_CO_RETURN_IF_ERROR(CheckPartition(o.tp));
      if (o.offset.value() < 0) {
        co_return InvalidArgument("offset {} for {} is negative", o.offset.value(), o.tp);
      }
      if (o.metadata.size() > 4096) co_return InvalidArgument("offset metadata over 4096 bytes");
      records.push_back(
          model::ProduceRecord{internal::EncodeOffsetKey(group, o.tp),
                               internal::EncodeOffsetValue(o.offset.value(), o.metadata),
                               {},
                               model::kNoTimestamp});
    }
    model::RecordBatchBuilder builder(clock_.NowMs());
    for (const auto& r : records) builder.Add(r);
    std::string batch = builder.Finish();
    auto fn15 = [this, group, offsets, batch = std::move(batch)]() mutable -> Task<Status> {
      SLUICE_CO_ASSIGN_OR_RETURN(auto log, LocalPartition(OffsetsTp()));
      auto r = co_await log->Append(std::move(batch));
      if (!r.ok()) co_return r.status();
      for (const auto& o : offsets) offsets_[group][o.tp] = o;
      co_return Status::Ok();
    };
    co_return co_await shards_.InvokeOn(Owner(OffsetsTp()), fn15);
  }

  Task<Result<std::vector<GroupOffset>>> FetchOffsets(std::string group,
                                                      std::vector<TopicPartition> partitions) {
    auto fn16 = [this, group, partitions]() -> Task<Result<std::vector<GroupOffset>>> {
      std::vector<GroupOffset> out;
      auto git = offsets_.find(group);
      if (git == offsets_.end()) co_return out;
      if (partitions.empty()) {
        for (const auto& [tp, o] : git->second) out.push_back(o);
      } else {
        for (const auto& tp : partitions) {
          auto it = git->second.find(tp);
          if (it != git->second.end()) out.push_back(it->second);
        }
      }
      co_return out;
    };
    co_return co_await shards_.InvokeOn(Owner(OffsetsTp()), fn16);
  }

  // A tombstone per committed partition in `_offsets` (compaction then drops the group), and
  // the group leaves memory once they are durable.
  Task<Status> DeleteGroup(std::string group) {
    auto fn = [this, group]() -> Task<Status> {
      auto git = offsets_.find(group);
      if (git == offsets_.end() || git->second.empty()) {
        co_return NotFound("group '{}' has no committed offsets", group);
      }
      model::RecordBatchBuilder builder(clock_.NowMs());
      for (const auto& [tp, o] : git->second) {
        builder.Add(model::ProduceRecord{internal::EncodeOffsetKey(group, tp), std::nullopt, {},
                                         model::kNoTimestamp});
      }
      std::string batch = builder.Finish();
      SLUICE_CO_ASSIGN_OR_RETURN(auto log, LocalPartition(OffsetsTp()));
      auto r = co_await log->Append(std::move(batch));
      if (!r.ok()) co_return r.status();
      offsets_.erase(group);
      co_return Status::Ok();
    };
    co_return co_await shards_.InvokeOn(Owner(OffsetsTp()), fn);
  }

  Task<Result<std::vector<std::string>>> ListGroups() {
    auto fn = [this]() -> Task<Result<std::vector<std::string>>> {
      std::vector<std::string> out;
      for (const auto& [group, partitions] : offsets_) {
        if (!partitions.empty()) out.push_back(group);  // std::map: already sorted
      }
      co_return out;
    };
    co_return co_await shards_.InvokeOn(Owner(OffsetsTp()), fn);
  }

  EmbeddedLogOptions options_;
  runtime::Shards& shards_;
  const Clock& clock_;
  int lock_fd_ = -1;
  std::atomic<std::shared_ptr<const TopicTable>> table_;
  std::vector<std::unique_ptr<ShardState>> shard_state_;
  std::atomic<bool> stopped_{false};
  PartitionLog::Probe probe_;
  internal::Pacer preallocation_pacer_;
  // Removed segments, replaced files, deleted topics; null when deletion is unpaced.
  std::unique_ptr<internal::Reaper> reaper_;
  internal::DiskSpaceGuard disk_space_;
  std::atomic<bool> low_space_logged_{false};
  // High watermarks as of each partition's last gauge tick, for the group lag gauges.
  std::mutex high_watermarks_mu_;
  std::unordered_map<TopicPartition, int64_t> high_watermarks_;
  std::set<std::string> lag_groups_published_;  // offsets owner only
  bool admin_busy_ = false;  // shard 0 only
  runtime::Event admin_done_;
  std::map<std::string, std::map<TopicPartition, GroupOffset>> offsets_;  // offsets owner only
};

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(EmbeddedLogOptions options,
                                                       runtime::Shards& shards,
                                                       const Clock& clock) {
  SLUICE_CHECK(runtime::Shards::CurrentIndex() == UINT32_MAX, "Open must not run on a shard");
  SLUICE_RETURN_IF_ERROR(options.default_topic_config.Validate());
  auto impl = std::make_unique<EmbeddedLogImpl>(std::move(options), shards, clock);
  Status st = impl->OpenAll();
  if (!st.ok()) {
    impl->StopAll();
    return st;
  }
  return std::unique_ptr<EmbeddedLog>(new EmbeddedLog(std::move(impl)));
}

EmbeddedLog::EmbeddedLog(std::unique_ptr<EmbeddedLogImpl> impl) : impl_(std::move(impl)) {}
EmbeddedLog::~EmbeddedLog() { Stop(); }
void EmbeddedLog::Stop() { impl_->StopAll(); }

Task<Status> EmbeddedLog::CreateTopic(std::string name, TopicConfig config) {
  SLUICE_CO_RETURN_IF_ERROR(ValidateTopicName(name, /*allow_internal=*/false));
  SLUICE_CO_RETURN_IF_ERROR(config.Validate());
  auto fn17 = [this, name, config]() -> Task<Status> {
    co_return co_await impl_->CreateTopicOnShard0(name, config, false);
  };
  co_return co_await impl_->shards_.InvokeOn(ShardId(0), fn17);
}

Task<Status> EmbeddedLog::EnsureInternalTopic(std::string name, TopicConfig config) {
  SLUICE_CO_RETURN_IF_ERROR(ValidateTopicName(name, /*allow_internal=*/true));
  if (!name.starts_with("_")) co_return InvalidArgument("'{}' is not an internal topic name", name);
  SLUICE_CO_RETURN_IF_ERROR(config.Validate());
  auto fn = [this, name, config]() -> Task<Status> {
    Status st = co_await impl_->CreateTopicOnShard0(name, config, /*internal=*/true);
    co_return st.code() == ErrorCode::kAlreadyExists ? Status::Ok() : st;
  };
  co_return co_await impl_->shards_.InvokeOn(ShardId(0), fn);
}

Task<Status> EmbeddedLog::DeleteTopic(std::string name) {
  if (name.starts_with("_"))
    co_return InvalidArgument("internal topic '{}' cannot be deleted", name);
  auto fn18 = [this, name]() -> Task<Status> {
    co_return co_await impl_->DeleteTopicOnShard0(name);
  };
  co_return co_await impl_->shards_.InvokeOn(ShardId(0), fn18);
}

Task<Status> EmbeddedLog::DeleteInternalTopic(std::string name) {
  if (!name.starts_with("_")) co_return InvalidArgument("'{}' is not an internal topic", name);
  auto fn = [this, name]() -> Task<Status> {
    co_return co_await impl_->DeleteTopicOnShard0(name);
  };
  co_return co_await impl_->shards_.InvokeOn(ShardId(0), fn);
}

Task<Result<std::vector<TopicDescription>>> EmbeddedLog::ListTopics(bool include_internal) {
  std::vector<TopicDescription> out;
  auto table = impl_->Table();
  for (const auto& [name, meta] : *table) {
    if (meta.internal && !include_internal) continue;
    auto d = co_await impl_->Describe(name);
    if (d.ok()) out.push_back(std::move(*d));  // skip topics deleted meanwhile
  }
  co_return out;
}

Task<Result<TopicDescription>> EmbeddedLog::DescribeTopic(std::string name) {
  co_return co_await impl_->Describe(name);
}

Task<Status> EmbeddedLog::AlterTopicConfig(std::string name,
                                           std::map<std::string, std::string> changes) {
  auto fn19 = [this, name, changes]() -> Task<Status> {
    co_return co_await impl_->AlterTopicOnShard0(name, changes);
  };
  co_return co_await impl_->shards_.InvokeOn(ShardId(0), fn19);
}

// Not a coroutine: hands over the implementation's task (its frame owns the arguments), so an
// append costs one coroutine frame less.
Task<Result<AppendResult>> EmbeddedLog::Append(model::TopicPartition tp,
                                               std::vector<model::ProduceRecord> records) {
  return impl_->Append(std::move(tp), std::move(records));
}

Task<Result<AppendResult>> EmbeddedLog::AppendEncoded(model::TopicPartition tp,
                                                      std::string batch) {
  return impl_->AppendEncoded(std::move(tp), std::move(batch));
}

Task<Result<ReadResult>> EmbeddedLog::Read(model::TopicPartition tp, Offset offset,
                                           ReadOptions options) {
  co_return co_await impl_->Read(std::move(tp), offset, options);
}

Task<Result<Offset>> EmbeddedLog::OffsetForTimestamp(model::TopicPartition tp,
                                                     model::TimestampMs ts) {
  co_return co_await impl_->OffsetForTimestamp(std::move(tp), ts);
}

Task<Status> EmbeddedLog::CommitOffsets(std::string group, std::vector<GroupOffset> offsets) {
  co_return co_await impl_->CommitOffsets(std::move(group), std::move(offsets));
}

Task<Result<std::vector<GroupOffset>>> EmbeddedLog::FetchOffsets(
    std::string group, std::vector<model::TopicPartition> partitions) {
  co_return co_await impl_->FetchOffsets(std::move(group), std::move(partitions));
}

Task<Result<std::vector<std::string>>> EmbeddedLog::ListGroups() { return impl_->ListGroups(); }

Task<Status> EmbeddedLog::DeleteGroup(std::string group) {
  return impl_->DeleteGroup(std::move(group));
}

std::optional<model::PartitionId> EmbeddedLog::LocalPartition(std::string_view topic,
                                                              int32_t partition_count,
                                                              uint64_t seed) const {
  return impl_->PickLocalPartition(topic, partition_count, seed);
}

Task<Status> EmbeddedLog::RunHousekeeping() { co_return co_await impl_->HousekeepingAll(); }

}  // namespace sluice::storage
