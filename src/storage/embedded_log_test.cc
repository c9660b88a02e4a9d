// Behaviour of the embedded store that the shared Log suite cannot see: files on disk,
// recovery after damage, group commit, retention, compaction and restarts.
#include "storage/embedded_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "metrics/registry.h"
#include "runtime/event.h"
#include "storage/internal/disk_space.h"
#include "storage/internal/reaper.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {
namespace fs = std::filesystem;
using model::Offset;
using model::PartitionId;
using model::ProduceRecord;
using model::TopicPartition;
using runtime::BlockOn;
using runtime::ShardId;

class EmbeddedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("sluice-store-{}-{}", ::getpid(), std::random_device()());
    fs::create_directories(dir_);
    shards_ = std::make_unique<runtime::Shards>(2, 2);
    shards_->Start();
    Open();
  }
  void TearDown() override {
    if (log_) log_->Stop();
    log_.reset();
    shards_->Stop();
    fs::remove_all(dir_);
  }
  void Open() {
    EmbeddedLogOptions o;
    o.data_dir = dir_.string();
    o.housekeeping_interval_ms = 3600 * 1000;  // tests drive housekeeping themselves
    o.checkpoint_interval_ms = registry_ ? 20 : 3600 * 1000;  // the tick publishes gauges
    o.faults = &faults_;
    o.delete_bytes_per_second = delete_bytes_per_second_;
    o.min_free_bytes = min_free_bytes_;
    o.metrics = registry_.get();
    auto r = EmbeddedLog::Open(o, *shards_, clock_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    log_ = std::move(*r);
  }
  void Restart() {
    log_->Stop();
    log_.reset();
    Open();
  }
  // Makes the next open treat the log as crashed, with no recovery point (verify everything).
  void ForgetCleanShutdown(bool keep_recovery_point = false) {
    log_->Stop();
    log_.reset();
    for (auto& e : fs::recursive_directory_iterator(dir_)) {
      auto n = e.path().filename().string();
      if (n == "clean-shutdown" || (!keep_recovery_point && n == "recovery-point")) {
        fs::remove(e.path());
      }
    }
  }
  static std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path PartitionDir(const std::string& t, int p) {
    return dir_ / "topics" / t / std::to_string(p);
  }

  template <typename Fn>
  auto Run(Fn fn) {
    return BlockOn(*shards_, ShardId(0), std::move(fn));
  }
  void Create(const std::string& name, std::map<std::string, std::string> kv = {}) {
    TopicConfig c;
    ASSERT_TRUE(c.Apply(kv).ok());
    Status st = Run([&]() -> Task<Status> { co_return co_await log_->CreateTopic(name, c); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Result<AppendResult> Append(const std::string& t, int p, std::vector<ProduceRecord> recs) {
    return Run([&]() -> Task<Result<AppendResult>> {
      co_return co_await log_->Append(TopicPartition{t, PartitionId(p)}, recs);
    });
  }
  Result<AppendResult> AppendValues(const std::string& t, int p, int n, const std::string& prefix,
                                    size_t pad = 0) {
    std::vector<ProduceRecord> recs;
    for (int i = 0; i < n; ++i) {
      recs.push_back(ProduceRecord{std::nullopt,
                                   prefix + std::to_string(i) + std::string(pad, 'x'),
                                   {},
                                   model::kNoTimestamp});
    }
    return Append(t, p, std::move(recs));
  }
  // All values from offset `from` (or the log start), in order.
  std::vector<std::pair<int64_t, std::string>> ReadAll(const std::string& t, int p,
                                                       int64_t from = -1) {
    return Run([&]() -> Task<std::vector<std::pair<int64_t, std::string>>> {
      std::vector<std::pair<int64_t, std::string>> out;
      TopicPartition tp{t, PartitionId(p)};
      auto d = co_await log_->DescribeTopic(t);
      Offset pos = from >= 0 ? Offset(from) : d->partitions[p].log_start_offset;
      while (true) {
        auto r = co_await log_->Read(tp, pos, ReadOptions{7, 1 << 20, 0});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (!r.ok()) break;
        EXPECT_TRUE(r->ForEachRecord([&](const model::RecordView& rv) {
                       out.emplace_back(rv.offset.value(),
                                        rv.value ? std::string(*rv.value) : "<null>");
                     }).ok());
        if (r->next_offset >= r->high_watermark) break;
        pos = r->next_offset;
      }
      co_return out;
    });
  }
  // Checks that `all` (from ReadAll) holds consecutive offsets from `first`, each with the value
  // "<offset / per_round>-<offset % per_round>" and `pad` x's, as the rounds of appends in the
  // segment-recycling tests write them.
  static void ExpectRounds(const std::vector<std::pair<int64_t, std::string>>& all, int64_t first,
                           int per_round, size_t pad) {
    for (size_t i = 0; i < all.size(); ++i) {
      const int64_t o = first + static_cast<int64_t>(i);
      ASSERT_EQ(all[i].first, o);
      ASSERT_EQ(all[i].second,
                fmt::format("{}-{}", o / per_round, o % per_round) + std::string(pad, 'x'));
    }
  }
  TopicDescription Describe(const std::string& t) {
    return *Run(
        [&]() -> Task<Result<TopicDescription>> { co_return co_await log_->DescribeTopic(t); });
  }

  // The value of one exposed series ("name{labels}" exactly as exposed), once `pred` holds
  // for it (waiting up to 5 s for the shards' tick to publish it); nullopt if it never did.
  std::optional<double> MetricWhen(const std::string& series,
                                   const std::function<bool(double)>& pred) {
    for (int i = 0; i < 250; ++i) {
      const std::string text = registry_->Expose();
      auto at = text.find("\n" + series + " ");
      if (at != std::string::npos) {
        const double v = std::stod(text.substr(at + series.size() + 2));
        if (pred(v)) return v;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  fs::path dir_;
  std::unique_ptr<metrics::Registry> registry_;  // set before Restart() to expose metrics
  double delete_bytes_per_second_ = EmbeddedLogOptions().delete_bytes_per_second;
  int64_t min_free_bytes_ = EmbeddedLogOptions().min_free_bytes;
  ManualClock clock_;
  FaultInjector faults_;
  std::unique_ptr<runtime::Shards> shards_;
  std::unique_ptr<EmbeddedLog> log_;
};

TEST_F(EmbeddedLogTest, AppendsGetContiguousOffsetsAndSurviveRestart) {
  Create("orders", {{"partitions", "3"}});
  for (int i = 0; i < 5; ++i) {
    auto r = AppendValues("orders", 1, 10, fmt::format("b{}-", i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->base_offset, Offset(i * 10));
    EXPECT_EQ(r->record_count, 10);
  }
  Restart();
  auto all = ReadAll("orders", 1);
  ASSERT_EQ(all.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(all[i].first, i);
    EXPECT_EQ(all[i].second, fmt::format("b{}-{}", i / 10, i % 10));
  }
  EXPECT_TRUE(ReadAll("orders", 0).empty());
  EXPECT_EQ(Describe("orders").partitions[1].high_watermark, Offset(50));
}

TEST_F(EmbeddedLogTest, SegmentsRollBySizeAndReadsCrossThem) {
  Create(
      "t",
      {{"segment_bytes", "4096"}, {"max_message_bytes", "4096"}, {"index_interval_bytes", "256"}});
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(AppendValues("t", 0, 3, fmt::format("{}-", i), 100).ok());
  auto d = Describe("t");
  EXPECT_GT(d.partitions[0].segments, 2);
  auto all = ReadAll("t", 0);
  ASSERT_EQ(all.size(), 120u);
  for (int i = 0; i < 120; ++i) EXPECT_EQ(all[i].first, i);
  auto mid = ReadAll("t", 0, 77);
  ASSERT_FALSE(mid.empty());
  EXPECT_EQ(mid.front().first, 77);
  Restart();
  EXPECT_EQ(ReadAll("t", 0).size(), 120u);
}

TEST_F(EmbeddedLogTest, SegmentsRollByAge) {
  Create("t", {{"segment_ms", "1000"}});
  ASSERT_TRUE(AppendValues("t", 0, 1, "a").ok());
  clock_.AdvanceMs(1500);
  ASSERT_TRUE(AppendValues("t", 0, 1, "b").ok());
  EXPECT_EQ(Describe("t").partitions[0].segments, 2);
}

// Truncating the log at every byte inside the last batch must drop exactly that batch.
TEST_F(EmbeddedLogTest, RecoveryTruncatesATornLastBatchAtEveryByte) {
  Create("t");
  ASSERT_TRUE(AppendValues("t", 0, 5, "first").ok());
  ASSERT_TRUE(AppendValues("t", 0, 5, "second").ok());
  ForgetCleanShutdown();
  const fs::path seg = PartitionDir("t", 0) / fmt::format("{:020d}.log", 0);
  const std::string full = ReadFile(seg);
  const size_t first_size = static_cast<size_t>(model::BatchTotalSize(full.data()));
  ASSERT_LT(first_size, full.size());
  for (size_t cut = first_size; cut < full.size(); ++cut) {
    {
      std::ofstream out(seg, std::ios::binary | std::ios::trunc);
      out.write(full.data(), static_cast<std::streamsize>(cut));
    }
    fs::remove(PartitionDir("t", 0) / "recovery-point");
    Open();
    auto all = ReadAll("t", 0);
    ASSERT_EQ(all.size(), 5u) << "cut at " << cut;
    EXPECT_EQ(all.back().second, "first4");
    EXPECT_EQ(fs::file_size(seg), first_size) << "cut at " << cut;
    // The log takes appends again at the right offset.
    auto r = AppendValues("t", 0, 1, "again");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->base_offset, Offset(5));
    ForgetCleanShutdown();
  }
}

TEST_F(EmbeddedLogTest, RecoveryDropsABatchWithAFlippedBit) {
  Create("t");
  ASSERT_TRUE(AppendValues("t", 0, 3, "keep").ok());
  ASSERT_TRUE(AppendValues("t", 0, 3, "damaged").ok());
  ForgetCleanShutdown();
  const fs::path seg = PartitionDir("t", 0) / fmt::format("{:020d}.log", 0);
  const std::string full = ReadFile(seg);
  const size_t first_size = static_cast<size_t>(model::BatchTotalSize(full.data()));
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::string bad = full;
    size_t byte = first_size + model::batch_layout::kCrcStart +
                  rng() % (full.size() - first_size - model::batch_layout::kCrcStart);
    bad[byte] = static_cast<char>(bad[byte] ^ (1 << (rng() % 8)));
    {
      std::ofstream out(seg, std::ios::binary | std::ios::trunc);
      out.write(bad.data(), static_cast<std::streamsize>(bad.size()));
    }
    Open();
    auto all = ReadAll("t", 0);
    ASSERT_EQ(all.size(), 3u) << "flipped byte " << byte;
    EXPECT_EQ(all.back().second, "keep2");
    ForgetCleanShutdown();
  }
}

TEST_F(EmbeddedLogTest, ReadersDetectCorruptionBelowTheRecoveryPoint) {
  Create("t");
  ASSERT_TRUE(AppendValues("t", 0, 3, "good").ok());
  log_->Stop();  // clean: nothing is re-verified on the next start
  log_.reset();
  const fs::path seg = PartitionDir("t", 0) / fmt::format("{:020d}.log", 0);
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(model::batch_layout::kHeaderSize + 5);
    f.put('\x7f');
  }
  Open();
  auto r = Run([&]() -> Task<Result<ReadResult>> {
    co_return co_await log_->Read(TopicPartition("t", PartitionId(0)), Offset(0), ReadOptions{});
  });
  ASSERT_TRUE(r.ok());
  Status st = r->ForEachRecord([](const model::RecordView&) {});
  EXPECT_EQ(st.code(), ErrorCode::kDataLoss) << st.ToString();
  EXPECT_NE(st.message().find("CRC"), std::string::npos);
}

TEST_F(EmbeddedLogTest, MissingAndCorruptIndexesAreRebuilt) {
  Create(
      "t",
      {{"segment_bytes", "8192"}, {"max_message_bytes", "8192"}, {"index_interval_bytes", "128"}});
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(AppendValues("t", 0, 2, fmt::format("{}-", i), 50).ok());
  auto before = ReadAll("t", 0, 33);
  log_->Stop();
  log_.reset();
  int removed = 0;
  for (auto& e : fs::directory_iterator(PartitionDir("t", 0))) {
    if (e.path().extension() == ".index") {
      fs::remove(e.path());
      ++removed;
    } else if (e.path().extension() == ".timeindex") {
      std::ofstream(e.path(), std::ios::binary | std::ios::app) << "xyz";  // not whole entries
    }
  }
  ASSERT_GT(removed, 1);
  Open();
  EXPECT_EQ(ReadAll("t", 0, 33), before);
  auto ts = Run([&]() -> Task<Result<Offset>> {
    co_return co_await log_->OffsetForTimestamp(TopicPartition{"t", PartitionId(0)}, 0);
  });
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(*ts, Offset(0));
}

TEST_F(EmbeddedLogTest, RecoveryPointBoundsTheVerifiedTail) {
  Create("t");
  ASSERT_TRUE(AppendValues("t", 0, 4, "a").ok());
  log_->Stop();
  log_.reset();
  // The recovery point as it stood after "a": a crash later finds this one on disk.
  const fs::path rp = PartitionDir("t", 0) / "recovery-point";
  const std::string old_rp = ReadFile(rp);
  Open();
  ASSERT_TRUE(AppendValues("t", 0, 4, "b").ok());
  ForgetCleanShutdown(/*keep_recovery_point=*/true);
  std::ofstream(rp, std::ios::binary | std::ios::trunc) << old_rp;
  // A torn tail above the recovery point is truncated.
  const fs::path seg = PartitionDir("t", 0) / fmt::format("{:020d}.log", 0);
  fs::resize_file(seg, fs::file_size(seg) - 3);
  Open();
  auto all = ReadAll("t", 0);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.back().second, "a3");
  // Damage below the recovery point is data loss, reported rather than silently truncated.
  ForgetCleanShutdown(/*keep_recovery_point=*/true);
  std::ofstream(rp, std::ios::binary | std::ios::trunc) << old_rp;
  fs::resize_file(seg, 20);
  EmbeddedLogOptions o;
  o.data_dir = dir_.string();
  auto r = EmbeddedLog::Open(o, *shards_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss);
}

TEST_F(EmbeddedLogTest, ConcurrentDurableAppendsAreGroupCommitted) {
  Create("t", {{"durability", "always"}});
  constexpr int kWriters = 64;
  auto results = Run([&]() -> Task<std::vector<Result<AppendResult>>> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<Result<AppendResult>> out(kWriters);
    int done = 0;
    runtime::Event all_done;
    for (int i = 0; i < kWriters; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> Task<void> {
            std::vector<ProduceRecord> recs(
                10, ProduceRecord{std::nullopt, fmt::format("w{}", i), {}, model::kNoTimestamp});
            out[i] = co_await log_->Append(TopicPartition{"t", PartitionId(0)}, recs);
            if (++done == kWriters) all_done.NotifyAll();
          },
          asio::detached);
    }
    while (done < kWriters) co_await all_done.Wait();
    co_return out;
  });
  std::set<int64_t> bases;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    bases.insert(r->base_offset.value());
  }
  EXPECT_EQ(bases.size(), static_cast<size_t>(kWriters));
  EXPECT_EQ(*bases.rbegin(), (kWriters - 1) * 10);
  EXPECT_EQ(ReadAll("t", 0).size(), static_cast<size_t>(kWriters * 10));
}

TEST_F(EmbeddedLogTest, AFailedFsyncIsNeverAcknowledgedAndMakesThePartitionReadOnly) {
  Create("t", {{"durability", "always"}, {"partitions", "2"}});
  ASSERT_TRUE(AppendValues("t", 0, 2, "before").ok());
  faults_.fail_syncs = 1;
  auto failed = AppendValues("t", 0, 2, "lost");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("not acknowledged"), std::string::npos);
  // Readers never see what was not made durable, and the partition refuses further writes.
  EXPECT_EQ(ReadAll("t", 0).size(), 2u);
  auto refused = AppendValues("t", 0, 1, "after");
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("read-only"), std::string::npos);
  // Other partitions are unaffected.
  EXPECT_TRUE(AppendValues("t", 1, 1, "other").ok());
  // Reopening makes it writable again; acknowledged data is intact.
  Restart();
  auto r = AppendValues("t", 0, 1, "reopened");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto all = ReadAll("t", 0);
  EXPECT_EQ(all.front().second, "before0");
  EXPECT_EQ(all.back().second, "reopened0");
}

TEST_F(EmbeddedLogTest, AFailedWriteLeavesNoPartialBatch) {
  Create("t", {{"durability", "always"}});
  ASSERT_TRUE(AppendValues("t", 0, 3, "a").ok());
  faults_.fail_writes = 1;
  auto failed = AppendValues("t", 0, 3, "b");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);  // ENOSPC: the server's, retriable
  auto next = AppendValues("t", 0, 3, "c");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->base_offset, Offset(3));
  ForgetCleanShutdown();
  Open();
  auto all = ReadAll("t", 0);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[3].second, "c0");
}

TEST_F(EmbeddedLogTest, ANearlyFullDiskRefusesClientAppendsButNotInternalOnes) {
  // A threshold no disk meets: the store sees itself as nearly full from the start.
  registry_ = std::make_unique<metrics::Registry>();
  min_free_bytes_ = int64_t{1} << 62;
  Restart();
  Create("t");
  auto refused = AppendValues("t", 0, 1, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);  // 503, retriable
  EXPECT_NE(refused.status().message().find("disk is nearly full"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Describe("t").partitions[0].high_watermark, Offset(0));  // nothing written
  // Consumer offsets (the internal `_offsets` topic) still commit: the reserve is for them.
  Status commit = Run([&]() -> Task<Status> {
    std::vector<GroupOffset> offs{GroupOffset{TopicPartition{"t", PartitionId(0)}, Offset(0), ""}};
    co_return co_await log_->CommitOffsets("g", offs);
  });
  EXPECT_TRUE(commit.ok()) << commit.ToString();
  EXPECT_EQ(MetricWhen("sluice_storage_disk_space_low", [](double v) { return v == 1; }), 1);
  EXPECT_TRUE(MetricWhen("sluice_storage_disk_free_bytes", [](double v) { return v > 0; }));
  // With the guard off, the same append goes through.
  min_free_bytes_ = 0;
  Restart();
  auto ok = AppendValues("t", 0, 1, "x");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(MetricWhen("sluice_storage_disk_space_low", [](double v) { return v == 0; }), 0);
}

TEST(DiskSpaceGuardTest, AdmitsUpToTheThresholdCountingBytesSinceTheLastLook) {
  const std::string dir = fs::temp_directory_path().string();
  internal::DiskSpaceGuard probe(dir, 0);
  auto first = probe.Refresh();
  ASSERT_TRUE(first.ok());
  const int64_t free0 = first->free_bytes;
  if (free0 < (int64_t{10} << 30)) GTEST_SKIP() << "needs 10 GiB free in " << dir;
  EXPECT_EQ(first->min_free_bytes, 0);
  EXPECT_TRUE(probe.Admit(int64_t{1} << 40).ok());  // off: anything goes

  // A threshold 1/21 of the free space below it (room >= 487 MiB): the steps leave a wide
  // margin for what other processes write or free meanwhile.
  const int64_t threshold = free0 / 105 * 100;
  const int64_t room = free0 - threshold;
  internal::DiskSpaceGuard g(dir, threshold);
  ASSERT_TRUE(g.Refresh().ok());
  EXPECT_FALSE(g.Get().low);
  EXPECT_TRUE(g.Admit(room * 4 / 10).ok());
  EXPECT_TRUE(g.Admit(room * 4 / 10).ok());
  Status full = g.Admit(room * 6 / 10);  // 0.4 + 0.4 + 0.6 of the room
  EXPECT_EQ(full.code(), ErrorCode::kUnavailable) << full.ToString();
  EXPECT_NE(full.message().find("store.min_free_bytes is"), std::string::npos);
  EXPECT_TRUE(g.Get().low);
  EXPECT_FALSE(g.Admit(1).ok());  // low until a look finds enough room
  // Nothing was written, but the free space is under a tenth above the threshold: still low,
  // so the guard does not flip with every batch around the line.
  ASSERT_TRUE(g.Refresh().ok());
  EXPECT_TRUE(g.Get().low);
  EXPECT_FALSE(g.Admit(1).ok());

  // With the free space well above the threshold, the next look lifts the refusal.
  internal::DiskSpaceGuard h(dir, free0 / 2);
  ASSERT_TRUE(h.Refresh().ok());
  EXPECT_FALSE(h.Admit(free0).ok());
  EXPECT_TRUE(h.Get().low);
  ASSERT_TRUE(h.Refresh().ok());
  EXPECT_FALSE(h.Get().low);
  EXPECT_TRUE(h.Admit(int64_t{1} << 20).ok());
  EXPECT_EQ(internal::DiskSpaceGuard::Bytes(880640), "860.0 KiB");
  EXPECT_EQ(internal::DiskSpaceGuard::Bytes(512), "512 B");

  // The default: min(1 GiB, 5% of the filesystem).
  internal::DiskSpaceGuard automatic(dir, -1);
  auto a = automatic.Refresh();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->min_free_bytes, std::min<int64_t>(int64_t{1} << 30, a->total_bytes / 20));
  EXPECT_FALSE(internal::DiskSpaceGuard("/nonexistent/dir", -1).Refresh().ok());
}

TEST_F(EmbeddedLogTest, RetentionDeletesWholeOldSegments) {
  Create("t",
         {{"segment_bytes", "2048"}, {"max_message_bytes", "2048"}, {"retention_bytes", "4096"}});
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(AppendValues("t", 0, 2, fmt::format("{}-", i), 100).ok());
  auto before = Describe("t").partitions[0];
  ASSERT_GT(before.size_bytes, 4096);
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  auto after = Describe("t").partitions[0];
  EXPECT_LE(after.size_bytes, 4096 + 2048);
  EXPECT_GT(after.log_start_offset, Offset(0));
  EXPECT_EQ(after.high_watermark, Offset(60));
  auto r = Run([&]() -> Task<Result<ReadResult>> {
    co_return co_await log_->Read(TopicPartition{"t", PartitionId(0)}, Offset(0), ReadOptions{});
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutOfRange);
  auto rest = ReadAll("t", 0);
  EXPECT_EQ(rest.front().first, after.log_start_offset.value());
  EXPECT_EQ(rest.back().first, 59);
}

TEST_F(EmbeddedLogTest, RetentionByTimeUsesTheNewestTimestampInASegment) {
  Create("t", {{"segment_bytes", "2048"},
               {"max_message_bytes", "2048"},
               {"retention_ms", "60000"},
               {"segment_ms", "60000"}});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendValues("t", 0, 2, "old", 100).ok());
  clock_.AdvanceMs(120000);
  ASSERT_TRUE(AppendValues("t", 0, 2, "new", 100).ok());
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  auto d = Describe("t").partitions[0];
  EXPECT_EQ(d.segments, 1);
  EXPECT_EQ(d.log_start_offset, Offset(40));
}

TEST_F(EmbeddedLogTest, CompactionKeepsTheLastValuePerKeyAndDropsOldTombstones) {
  Create("kv", {{"cleanup_policy", "compact"},
                {"segment_bytes", "1024"},
                {"max_message_bytes", "1024"},
                {"delete_retention_ms", "1000"}});
  // keys k0..k4 written 6 times each; k1 finally deleted.
  for (int round = 0; round < 6; ++round) {
    for (int k = 0; k < 5; ++k) {
      ASSERT_TRUE(
          Append(
              "kv", 0,
              {ProduceRecord{
                  fmt::format("k{}", k), fmt::format("v{}-{}", k, round), {}, model::kNoTimestamp}})
              .ok());
    }
  }
  ASSERT_TRUE(Append("kv", 0, {ProduceRecord{"k1", std::nullopt, {}, model::kNoTimestamp}}).ok());
  ASSERT_TRUE(Append("kv", 0, {ProduceRecord{"k9", "filler", {}, model::kNoTimestamp}}).ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        Append("kv", 0,
               {ProduceRecord{"k9", "filler" + std::string(200, 'f'), {}, model::kNoTimestamp}})
            .ok());
  auto null_key = Append("kv", 0, {ProduceRecord{std::nullopt, "x", {}, model::kNoTimestamp}});
  EXPECT_EQ(null_key.status().code(), ErrorCode::kInvalidArgument);

  auto latest = [&]() {
    std::map<std::string, std::string> m;
    Run([&]() -> Task<bool> {
      TopicPartition tp{"kv", PartitionId(0)};
      Offset pos(0);
      while (true) {
        auto r = co_await log_->Read(tp, pos, ReadOptions{1000, 1 << 20, 0});
        EXPECT_TRUE(r.ok());
        (void)r->ForEachRecord([&](const model::RecordView& rv) {
          if (rv.value)
            m[std::string(*rv.key)] = std::string(*rv.value);
          else
            m.erase(std::string(*rv.key));
        });
        if (r->next_offset >= r->high_watermark) break;
        pos = r->next_offset;
      }
      co_return true;
    });
    return m;
  };
  auto expected = latest();
  auto size_before = Describe("kv").partitions[0].size_bytes;
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  EXPECT_LT(Describe("kv").partitions[0].size_bytes, size_before);
  EXPECT_EQ(latest(), expected);
  auto records = ReadAll("kv", 0);
  // Offsets keep increasing and old versions of k0 are gone.
  int k0_versions = 0;
  for (size_t i = 1; i < records.size(); ++i) EXPECT_LT(records[i - 1].first, records[i].first);
  for (auto& [o, v] : records) k0_versions += v.starts_with("v0-");
  EXPECT_EQ(k0_versions, 1);
  // The tombstone survives until delete_retention_ms has passed.
  int tombstones = 0;
  for (auto& [o, v] : records) tombstones += v == "<null>";
  EXPECT_EQ(tombstones, 1);
  clock_.AdvanceMs(5000);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        Append("kv", 0, {ProduceRecord{"k8", std::string(200, 'g'), {}, model::kNoTimestamp}})
            .ok());
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  tombstones = 0;
  for (auto& [o, v] : ReadAll("kv", 0)) tombstones += v == "<null>";
  EXPECT_EQ(tombstones, 0);
  Restart();
  auto after_restart = latest();
  EXPECT_EQ(after_restart.count("k0"), 1u);
  EXPECT_EQ(after_restart.count("k1"), 0u);
  EXPECT_EQ(after_restart["k4"], "v4-5");
}

TEST_F(EmbeddedLogTest, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  Create(
      "t",
      {{"segment_bytes", "2048"}, {"max_message_bytes", "2048"}, {"index_interval_bytes", "100"}});
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Append("t", 0,
                       {ProduceRecord{std::nullopt, std::string(60, 'v'), {}, 1000 + i * 10},
                        ProduceRecord{std::nullopt, std::string(60, 'w'), {}, 1005 + i * 10}})
                    .ok());
  }
  auto lookup = [&](int64_t ts) {
    return *Run([&]() -> Task<Result<Offset>> {
      co_return co_await log_->OffsetForTimestamp(TopicPartition{"t", PartitionId(0)}, ts);
    });
  };
  EXPECT_EQ(lookup(0), Offset(0));
  EXPECT_EQ(lookup(1000), Offset(0));
  EXPECT_EQ(lookup(1001), Offset(1));
  EXPECT_EQ(lookup(1006), Offset(2));
  EXPECT_EQ(lookup(1250), Offset(50));
  EXPECT_EQ(lookup(1495), Offset(99));
  EXPECT_EQ(lookup(99999), Offset(100));  // none: the high watermark
  Restart();
  EXPECT_EQ(lookup(1250), Offset(50));
}

TEST_F(EmbeddedLogTest, LongPollWakesWhenDataArrives) {
  Create("t");
  auto got = Run([&]() -> Task<std::pair<size_t, int64_t>> {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(
        ex,
        [&]() -> Task<void> {
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
          co_await t.async_wait(asio::use_awaitable);
          std::vector<ProduceRecord> recs{
              ProduceRecord{std::nullopt, "late", {}, model::kNoTimestamp}};
          (void)co_await log_->Append(TopicPartition{"t", PartitionId(0)}, recs);
        },
        asio::detached);
    auto start = std::chrono::steady_clock::now();
    auto r = co_await log_->Read(TopicPartition{"t", PartitionId(0)}, Offset(0),
                                 ReadOptions{10, 1 << 20, 5000});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    co_return std::make_pair(r.ok() ? r->batches.size() : 0, static_cast<int64_t>(ms));
  });
  EXPECT_EQ(got.first, 1u);
  EXPECT_LT(got.second, 4000);
}

// Appends in flight when their topic is deleted fail with kNotFound (the topic is gone). They
// answered kUnavailable ("closed before the write was durable"), which tells a client to retry
// a write that can never succeed.
TEST_F(EmbeddedLogTest, AppendsInFlightWhenTheTopicIsDeletedFailNotFound) {
  for (int round = 0; round < 5; ++round) {
    Create("racy", {{"durability", "always"}});
    auto codes = Run([&]() -> Task<std::vector<ErrorCode>> {
      auto ex = co_await asio::this_coro::executor;
      auto out = std::make_shared<std::vector<ErrorCode>>();
      auto running = std::make_shared<int>(4);
      for (int w = 0; w < 4; ++w) {
        asio::co_spawn(
            ex,
            [&, out, running]() -> Task<void> {
              for (;;) {
                std::vector<ProduceRecord> recs{
                    ProduceRecord{std::nullopt, "v", {}, model::kNoTimestamp}};
                auto r = co_await log_->Append(TopicPartition{"racy", PartitionId(0)}, recs);
                if (!r.ok()) {
                  out->push_back(r.status().code());
                  break;
                }
              }
              --*running;
            },
            asio::detached);
      }
      asio::steady_timer t(ex, std::chrono::milliseconds(30));
      co_await t.async_wait(asio::use_awaitable);
      Status st = co_await log_->DeleteTopic("racy");
      EXPECT_TRUE(st.ok()) << st.ToString();
      while (*running > 0) {
        t.expires_after(std::chrono::milliseconds(1));
        co_await t.async_wait(asio::use_awaitable);
      }
      co_return *out;
    });
    ASSERT_EQ(codes.size(), 4u);
    for (ErrorCode c : codes) EXPECT_EQ(c, ErrorCode::kNotFound) << ErrorCodeName(c);
  }
}

TEST_F(EmbeddedLogTest, GroupOffsetsSurviveRestart) {
  Create("t", {{"partitions", "2"}});
  ASSERT_TRUE(AppendValues("t", 1, 5, "x").ok());
  auto commit = [&](const std::string& g, int p, int64_t o) {
    return Run([&]() -> Task<Status> {
      std::vector<GroupOffset> offs{
          GroupOffset{TopicPartition{"t", PartitionId(p)}, Offset(o), "m"}};
      co_return co_await log_->CommitOffsets(g, offs);
    });
  };
  ASSERT_TRUE(commit("g1", 1, 3).ok());
  ASSERT_TRUE(commit("g1", 1, 4).ok());
  ASSERT_TRUE(commit("g2", 0, 0).ok());
  EXPECT_EQ(commit("g1", 7, 1).code(), ErrorCode::kNotFound);
  EXPECT_EQ(commit("g1", 0, -5).code(), ErrorCode::kInvalidArgument);
  Restart();
  auto fetched = *Run([&]() -> Task<Result<std::vector<GroupOffset>>> {
    co_return co_await log_->FetchOffsets("g1", std::vector<TopicPartition>{});
  });
  ASSERT_EQ(fetched.size(), 1u);
  EXPECT_EQ(fetched[0].offset, Offset(4));
  EXPECT_EQ(fetched[0].metadata, "m");
  EXPECT_EQ(fetched[0].tp.partition, PartitionId(1));
}

TEST_F(EmbeddedLogTest, GroupLagGaugesFollowCommitsAndAppends) {
  registry_ = std::make_unique<metrics::Registry>();
  Restart();
  Create("t", {{"partitions", "2"}});
  ASSERT_TRUE(AppendValues("t", 0, 5, "a").ok());
  ASSERT_TRUE(AppendValues("t", 1, 3, "b").ok());
  auto commit = [&](int p, int64_t o) {
    return Run([&]() -> Task<Status> {
      std::vector<GroupOffset> offs{
          GroupOffset{TopicPartition{"t", PartitionId(p)}, Offset(o), ""}};
      co_return co_await log_->CommitOffsets("g", offs);
    });
  };
  ASSERT_TRUE(commit(0, 1).ok());
  ASSERT_TRUE(commit(1, 3).ok());
  const std::string sum = R"(sluice_consumer_group_lag_sum{group="g"})";
  const std::string max = R"(sluice_consumer_group_lag_max{group="g"})";
  EXPECT_EQ(MetricWhen(sum, [](double v) { return v == 4; }), 4);
  EXPECT_EQ(MetricWhen(max, [](double v) { return v == 4; }), 4);
  // More events raise it; a commit lowers it.
  ASSERT_TRUE(AppendValues("t", 1, 2, "c").ok());
  EXPECT_EQ(MetricWhen(sum, [](double v) { return v == 6; }), 6);
  EXPECT_EQ(MetricWhen(max, [](double v) { return v == 4; }), 4);
  ASSERT_TRUE(commit(0, 5).ok());
  EXPECT_EQ(MetricWhen(sum, [](double v) { return v == 2; }), 2);
  EXPECT_EQ(MetricWhen(max, [](double v) { return v == 2; }), 2);
  // A deleted group loses its series, and stays deleted after a restart.
  Status del = Run([&]() -> Task<Status> { co_return co_await log_->DeleteGroup("g"); });
  ASSERT_TRUE(del.ok()) << del.ToString();
  for (int i = 0; i < 250 && registry_->Expose().find(sum) != std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(registry_->Expose().find(sum), std::string::npos);
  Restart();
  auto groups = Run([&]() -> Task<Result<std::vector<std::string>>> {
    co_return co_await log_->ListGroups();
  });
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
}

TEST_F(EmbeddedLogTest, TopicAdminValidatesAndPersists) {
  Create("a.b-c_1", {{"partitions", "2"}, {"retention.ms", "1000"}});
  EXPECT_EQ(Run([&]() -> Task<Status> {
              TopicConfig config;  // named: GCC 12 mishandles non-trivial temporaries in co_await
              co_return co_await log_->CreateTopic("a.b-c_1", config);
            }).code(),
            ErrorCode::kAlreadyExists);
  for (std::string bad : std::vector<std::string>{"", "has space", "_internal", "..",
                                                  std::string(250, 'x'), "slash/name"}) {
    EXPECT_EQ(Run([&]() -> Task<Status> {
                TopicConfig config;
                co_return co_await log_->CreateTopic(bad, config);
              }).code(),
              ErrorCode::kInvalidArgument)
        << bad;
  }
  Status st = Run([&]() -> Task<Status> {
    std::map<std::string, std::string> kv{{"partitions", "4"}, {"durability", "never"}};
    co_return co_await log_->AlterTopicConfig("a.b-c_1", kv);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Run([&]() -> Task<Status> {
              std::map<std::string, std::string> kv{{"partitions", "1"}};
              co_return co_await log_->AlterTopicConfig("a.b-c_1", kv);
            }).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Run([&]() -> Task<Status> {
              std::map<std::string, std::string> kv{{"durability", "sometimes"}};
              co_return co_await log_->AlterTopicConfig("a.b-c_1", kv);
            }).code(),
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(AppendValues("a.b-c_1", 3, 2, "p3").ok());
  Restart();
  auto d = Describe("a.b-c_1");
  EXPECT_EQ(d.config.partitions, 4);
  EXPECT_EQ(d.config.durability, Durability::kNever);
  EXPECT_EQ(d.config.retention_ms, 1000);
  EXPECT_EQ(d.partitions[3].high_watermark, Offset(2));
  auto list = *Run([&]() -> Task<Result<std::vector<TopicDescription>>> {
    co_return co_await log_->ListTopics(false);
  });
  ASSERT_EQ(list.size(), 1u);
  auto all = *Run([&]() -> Task<Result<std::vector<TopicDescription>>> {
    co_return co_await log_->ListTopics(true);
  });
  EXPECT_EQ(all.size(), 2u);  // plus _offsets
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->DeleteTopic("a.b-c_1"); }).ok());
  EXPECT_EQ(AppendValues("a.b-c_1", 0, 1, "x").status().code(), ErrorCode::kNotFound);
  Restart();
  EXPECT_FALSE(fs::exists(dir_ / "topics" / "a.b-c_1"));
  Create("a.b-c_1");
  EXPECT_TRUE(ReadAll("a.b-c_1", 0).empty());
}

// A deleted topic is gone at once; its files are then removed step by step in the background
// (Reaper), or at the next start when a stop comes first. A new topic of the same name is
// independent of them.
TEST_F(EmbeddedLogTest, ADeletedTopicsFilesAreRemovedInTheBackground) {
  auto leftovers = [&] {
    int n = 0;
    for (auto& e : fs::directory_iterator(dir_ / "topics")) {
      n += e.path().filename().string().find("deleted") != std::string::npos;
    }
    return n;
  };
  for (bool stop_first : {false, true}) {
    SCOPED_TRACE(stop_first ? "stopped first" : "left to finish");
    // Paced to 1 KiB/s when stopping first: the removal cannot finish before the stop.
    delete_bytes_per_second_ = stop_first ? 1024 : EmbeddedLogOptions().delete_bytes_per_second;
    Restart();
    Create("doomed",
           {{"partitions", "2"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(AppendValues("doomed", i % 2, 3, fmt::format("{}-", i), 1000).ok());
    }
    auto del = [&]() -> Task<Status> { co_return co_await log_->DeleteTopic("doomed"); };
    ASSERT_TRUE(Run(del).ok());
    EXPECT_EQ(AppendValues("doomed", 0, 1, "x").status().code(), ErrorCode::kNotFound);
    EXPECT_FALSE(fs::exists(dir_ / "topics" / "doomed"));
    Create("doomed");
    ASSERT_TRUE(AppendValues("doomed", 0, 1, "new-").ok());
    if (stop_first) {
      EXPECT_EQ(leftovers(), 1);
      Restart();
    } else {
      for (int tries = 0; leftovers() > 0; ++tries) {
        ASSERT_LT(tries, 500) << "a deleted topic's files still there after 5 s";
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    EXPECT_EQ(leftovers(), 0);
    auto all = ReadAll("doomed", 0);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].second, "new-0");
    ASSERT_TRUE(Run(del).ok());
  }
}

// Compaction keeps each replaced file under a second name (a hard link made before the rename)
// and deletes it gradually. A start after a crash between the link and the rename deletes the
// second name only: the segment's file stays whole.
TEST_F(EmbeddedLogTest, CompactionsReplacedFilesAreDeletedGraduallyAndTheLinkIsSafe) {
  delete_bytes_per_second_ = 1024;  // slow enough that the replaced files are still there
  Restart();
  Create("kv", {{"cleanup_policy", "compact"},
                {"segment_bytes", "4096"},
                {"max_message_bytes", "4096"}});
  const fs::path pdir = PartitionDir("kv", 0);
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 4; ++k) {
      ASSERT_TRUE(Append("kv", 0,
                         {ProduceRecord{fmt::format("k{}", k),
                                        fmt::format("v{}-{}", k, round) + std::string(200, 'x'),
                                        {},
                                        model::kNoTimestamp}})
                      .ok());
    }
  }
  const size_t before = ReadAll("kv", 0).size();
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  auto latest = ReadAll("kv", 0);
  EXPECT_LT(latest.size(), before);  // compaction did replace segments
  EXPECT_EQ(latest.back().second, "v3-19" + std::string(200, 'x'));
  auto deleting = [&] {
    int n = 0;
    for (auto& e : fs::directory_iterator(pdir)) n += e.path().extension() == ".deleting";
    return n;
  };
  EXPECT_GE(deleting(), 1) << "no replaced file kept for a gradual deletion";
  // A stop leaves them; the start deletes them.
  Restart();
  EXPECT_EQ(deleting(), 0);
  EXPECT_EQ(ReadAll("kv", 0), latest);
  // The crash window: the second name exists and the rename has not happened.
  log_->Stop();
  log_.reset();
  const fs::path first = pdir / "00000000000000000000.log";
  ASSERT_TRUE(fs::exists(first));
  const auto size = fs::file_size(first);
  fs::create_hard_link(first, pdir / "00000000000000000000.replaced.deleting");
  Open();
  EXPECT_EQ(deleting(), 0);
  ASSERT_TRUE(fs::exists(first));
  EXPECT_EQ(fs::file_size(first), size);
  EXPECT_EQ(ReadAll("kv", 0), latest);
}

// The reaper shrinks and unlinks a file it is given, but a file that still has another name
// (compaction's link before its rename) only loses the name it was given.
TEST(ReaperTest, ShrinksOnlyFilesWithOneName) {
  const fs::path dir = fs::temp_directory_path() /
                       fmt::format("sluice-reaper-{}-{}", ::getpid(), std::random_device()());
  fs::create_directories(dir);
  const std::string data(5 << 20, 'd');  // two steps
  std::ofstream(dir / "alone.deleting", std::ios::binary) << data;
  std::ofstream(dir / "live.log", std::ios::binary) << data;
  fs::create_hard_link(dir / "live.log", dir / "live.deleting");
  {
    internal::Reaper reaper(1e12, &SystemClock::Instance());
    reaper.Add((dir / "live.deleting").string(), 0);
    reaper.Add((dir / "alone.deleting").string(), 0);
    for (int tries = 0; fs::exists(dir / "alone.deleting") || fs::exists(dir / "live.deleting");
         ++tries) {
      ASSERT_LT(tries, 500) << "not deleted after 5 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_EQ(fs::file_size(dir / "live.log"), data.size());
  EXPECT_EQ(fs::hard_link_count(dir / "live.log"), 1u);
  fs::remove_all(dir);
}

TEST_F(EmbeddedLogTest, LocalPartitionsSplitATopicBetweenShards) {
  auto picks = [&](uint32_t shard, int32_t count) {
    std::set<int32_t> got;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      auto fn = [&, seed]() -> Task<std::optional<PartitionId>> {
        co_return log_->LocalPartition("topic-x", count, seed);
      };
      auto p = BlockOn(*shards_, ShardId(shard), fn);
      if (p) got.insert(p->value());
    }
    return got;
  };
  auto s0 = picks(0, 5);
  auto s1 = picks(1, 5);
  EXPECT_EQ(s0.size() + s1.size(), 5u);
  std::set<int32_t> all(s0.begin(), s0.end());
  all.insert(s1.begin(), s1.end());
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3, 4}));
  // One partition: exactly one shard owns it.
  EXPECT_EQ(picks(0, 1).size() + picks(1, 1).size(), 1u);
  // Off the shards there is no local partition.
  EXPECT_FALSE(log_->LocalPartition("topic-x", 5, 0).has_value());
}

TEST_F(EmbeddedLogTest, BadReadsAndAppendsGetClearErrors) {
  Create("t", {{"max_message_bytes", "1024"}});
  auto big = AppendValues("t", 0, 1, std::string(5000, 'z'));
  EXPECT_EQ(big.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(AppendValues("nope", 0, 1, "x").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(AppendValues("t", 1, 1, "x").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Append("t", 0, {}).status().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(AppendValues("t", 0, 2, "ok").ok());
  auto read = [&](int64_t off) {
    return Run([&]() -> Task<Result<ReadResult>> {
      co_return co_await log_->Read(TopicPartition{"t", PartitionId(0)}, Offset(off),
                                    ReadOptions{});
    });
  };
  EXPECT_EQ(read(-1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(read(3).status().code(), ErrorCode::kOutOfRange);
  auto at_end = read(2);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->batches.empty());
  EXPECT_EQ(ReadAll("t", 0).size(), 2u);  // nothing from the failed appends
}

TEST_F(EmbeddedLogTest, SecondProcessCannotOpenTheSameDirectory) {
  EmbeddedLogOptions o;
  o.data_dir = dir_.string();
  auto second = EmbeddedLog::Open(o, *shards_, clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kFailedPrecondition);
}


}  // namespace
}  // namespace sluice::storage

namespace sluice::storage {
namespace {

TEST(EmbeddedLogMetricsTest, AppendsAndPartitionStateAreExposed) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("sluice-metrics-{}", ::getpid());
  fs::remove_all(dir);
  runtime::Shards shards(2, 2);
  shards.Start();
  metrics::Registry registry;
  EmbeddedLogOptions o;
  o.data_dir = dir.string();
  o.metrics = &registry;
  o.checkpoint_interval_ms = 20;
  auto log = EmbeddedLog::Open(o, shards, SystemClock::Instance());
  ASSERT_TRUE(log.ok());
  auto fn = [&]() -> Task<Status> {
    TopicConfig c;
    SLUICE_CO_RETURN_IF_ERROR(co_await (*log)->CreateTopic("m", c));
    std::vector<model::ProduceRecord> recs(5, model::ProduceRecord(std::nullopt, "v"));
    model::TopicPartition tp("m", model::PartitionId(0));
    auto r = co_await (*log)->Append(tp, recs);
    co_return r.status();
  };
  ASSERT_TRUE(runtime::BlockOn(shards, runtime::ShardId(0), fn).ok());
  std::string text;
  for (int i = 0; i < 250; ++i) {
    text = registry.Expose();
    if (text.find("sluice_storage_high_watermark{partition=\"0\",topic=\"m\"} 5") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(text.find("sluice_storage_appended_records_total 5"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_storage_high_watermark{partition=\"0\",topic=\"m\"} 5"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_storage_fsync_seconds_count"), std::string::npos);
  (*log)->Stop();
  shards.Stop();
  fs::remove_all(dir);
}


}  // namespace
}  // namespace sluice::storage

namespace sluice::storage {
namespace {

class CountingListener final : public GroupListener {
 public:
  void OnRevoked(const std::vector<model::PartitionId>& partitions) override {
    revoked += static_cast<int>(partitions.size());
  }
  void OnAssigned(const std::vector<model::PartitionId>& partitions) override {
    assigned += static_cast<int>(partitions.size());
  }
  int assigned = 0;
  int revoked = 0;
};

TEST_F(EmbeddedLogTest, TheOnlyGroupMemberOwnsEveryPartitionUntilItLeaves) {
  Create("slots", {{"partitions", "3"}});
  CountingListener l;
  auto m = Run([&]() -> Task<Result<std::unique_ptr<GroupMembership>>> {
    std::string group = "g", topic = "slots";
    co_return co_await log_->JoinGroup(std::move(group), std::move(topic), l);
  });
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(l.assigned, 3);  // before JoinGroup returned
  EXPECT_EQ(l.revoked, 0);
  (*m)->Leave();
  (*m)->Leave();  // idempotent
  EXPECT_EQ(l.revoked, 3);
  auto missing = Run([&]() -> Task<Result<std::unique_ptr<GroupMembership>>> {
    std::string group = "g", topic = "nope";
    co_return co_await log_->JoinGroup(std::move(group), std::move(topic), l);
  });
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

// ReadToEnd replays a partition in several reads, and from below the log start (after retention)
// continues at the start instead of failing.
TEST_F(EmbeddedLogTest, ReadToEndReplaysFromTheLogStartAfterRetention) {
  Create("t",
         {{"segment_bytes", "2048"}, {"max_message_bytes", "2048"}, {"retention_bytes", "4096"}});
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(AppendValues("t", 0, 2, fmt::format("{}-", i), 100).ok());
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  const int64_t start = Describe("t").partitions[0].log_start_offset.value();
  ASSERT_GT(start, 0);
  std::vector<int64_t> offsets;
  int64_t next = 0;
  ReadOptions o;
  o.max_records = 3;
  Status st = Run([&]() -> Task<Status> {
    const std::function<void(const model::RecordView&)> fn = [&](const model::RecordView& rec) {
      offsets.push_back(rec.offset.value());
    };
    co_return co_await ReadToEnd(*log_, TopicPartition{"t", PartitionId(0)}, &next, o, fn);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(offsets.front(), start);
  EXPECT_EQ(offsets.back(), 59);
  for (size_t i = 1; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], offsets[i - 1] + 1);
  EXPECT_EQ(next, 60);
  // At the end: nothing more, and next stays.
  offsets.clear();
  st = Run([&]() -> Task<Status> {
    const std::function<void(const model::RecordView&)> fn = [&](const model::RecordView& rec) {
      offsets.push_back(rec.offset.value());
    };
    co_return co_await ReadToEnd(*log_, TopicPartition{"t", PartitionId(0)}, &next, o, fn);
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(offsets.empty());
  EXPECT_EQ(next, 60);
}


TEST_F(EmbeddedLogTest, PreallocatedSegmentsStartZeroFilledAndSealTrimmed) {
  Create("t", {{"preallocate", "true"},
               {"segment_bytes", "65536"},
               {"max_message_bytes", "4096"},
               {"index_interval_bytes", "256"}});
  int n = 0;
  auto append = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(AppendValues("t", 0, 3, fmt::format("{}-", n), 200).ok());
      ++n;
    }
  };
  // The first segment is a plain one; once the next file is zero-filled the partition moves
  // onto it at the next append.
  for (int tries = 0; !Describe("t").partitions[0].active_segment_preallocated; ++tries) {
    ASSERT_LT(tries, 500) << "no preallocated segment after 5 s";
    append(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  PartitionInfo info = Describe("t").partitions[0];
  EXPECT_GT(info.preallocated_bytes, 0);
  EXPECT_GT(info.size_bytes, 0);
  // The active file is the whole segment, zeros after the data.
  auto log_files = [&] {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(PartitionDir("t", 0))) {
      if (e.path().extension() == ".log") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(fs::file_size(log_files().back()), 65536u);
  // Fill several segments: every roll lands on a prepared file (given time to fill).
  for (int round = 0; round < 4; ++round) {
    append(60);  // about 40 KiB: past the 64 KiB segment every other round
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto files = log_files();
  ASSERT_GE(files.size(), 4u);
  // Sealed segments were trimmed back to their batches: each ends with a whole batch.
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    const std::string bytes = ReadFile(files[i]);
    size_t pos = 0;
    while (pos < bytes.size()) pos += static_cast<size_t>(model::BatchTotalSize(bytes.data() + pos));
    EXPECT_EQ(pos, bytes.size()) << files[i];
    EXPECT_LT(bytes.size(), 65536u) << files[i];
  }
  auto check_all = [&] {
    auto all = ReadAll("t", 0);
    ASSERT_EQ(all.size(), static_cast<size_t>(3 * n));
    ExpectRounds(all, 0, 3, 200);
  };
  check_all();
  // A clean restart trims the active file too, and keeps the ready next file for later.
  Restart();
  check_all();
  EXPECT_EQ(fs::file_size(log_files().back()) < 65536u, true);
  append(1);
  EXPECT_TRUE(Describe("t").partitions[0].active_segment_preallocated);
  check_all();
}

// Pages of the file in [pos, pos + len) the page cache holds (mincore over a mapping).
int64_t ResidentPages(const fs::path& path, int64_t pos, int64_t len) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  void* m = ::mmap(nullptr, static_cast<size_t>(pos + len), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return -1;
  std::vector<unsigned char> v(static_cast<size_t>((pos + len + 4095) / 4096));
  int64_t n = 0;
  if (::mincore(m, static_cast<size_t>(pos + len), v.data()) == 0) {
    for (size_t i = static_cast<size_t>(pos / 4096); i < v.size(); ++i) n += v[i] & 1;
  }
  ::munmap(m, static_cast<size_t>(pos + len));
  return n;
}

// The zero-filled pages just ahead of the tail are read back into the page cache by the pool
// when they have gone missing, so the shard's next write does not read them itself.
TEST_F(EmbeddedLogTest, PagesAheadOfAPreallocatedTailAreReadBackWhenDropped) {
  // 4 MiB: zero-filled in 32 paced pieces (the fixture's clock does not move, so the pacer's
  // waits add up: ~2 s).
  constexpr int64_t kSegment = 4 << 20;
  Create("t", {{"preallocate", "true"},
               {"durability", "always"},
               {"segment_bytes", std::to_string(kSegment)},
               {"max_message_bytes", "65536"}});
  int n = 0;
  for (int tries = 0; !Describe("t").partitions[0].active_segment_preallocated; ++tries) {
    ASSERT_LT(tries, 2000) << "no preallocated segment after 20 s";
    ASSERT_TRUE(AppendValues("t", 0, 1, fmt::format("{}-", n++)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fs::path active;
  for (auto& e : fs::directory_iterator(PartitionDir("t", 0))) {
    if (e.path().extension() == ".log" && e.path() > active) active = e.path();
  }
  ASSERT_EQ(static_cast<int64_t>(fs::file_size(active)), kSegment);
  // Drop the whole file from the page cache (every page is clean: durability always).
  const int64_t tail = Describe("t").partitions[0].size_bytes;
  ASSERT_LT(tail, 1 << 20);
  {
    int fd = ::open(active.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
  }
  ASSERT_LT(ResidentPages(active, 2 << 20, 1 << 20), 128)
      << "the kernel kept the pages: nothing to test";
  // 300 KiB more appends: the tail moves past the step, and the pool asks for the MiB ahead.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(AppendValues("t", 0, 1, fmt::format("{}-", n++), 60 << 10).ok());
  }
  const int64_t new_tail = Describe("t").partitions[0].size_bytes;
  ASSERT_GT(new_tail, tail + (256 << 10));
  const int64_t ahead_from = (new_tail + 8192) / 4096 * 4096;  // past what the writes touched
  const int64_t ahead = 512 << 10;
  int64_t resident = 0;
  for (int tries = 0; tries < 500; ++tries) {
    resident = ResidentPages(active, ahead_from, ahead);
    if (resident == ahead / 4096) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(resident, ahead / 4096);
  auto all = ReadAll("t", 0);
  ASSERT_EQ(all.size(), static_cast<size_t>(n));
}

// After a crash the active file is the data followed by zeros up to the segment size. Both
// with a recovery point and without one the zeros are cut off like a torn tail, nothing
// acknowledged is lost, and appends go on at the right offset.
TEST_F(EmbeddedLogTest, RecoveryCutsTheZeroFilledTailOfACrashedSegment) {
  for (bool keep_recovery_point : {true, false}) {
    SCOPED_TRACE(keep_recovery_point ? "recovery point" : "no recovery point");
    const std::string topic = keep_recovery_point ? "rp" : "norp";
    Create(topic, {{"preallocate", "true"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
    int n = 0;
    for (int tries = 0; !Describe(topic).partitions[0].active_segment_preallocated; ++tries) {
      ASSERT_LT(tries, 500);
      ASSERT_TRUE(AppendValues(topic, 0, 2, fmt::format("{}-", n++)).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(AppendValues(topic, 0, 2, fmt::format("{}-", n++)).ok());
    ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
    ForgetCleanShutdown(keep_recovery_point);
    // Put back the zeros a crash would have left after the data.
    fs::path active;
    for (auto& e : fs::directory_iterator(PartitionDir(topic, 0))) {
      if (e.path().extension() == ".log" && e.path() > active) active = e.path();
    }
    const auto data = fs::file_size(active);
    ASSERT_LT(data, 65536u);
    fs::resize_file(active, 65536);
    Open();
    auto all = ReadAll(topic, 0);
    ASSERT_EQ(all.size(), static_cast<size_t>(2 * n));
    EXPECT_EQ(all.back().second, fmt::format("{}-1", n - 1));
    EXPECT_EQ(fs::file_size(active), data);
    auto r = AppendValues(topic, 0, 1, "after");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->base_offset, Offset(2 * n));
    EXPECT_EQ(ReadAll(topic, 0).back().second, "after0");
  }
}

// A prepared file that disappears (an operator cleaning up, say) costs the preallocation of one
// segment, never the partition's writes.
TEST_F(EmbeddedLogTest, AMissingPreparedFileFallsBackToAPlainSegment) {
  Create("t", {{"preallocate", "true"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
  const fs::path prepared = PartitionDir("t", 0) / "next-segment.zeros";
  int n = 0;
  for (int tries = 0; !fs::exists(prepared); ++tries) {
    ASSERT_LT(tries, 500);
    ASSERT_TRUE(AppendValues("t", 0, 1, fmt::format("{}-", n++)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the partition marks it ready
  fs::remove(prepared);
  for (int i = 0; i < 5; ++i) {
    auto r = AppendValues("t", 0, 1, fmt::format("{}-", n++));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto all = ReadAll("t", 0);
  ASSERT_EQ(all.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(all[i].second, fmt::format("{}-0", i));
  // Preallocation resumes with the next file.
  for (int tries = 0; !Describe("t").partitions[0].active_segment_preallocated; ++tries) {
    ASSERT_LT(tries, 500);
    ASSERT_TRUE(AppendValues("t", 0, 1, fmt::format("{}-", n++)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ReadAll("t", 0).size(), static_cast<size_t>(n));
}

// A file's identity: its inode and its birth time (a freed inode number is soon reused).
std::pair<uint64_t, int64_t> FileIdentity(const fs::path& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_INO | STATX_BTIME, &sx) != 0) return {0, 0};
  const int64_t btime = (sx.stx_mask & STATX_BTIME)
                            ? sx.stx_btime.tv_sec * 1'000'000'000LL + sx.stx_btime.tv_nsec
                            : 0;
  return {sx.stx_ino, btime};
}

// The active segment file of a partition: its batches (each must lie at or after `base`), then
// only zeros up to its end. Returns the number of batches, or -1 (with a failure) otherwise.
int CheckBatchesThenZeros(const std::string& bytes, int64_t base) {
  size_t pos = 0;
  int batches = 0;
  while (pos + 12 <= bytes.size()) {
    const char* p = bytes.data() + pos;
    if (std::all_of(p, p + 12, [](char c) { return c == 0; })) break;
    model::RecordBatchView v(std::string_view(p, static_cast<size_t>(model::BatchTotalSize(p))));
    if (!v.VerifyHeaderAndCrc().ok() || v.base_offset().value() < base) {
      ADD_FAILURE() << "a batch that is not this segment's at byte " << pos;
      return -1;
    }
    pos += static_cast<size_t>(model::BatchTotalSize(p));
    ++batches;
  }
  if (!std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(pos), bytes.end(),
                   [](char c) { return c == 0; })) {
    ADD_FAILURE() << "non-zero bytes after the last batch, from byte " << pos;
    return -1;
  }
  return batches;
}

fs::path ActiveLogFile(const fs::path& dir) {
  fs::path active;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && e.path() > active) active = e.path();
  }
  return active;
}

// Retention hands the file of the oldest segment it removes to the next zero-fill, as
// PostgreSQL recycles WAL files: in a steady state each new segment is written into a file an
// old one had, and nothing of the old batches is ever read, also not after a crash.
TEST_F(EmbeddedLogTest, RetentionRecyclesTheFileOfARemovedSegment) {
  Create("t", {{"preallocate", "true"},
               {"segment_bytes", "65536"},
               {"max_message_bytes", "4096"},
               {"retention_bytes", "131072"}});
  const fs::path pdir = PartitionDir("t", 0);
  std::map<std::pair<uint64_t, int64_t>, std::string> seen;  // every .log file seen
  int n = 0;
  auto append = [&] {
    auto r = AppendValues("t", 0, 3, fmt::format("{}-", n), 1000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ++n;
  };
  auto note_files = [&] {
    for (auto& e : fs::directory_iterator(pdir)) {
      if (e.path().extension() == ".log") seen.emplace(FileIdentity(e.path()), e.path().filename());
    }
  };
  for (int tries = 0; !Describe("t").partitions[0].active_segment_recycled; ++tries) {
    ASSERT_LT(tries, 1000) << "no recycled segment after 10 s";
    note_files();
    append();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const fs::path active = ActiveLogFile(pdir);
  ASSERT_EQ(fs::file_size(active), 65536u);
  // The active file was an older segment's, under that segment's name.
  auto was = seen.find(FileIdentity(active));
  ASSERT_NE(was, seen.end()) << active << " is a new file";
  EXPECT_LT(was->second, active.filename().string());
  const int64_t base = std::stoll(active.stem().string());
  EXPECT_GT(CheckBatchesThenZeros(ReadFile(active), base), 0);

  auto check = [&] {
    PartitionInfo info = Describe("t").partitions[0];
    EXPECT_GT(info.log_start_offset.value(), 0);
    // Retention runs when a fill starts, so up to two segments sealed since, and the active.
    EXPECT_LE(info.size_bytes, 131072 + 3 * 65536);
    auto all = ReadAll("t", 0);
    ASSERT_FALSE(all.empty());
    ExpectRounds(all, info.log_start_offset.value(), 3, 1000);
    EXPECT_EQ(all.back().first, 3 * n - 1);
  };
  check();
  // Several rolls more: the steady state keeps reusing files, never more than one spare.
  note_files();
  const size_t files_before = seen.size();
  for (int i = 0; i < 100; ++i) {
    note_files();
    append();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int logs = 0;
    int spares = 0;
    for (auto& e : fs::directory_iterator(pdir)) {
      logs += e.path().extension() == ".log";
      spares += e.path().filename() == "recycled-segment";
    }
    EXPECT_LE(spares, 1);
    EXPECT_LE(logs, 5);
  }
  note_files();
  EXPECT_GE(Describe("t").partitions[0].segments, 2);
  EXPECT_LE(seen.size() - files_before, 2u) << "100 batches (~5 segments) should reuse files";
  check();
  // A crash: the zeros after the recycled file's data are cut off like a torn tail.
  ForgetCleanShutdown();
  Open();
  check();
  append();
  check();
}

// The old batches in a recycled file (here a crash leftover holding valid batches at offsets
// the partition also has) are overwritten before the file becomes a segment.
TEST_F(EmbeddedLogTest, AStaleRecycledFileNeverReachesAReader) {
  Create("t", {{"preallocate", "true"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
  const fs::path pdir = PartitionDir("t", 0);
  int n = 0;
  auto append = [&] {
    auto r = AppendValues("t", 0, 2, fmt::format("{}-", n), 500);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ++n;
  };
  for (int i = 0; i < 100; ++i) append();
  // Valid batches at offsets the partition has: what a recycled file of an older segment holds.
  std::string stale;
  {
    std::vector<fs::path> sealed;
    for (auto& e : fs::directory_iterator(pdir)) {
      if (e.path().extension() == ".log") sealed.push_back(e.path());
    }
    std::sort(sealed.begin(), sealed.end());
    sealed.pop_back();  // the active one, zeros after its data
    for (const auto& f : sealed) stale += ReadFile(f);
  }
  ASSERT_GT(stale.size(), 40000u);
  log_->Stop();
  log_.reset();
  for (const char* name : {"recycled-segment", "next-segment.tmp"}) {
    std::ofstream(pdir / name, std::ios::binary) << stale;
  }
  Open();
  EXPECT_TRUE(fs::exists(pdir / "recycled-segment"));
  EXPECT_FALSE(fs::exists(pdir / "next-segment.tmp"));  // an interrupted fill: deleted
  for (int tries = 0; !Describe("t").partitions[0].active_segment_recycled; ++tries) {
    ASSERT_LT(tries, 1000) << "no recycled segment after 10 s";
    append();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const fs::path active = ActiveLogFile(pdir);
  EXPECT_GE(CheckBatchesThenZeros(ReadFile(active), std::stoll(active.stem().string())), 0);
  auto check = [&] {
    auto all = ReadAll("t", 0);
    ASSERT_EQ(all.size(), static_cast<size_t>(2 * n));
    ExpectRounds(all, 0, 2, 500);
  };
  check();
  ForgetCleanShutdown();
  Open();
  check();

  // A spare file is deleted when preallocation goes off, or found so on a start.
  log_->Stop();
  log_.reset();
  std::ofstream(pdir / "recycled-segment", std::ios::binary) << stale;
  Open();
  ASSERT_TRUE(fs::exists(pdir / "recycled-segment"));
  Status st = Run([&]() -> Task<Status> {
    std::map<std::string, std::string> off{{"preallocate", "false"}};
    co_return co_await log_->AlterTopicConfig("t", off);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(fs::exists(pdir / "recycled-segment"));
  log_->Stop();
  log_.reset();
  std::ofstream(pdir / "recycled-segment", std::ios::binary) << stale;
  Open();
  EXPECT_FALSE(fs::exists(pdir / "recycled-segment"));
  check();
}

// Whole, valid batches from earlier in the partition (what a file reused as a later segment
// held) after the end of a segment's data are not taken for new data by recovery: their base
// offsets are below the segment's next offset.
TEST_F(EmbeddedLogTest, RecoveryStopsAtAnOlderBatchAfterTheData) {
  for (bool keep_recovery_point : {true, false}) {
    SCOPED_TRACE(keep_recovery_point ? "recovery point" : "no recovery point");
    const std::string topic = keep_recovery_point ? "rp" : "norp";
    Create(topic, {{"segment_bytes", "16384"}, {"max_message_bytes", "4096"}});
    const fs::path pdir = PartitionDir(topic, 0);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(AppendValues(topic, 0, 2, fmt::format("{}-", i), 300).ok());
    }
    ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
    const std::string old = ReadFile(pdir / "00000000000000000000.log");
    ASSERT_GT(old.size(), 2000u);
    ForgetCleanShutdown(keep_recovery_point);
    const fs::path active = ActiveLogFile(pdir);
    ASSERT_NE(active.filename(), "00000000000000000000.log");
    const auto data = fs::file_size(active);
    std::ofstream(active, std::ios::binary | std::ios::app) << old;
    Open();
    EXPECT_EQ(fs::file_size(active), data);
    auto all = ReadAll(topic, 0);
    ASSERT_EQ(all.size(), 80u);
    for (int i = 0; i < 80; ++i) {
      EXPECT_EQ(all[i].first, i);
      EXPECT_EQ(all[i].second, fmt::format("{}-{}", i / 2, i % 2) + std::string(300, 'x'));
    }
  }
}

// Segments that retention removes (and does not recycle) leave the log at once, and their
// files are shrunk step by step and then unlinked; a restart deletes what a stop left.
TEST_F(EmbeddedLogTest, RemovedSegmentsAreDeletedGraduallyAndLeftoversOnStart) {
  Create("t", {{"segment_bytes", "65536"},
               {"max_message_bytes", "4096"},
               {"retention_bytes", "131072"}});
  const fs::path pdir = PartitionDir("t", 0);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(AppendValues("t", 0, 3, fmt::format("{}-", i), 1000).ok());
  }
  ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
  auto count = [&](const std::string& ext) {
    int n = 0;
    for (auto& e : fs::directory_iterator(pdir)) n += e.path().extension() == ext;
    return n;
  };
  PartitionInfo info = Describe("t").partitions[0];
  EXPECT_GT(info.log_start_offset.value(), 0);
  EXPECT_LE(count(".log"), 4);
  EXPECT_LE(count(".index"), 4);
  for (int tries = 0; count(".deleting") > 0; ++tries) {
    ASSERT_LT(tries, 500) << "removed segments still on disk after 5 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto all = ReadAll("t", 0);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().first, info.log_start_offset.value());
  EXPECT_EQ(all.back().first, 599);
  // A stop in the middle of a deletion leaves the file; the next start deletes it.
  log_->Stop();
  log_.reset();
  std::ofstream(pdir / "00000000000000000003.deleting", std::ios::binary) << std::string(5000, 'x');
  Open();
  EXPECT_EQ(count(".deleting"), 0);
  EXPECT_EQ(ReadAll("t", 0), all);
}

// Removals that outpace the deletion budget are not queued without bound: past what the
// budget deletes in Reaper::kMaxBacklogSeconds (here, one segment at a time), removed segments
// are unlinked at once.
TEST_F(EmbeddedLogTest, GradualDeletionKeepsItsBacklogBounded) {
  delete_bytes_per_second_ = 1024;  // 64 KiB segments: about a minute each
  registry_ = std::make_unique<metrics::Registry>();
  Restart();
  Create("t", {{"segment_bytes", "65536"},
               {"max_message_bytes", "4096"},
               {"retention_bytes", "65536"}});
  const fs::path pdir = PartitionDir("t", 0);
  auto deleting = [&] {
    int n = 0;
    for (auto& e : fs::directory_iterator(pdir)) n += e.path().extension() == ".deleting";
    return n;
  };
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(AppendValues("t", 0, 3, fmt::format("{}-{}-", round, i), 1000).ok());
    }
    ASSERT_TRUE(Run([&]() -> Task<Status> { co_return co_await log_->RunHousekeeping(); }).ok());
    EXPECT_LE(deleting(), 4) << "round " << round;
  }
  EXPECT_GE(deleting(), 1);  // the first ones do wait
  EXPECT_LE(Describe("t").partitions[0].segments, 3);
  // What an operator sees: the backlog, and that removals overflowed it.
  auto positive = [](double v) { return v > 0; };
  EXPECT_TRUE(MetricWhen("sluice_storage_delete_backlog_files", positive).has_value());
  auto bytes = MetricWhen("sluice_storage_delete_backlog_bytes", positive);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_LE(*bytes, internal::Reaper::kMaxBacklogSeconds * delete_bytes_per_second_ + 65536);
  EXPECT_TRUE(MetricWhen("sluice_storage_segments_unlinked_at_once_total", positive).has_value());
  // Stopping leaves them; the next start deletes them.
  Restart();
  EXPECT_EQ(deleting(), 0);
}

// A preallocate topic's partitions say whether they append into zero-filled blocks (the fast
// fdatasync) and how much is filled ahead; other topics have no such series.
TEST_F(EmbeddedLogTest, PreallocationStateIsExposedAsMetrics) {
  registry_ = std::make_unique<metrics::Registry>();
  Restart();
  Create("pre", {{"preallocate", "true"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
  Create("plain", {{"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
  ASSERT_TRUE(AppendValues("plain", 0, 1, "x").ok());
  const std::string labels = "{partition=\"0\",topic=\"pre\"}";
  // The first segment is a plain one until the zero-filled file is ready.
  ASSERT_TRUE(AppendValues("pre", 0, 1, "x").ok());
  EXPECT_TRUE(MetricWhen("sluice_storage_active_segment_preallocated" + labels,
                         [](double v) { return v == 0; })
                  .has_value());
  for (int tries = 0; !Describe("pre").partitions[0].active_segment_preallocated; ++tries) {
    ASSERT_LT(tries, 500) << "never moved onto a zero-filled segment";
    ASSERT_TRUE(AppendValues("pre", 0, 1, "y").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(MetricWhen("sluice_storage_active_segment_preallocated" + labels,
                         [](double v) { return v == 1; })
                  .has_value());
  EXPECT_TRUE(MetricWhen("sluice_storage_partition_preallocated_bytes" + labels,
                         [](double v) { return v > 0 && v <= 2 * 65536; })
                  .has_value());
  EXPECT_TRUE(MetricWhen("sluice_storage_high_watermark{partition=\"0\",topic=\"plain\"}",
                         [](double v) { return v == 1; })
                  .has_value());
  const std::string text = registry_->Expose();
  EXPECT_NE(text.find("topic=\"plain\"}"), std::string::npos);
  EXPECT_EQ(text.find("preallocated{partition=\"0\",topic=\"plain\"}"), std::string::npos);
}

// A deleted topic's per-partition gauges stop being exposed (no dashboard keeps showing a topic
// that is gone); a new topic of the same name starts from its own values.
TEST_F(EmbeddedLogTest, ADeletedTopicsGaugesAreNoLongerExposed) {
  registry_ = std::make_unique<metrics::Registry>();
  Restart();
  Create("gone", {{"partitions", "2"}});
  Create("kept");
  ASSERT_TRUE(AppendValues("gone", 1, 3, "x").ok());
  ASSERT_TRUE(AppendValues("kept", 0, 2, "y").ok());
  const std::string gone1 = "sluice_storage_high_watermark{partition=\"1\",topic=\"gone\"}";
  const std::string kept0 = "sluice_storage_high_watermark{partition=\"0\",topic=\"kept\"}";
  ASSERT_TRUE(MetricWhen(gone1, [](double v) { return v == 3; }).has_value());
  Status st = Run([&]() -> Task<Status> { co_return co_await log_->DeleteTopic("gone"); });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // Several ticks later: still absent, and the other topic's are still there.
  ASSERT_TRUE(MetricWhen(kept0, [](double v) { return v == 2; }).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string text = registry_->Expose();
  EXPECT_EQ(text.find("topic=\"gone\""), std::string::npos) << text;
  EXPECT_NE(text.find(kept0 + " 2"), std::string::npos) << text;
  Create("gone", {{"partitions", "2"}});
  ASSERT_TRUE(AppendValues("gone", 1, 1, "z").ok());
  EXPECT_TRUE(MetricWhen(gone1, [](double v) { return v == 1; }).has_value());
}

TEST_F(EmbeddedLogTest, TurningPreallocationOffDeletesThePreparedFile) {
  Create("t", {{"preallocate", "true"}, {"segment_bytes", "65536"}, {"max_message_bytes", "4096"}});
  const fs::path prepared = PartitionDir("t", 0) / "next-segment.zeros";
  for (int tries = 0; !fs::exists(prepared); ++tries) {
    ASSERT_LT(tries, 500);
    ASSERT_TRUE(AppendValues("t", 0, 1, "x").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Status st = Run([&]() -> Task<Status> {
    std::map<std::string, std::string> off{{"preallocate", "false"}};
    co_return co_await log_->AlterTopicConfig("t", off);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(fs::exists(prepared));
  EXPECT_EQ(Describe("t").config.preallocate, false);
  ASSERT_TRUE(AppendValues("t", 0, 1, "y").ok());
  EXPECT_EQ(ReadAll("t", 0).back().second, "y0");
}


}  // namespace
}  // namespace sluice::storage
