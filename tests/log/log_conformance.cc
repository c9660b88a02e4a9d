// The storage::Log conformance cases (see log_conformance.h). Every case runs against a fresh
// LogUnderTest; coroutines run on shard 0 through runtime::BlockOn.
#include "log_conformance.h"
#include "model/record_batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>

namespace sluice::logtest {

int internal::LinkLogConformanceSuite() { return 0; }

namespace {

using model::Offset;
using model::PartitionId;
using model::ProduceRecord;
using model::TopicPartition;
using runtime::ShardId;
using storage::ReadOptions;
using storage::ReadResult;
using Clock = std::chrono::steady_clock;

// A decoded record that owns its bytes.
struct Got {
  int64_t offset = -1;
  model::TimestampMs timestamp = model::kNoTimestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<model::Header> headers;
};

std::vector<Got> Records(const ReadResult& r) {
  std::vector<Got> out;
  Status st = r.ForEachRecord([&](const model::RecordView& v) {
    Got g;
    g.offset = v.offset.value();
    g.timestamp = v.timestamp;
    if (v.key) g.key = std::string(*v.key);
    if (v.value) g.value = std::string(*v.value);
    for (const auto& h : v.headers) {
      model::Header hh;
      hh.key = std::string(h.key);
      if (h.value) hh.value = std::string(*h.value);
      g.headers.push_back(std::move(hh));
    }
    out.push_back(std::move(g));
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

ProduceRecord Rec(std::string value, std::optional<std::string> key = std::nullopt) {
  ProduceRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

std::vector<ProduceRecord> Values(const std::string& prefix, int n) {
  std::vector<ProduceRecord> out;
  for (int i = 0; i < n; ++i) out.push_back(Rec(prefix + std::to_string(i)));
  return out;
}

TopicPartition TP(const std::string& topic, int32_t p = 0) {
  return TopicPartition{topic, PartitionId(p)};
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void LogConformanceTest::SetUp() {
  under_test_ = GetParam().factory();
  ASSERT_NE(under_test_, nullptr);
}

void LogConformanceTest::TearDown() { under_test_.reset(); }

std::string LogConformanceTest::MakeTopic(int partitions, storage::TopicConfig cfg) {
  static std::atomic<int> counter{0};
  std::string name = std::string("t-") +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
                     std::to_string(counter++);
  for (char& c : name) {
    if (c == '/' || c == ' ') c = '-';
  }
  cfg.partitions = partitions;
  Status st = under_test_->CreateTopic(name, partitions, cfg);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return name;
}

namespace {

// Helpers that run one Log call on shard 0 and wait for it.
struct Calls {
  runtime::Shards& shards;
  storage::Log& log;

  Result<storage::AppendResult> AppendEncoded(TopicPartition tp, std::string batch) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::AppendResult>> {
      co_return co_await log.AppendEncoded(tp, std::move(batch));
    });
  }
  Result<storage::AppendResult> Append(TopicPartition tp, std::vector<ProduceRecord> recs) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::AppendResult>> {
      co_return co_await log.Append(tp, std::move(recs));
    });
  }
  Result<ReadResult> Read(TopicPartition tp, int64_t offset, ReadOptions opts = {}) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<ReadResult>> {
      co_return co_await log.Read(tp, Offset(offset), opts);
    });
  }
  // Reads from `offset` until `n` records came back (or 50 reads), following next_offset.
  std::vector<Got> ReadN(TopicPartition tp, int64_t offset, size_t n) {
    std::vector<Got> out;
    for (int i = 0; i < 50 && out.size() < n; ++i) {
      ReadOptions opts;
      opts.wait_ms = 200;
      auto r = Read(tp, offset, opts);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      for (auto& g : Records(*r)) out.push_back(std::move(g));
      EXPECT_GE(r->next_offset.value(), offset);
      offset = r->next_offset.value();
    }
    return out;
  }
  Status Commit(std::string group, std::vector<storage::GroupOffset> offsets) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
      co_return co_await log.CommitOffsets(group, std::move(offsets));
    });
  }
  Result<std::vector<storage::GroupOffset>> Fetch(std::string group,
                                                  std::vector<TopicPartition> tps) {
    return runtime::BlockOn(shards, ShardId(0),
                            [&]() -> Task<Result<std::vector<storage::GroupOffset>>> {
                              co_return co_await log.FetchOffsets(group, std::move(tps));
                            });
  }
  Result<std::vector<std::string>> Groups() {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<std::vector<std::string>>> {
      co_return co_await log.ListGroups();
    });
  }
  Result<storage::TopicDescription> Describe(std::string name) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<storage::TopicDescription>> {
      co_return co_await log.DescribeTopic(name);
    });
  }
  Result<std::vector<storage::TopicDescription>> List(bool internal) {
    return runtime::BlockOn(shards, ShardId(0),
                            [&]() -> Task<Result<std::vector<storage::TopicDescription>>> {
                              co_return co_await log.ListTopics(internal);
                            });
  }
  Status Create(std::string name, storage::TopicConfig cfg) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
      co_return co_await log.CreateTopic(name, cfg);
    });
  }
  Status Delete(std::string name) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
      co_return co_await log.DeleteTopic(name);
    });
  }
  Status Alter(std::string name, std::map<std::string, std::string> changes) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Status> {
      co_return co_await log.AlterTopicConfig(name, changes);
    });
  }
  Result<Offset> ForTimestamp(TopicPartition tp, model::TimestampMs ts) {
    return runtime::BlockOn(shards, ShardId(0), [&]() -> Task<Result<Offset>> {
      co_return co_await log.OffsetForTimestamp(tp, ts);
    });
  }
};

const storage::TopicDescription* FindTopic(const std::vector<storage::TopicDescription>& all,
                                           const std::string& name) {
  for (const auto& d : all) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

#define CALLS Calls c{shards(), log()}

// --- append --------------------------------------------------------------------------------

TEST_P(LogConformanceTest, AppendReturnsContiguousOffsetsAcrossAppends) {
  CALLS;
  const std::string t = MakeTopic();
  int64_t expected = 0;
  for (int n : {3, 1, 5}) {
    auto r = c.Append(TP(t), Values("v", n));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->base_offset.value(), expected);
    EXPECT_EQ(r->record_count, n);
    expected += n;
  }
  auto got = c.ReadN(TP(t), 0, 9);
  ASSERT_EQ(got.size(), 9u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
}

TEST_P(LogConformanceTest, AppendToUnknownTopicOrPartitionIsNotFound) {
  CALLS;
  const std::string t = MakeTopic(1);
  auto r = c.Append(TP("no-such-topic-" + t), Values("v", 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  r = c.Append(TP(t, 7), Values("v", 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  // Nothing was created along the way.
  auto list = c.List(true);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(FindTopic(*list, "no-such-topic-" + t), nullptr);
}

// --- read ----------------------------------------------------------------------------------

TEST_P(LogConformanceTest, ReadFromStartReturnsRecordsInOrder) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("a", 4)).ok());
  ASSERT_TRUE(c.Append(TP(t), Values("b", 6)).ok());
  auto first = c.Read(TP(t), 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->requested.value(), 0);
  EXPECT_EQ(first->log_start_offset.value(), 0);
  EXPECT_EQ(first->high_watermark.value(), 10);
  auto recs = Records(*first);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].offset, 0);
  EXPECT_EQ(recs[0].value, "a0");

  auto got = c.ReadN(TP(t), 0, 10);
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i].offset, i);
    EXPECT_EQ(got[i].value, i < 4 ? "a" + std::to_string(i) : "b" + std::to_string(i - 4));
  }
}

TEST_P(LogConformanceTest, ReadFromMiddleStartsAtRequestedOffset) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 10)).ok());
  auto r = c.Read(TP(t), 4);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requested.value(), 4);
  auto recs = Records(*r);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].offset, 4);
  EXPECT_EQ(recs[0].value, "v4");
  auto got = c.ReadN(TP(t), 4, 6);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back().offset, 9);
}

TEST_P(LogConformanceTest, ReadHonoursMaxRecords) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 10)).ok());
  ReadOptions opts;
  opts.max_records = 3;
  auto r = c.Read(TP(t), 2, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto recs = Records(*r);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].offset, 2);
  EXPECT_EQ(recs[2].offset, 4);
  EXPECT_EQ(r->next_offset.value(), 5);
  EXPECT_EQ(r->max_records, 3);
}

TEST_P(LogConformanceTest, ReadAtEndWithoutWaitReturnsNothing) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 3)).ok());
  auto start = Clock::now();
  auto r = c.Read(TP(t), 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Records(*r).empty());
  EXPECT_EQ(r->next_offset.value(), 3);
  EXPECT_EQ(r->high_watermark.value(), 3);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_P(LogConformanceTest, ReadOfEmptyPartitionReturnsNothing) {
  CALLS;
  const std::string t = MakeTopic();
  auto r = c.Read(TP(t), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Records(*r).empty());
  EXPECT_EQ(r->high_watermark.value(), 0);
  EXPECT_EQ(r->next_offset.value(), 0);
}

TEST_P(LogConformanceTest, LongPollReturnsWhenDataArrives) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 1)).ok());
  std::promise<Status> appended;
  const ShardId other(shards().size() > 1 ? 1 : 0);
  auto start = Clock::now();
  auto r = runtime::BlockOn(shards(), ShardId(0), [&]() -> Task<Result<ReadResult>> {
    shards().Spawn(other, [&]() -> Task<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(200));
      co_await timer.async_wait(asio::use_awaitable);
      auto a = co_await log().Append(TP(t), Values("late", 1));
      appended.set_value(a.ok() ? Status::Ok() : a.status());
    });
    ReadOptions opts;
    opts.wait_ms = 10000;
    co_return co_await log().Read(TP(t), Offset(1), opts);
  });
  auto elapsed = Clock::now() - start;
  Status a = appended.get_future().get();
  ASSERT_TRUE(a.ok()) << a.ToString();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto recs = Records(*r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].offset, 1);
  EXPECT_EQ(recs[0].value, "late0");
  EXPECT_EQ(r->next_offset.value(), 2);
  EXPECT_LT(elapsed, std::chrono::seconds(8)) << "long poll did not wake up on new data";
}

TEST_P(LogConformanceTest, LongPollTimesOutEmpty) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 2)).ok());
  ReadOptions opts;
  opts.wait_ms = 300;
  auto start = Clock::now();
  auto r = c.Read(TP(t), 2, opts);
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Records(*r).empty());
  EXPECT_EQ(r->next_offset.value(), 2);
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_P(LogConformanceTest, ReadBeyondHighWatermarkIsOutOfRange) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 2)).ok());
  auto r = c.Read(TP(t), 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutOfRange) << r.status().ToString();
}

TEST_P(LogConformanceTest, ReadOfUnknownTopicOrPartitionIsNotFound) {
  CALLS;
  const std::string t = MakeTopic(2);
  auto r = c.Read(TP("no-such-topic-" + t), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  r = c.Read(TP(t, 2), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
}

TEST_P(LogConformanceTest, KeysNullValuesHeadersAndTimestampsRoundTrip) {
  CALLS;
  const std::string t = MakeTopic();
  std::vector<ProduceRecord> recs(5);
  recs[0].key = "k0";
  recs[0].value = "v0";
  recs[0].timestamp = 1700000000123;
  recs[0].headers = {{"trace", "abc"}, {"empty", ""}, {"null", std::nullopt}, {"trace", "dup"}};
  recs[1].key = "k1";  // null value: a tombstone
  recs[1].timestamp = 1700000000456;
  recs[2].value = "no key";
  recs[2].timestamp = 1700000000789;
  recs[3].key = "";
  recs[3].value = "";  // empty, not null
  recs[3].timestamp = 1700000001000;
  recs[4].value = std::string(10000, 'x');  // kNoTimestamp: the log's time
  const int64_t before = WallMs();
  auto a = c.Append(TP(t), recs);
  ASSERT_TRUE(a.ok()) << a.status().ToString();

  auto got = c.ReadN(TP(t), 0, 5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].key, "k0");
  EXPECT_EQ(got[0].value, "v0");
  EXPECT_EQ(got[0].timestamp, 1700000000123);
  ASSERT_EQ(got[0].headers.size(), 4u);
  EXPECT_EQ(got[0].headers[0], (model::Header{"trace", "abc"}));
  EXPECT_EQ(got[0].headers[1], (model::Header{"empty", ""}));
  EXPECT_EQ(got[0].headers[2], (model::Header{"null", std::nullopt}));
  EXPECT_EQ(got[0].headers[3], (model::Header{"trace", "dup"}));
  EXPECT_EQ(got[1].key, "k1");
  EXPECT_EQ(got[1].value, std::nullopt);
  EXPECT_EQ(got[1].timestamp, 1700000000456);
  EXPECT_TRUE(got[1].headers.empty());
  EXPECT_EQ(got[2].key, std::nullopt);
  EXPECT_EQ(got[2].value, "no key");
  EXPECT_EQ(got[3].key, "");
  EXPECT_EQ(got[3].value, "");
  EXPECT_EQ(got[4].value, std::string(10000, 'x'));
  EXPECT_GE(got[4].timestamp, before - 60000);
  EXPECT_LE(got[4].timestamp, WallMs() + 60000);
}

// A batch built by the caller (pipeline outputs) lands as if its records had been appended;
// bytes that are not one well-formed batch are refused with nothing written.
TEST_P(LogConformanceTest, AppendEncodedWritesABuiltBatch) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("before", 2)).ok());
  model::RecordBatchBuilder b(1700000000000);
  const model::HeaderView h{"sluice-checkpoint", std::string_view("p/0/1/0")};
  b.AddViews(std::string_view("k0"), std::string_view("v0"), std::span(&h, 1), 1700000000123);
  b.AddViews(std::nullopt, std::string_view("v1"), {}, 1700000000124);
  b.AddViews(std::string_view("k2"), std::nullopt, {}, 1700000000125);
  std::string batch = b.Finish();
  std::string torn = batch.substr(0, batch.size() - 1);
  std::string flipped = batch;
  flipped.back() ^= 1;
  auto a = c.AppendEncoded(TP(t), batch);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->base_offset, Offset(2));
  EXPECT_EQ(a->record_count, 3);
  for (std::string* bad : {&torn, &flipped}) {
    auto r = c.AppendEncoded(TP(t), *bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << r.status().ToString();
  }
  auto got = c.ReadN(TP(t), 0, 10);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[2].key, "k0");
  EXPECT_EQ(got[2].value, "v0");
  EXPECT_EQ(got[2].timestamp, 1700000000123);
  ASSERT_EQ(got[2].headers.size(), 1u);
  EXPECT_EQ(got[2].headers[0], (model::Header{"sluice-checkpoint", "p/0/1/0"}));
  EXPECT_EQ(got[3].key, std::nullopt);
  EXPECT_EQ(got[3].value, "v1");
  EXPECT_EQ(got[4].key, "k2");
  EXPECT_EQ(got[4].value, std::nullopt);
  EXPECT_EQ(got[4].timestamp, 1700000000125);
}

TEST_P(LogConformanceTest, PartitionsKeepTheirOwnOrder) {
  CALLS;
  const std::string t = MakeTopic(3);
  for (int round = 0; round < 4; ++round) {
    for (int p = 0; p < 3; ++p) {
      auto r = c.Append(TP(t, p), Values("p" + std::to_string(p) + "r" + std::to_string(round) +
                                             "-",
                                         p + 1));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->base_offset.value(), round * (p + 1));
    }
  }
  for (int p = 0; p < 3; ++p) {
    const size_t n = 4 * (p + 1);
    auto got = c.ReadN(TP(t, p), 0, n);
    ASSERT_EQ(got.size(), n) << "partition " << p;
    for (size_t i = 0; i < n; ++i) {
      const int round = static_cast<int>(i) / (p + 1);
      const int k = static_cast<int>(i) % (p + 1);
      EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
      EXPECT_EQ(got[i].value, "p" + std::to_string(p) + "r" + std::to_string(round) + "-" +
                                  std::to_string(k));
    }
  }
}

TEST_P(LogConformanceTest, SequentialReadsFollowNextOffset) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 25)).ok());
  int64_t offset = 0;
  std::vector<int64_t> seen;
  for (int i = 0; i < 30 && offset < 25; ++i) {
    ReadOptions opts;
    opts.max_records = 4;
    auto r = c.Read(TP(t), offset, opts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& g : Records(*r)) seen.push_back(g.offset);
    offset = r->next_offset.value();
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int64_t i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i);
}

// --- timestamps ----------------------------------------------------------------------------

TEST_P(LogConformanceTest, OffsetForTimestampFindsFirstRecordAtOrAfter) {
  if (!under_test().SupportsTimestampLookup()) {
    GTEST_SKIP() << under_test().Name() << " cannot look offsets up by timestamp";
  }
  CALLS;
  const std::string t = MakeTopic();
  std::vector<ProduceRecord> recs = Values("v", 3);
  recs[0].timestamp = 1000;
  recs[1].timestamp = 2000;
  recs[2].timestamp = 3000;
  ASSERT_TRUE(c.Append(TP(t), recs).ok());
  auto o = c.ForTimestamp(TP(t), 1500);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->value(), 1);
  o = c.ForTimestamp(TP(t), 1000);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->value(), 0);
  o = c.ForTimestamp(TP(t), 0);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->value(), 0);
  o = c.ForTimestamp(TP(t), 5000);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->value(), 3) << "no record at or after: the high watermark";
}

// --- consumer groups -----------------------------------------------------------------------

TEST_P(LogConformanceTest, GroupsCommitIndependently) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 10)).ok());
  const std::string g1 = t + "-g1", g2 = t + "-g2";
  ASSERT_TRUE(c.Commit(g1, {{TP(t), Offset(5), "m1"}}).ok());
  ASSERT_TRUE(c.Commit(g2, {{TP(t), Offset(7), ""}}).ok());
  auto f1 = c.Fetch(g1, {TP(t)});
  ASSERT_TRUE(f1.ok()) << f1.status().ToString();
  ASSERT_EQ(f1->size(), 1u);
  EXPECT_EQ((*f1)[0].tp, TP(t));
  EXPECT_EQ((*f1)[0].offset.value(), 5);
  EXPECT_EQ((*f1)[0].metadata, "m1");
  auto f2 = c.Fetch(g2, {TP(t)});
  ASSERT_TRUE(f2.ok()) << f2.status().ToString();
  ASSERT_EQ(f2->size(), 1u);
  EXPECT_EQ((*f2)[0].offset.value(), 7);
}

TEST_P(LogConformanceTest, CommitOverwritesEarlierOffset) {
  CALLS;
  const std::string t = MakeTopic();
  ASSERT_TRUE(c.Append(TP(t), Values("v", 10)).ok());
  const std::string g = t + "-g";
  ASSERT_TRUE(c.Commit(g, {{TP(t), Offset(3), ""}}).ok());
  ASSERT_TRUE(c.Commit(g, {{TP(t), Offset(8), ""}}).ok());
  auto f = c.Fetch(g, {TP(t)});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].offset.value(), 8);
  // Moving back is allowed too (a reset).
  ASSERT_TRUE(c.Commit(g, {{TP(t), Offset(2), ""}}).ok());
  f = c.Fetch(g, {TP(t)});
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].offset.value(), 2);
}

TEST_P(LogConformanceTest, NeverCommittedPartitionIsAbsent) {
  CALLS;
  const std::string t = MakeTopic(2);
  ASSERT_TRUE(c.Append(TP(t, 0), Values("v", 4)).ok());
  const std::string g = t + "-g";
  auto none = c.Fetch(g, {TP(t, 0), TP(t, 1)});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(c.Commit(g, {{TP(t, 0), Offset(4), ""}}).ok());
  auto f = c.Fetch(g, {TP(t, 0), TP(t, 1)});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].tp, TP(t, 0));
  EXPECT_EQ((*f)[0].offset.value(), 4);
}

TEST_P(LogConformanceTest, FetchWithNoPartitionsReturnsEveryCommittedPartition) {
  if (!under_test().SupportsFetchAllGroupOffsets()) {
    GTEST_SKIP() << under_test().Name() << " cannot list a group's offsets without partitions";
  }
  CALLS;
  const std::string t = MakeTopic(3);
  const std::string g = t + "-g";
  ASSERT_TRUE(c.Commit(g, {{TP(t, 0), Offset(0), ""}, {TP(t, 2), Offset(0), "x"}}).ok());
  auto f = c.Fetch(g, {});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 2u);
  std::sort(f->begin(), f->end(), [](const auto& a, const auto& b) { return a.tp < b.tp; });
  EXPECT_EQ((*f)[0].tp, TP(t, 0));
  EXPECT_EQ((*f)[1].tp, TP(t, 2));
  EXPECT_EQ((*f)[1].metadata, "x");
}

TEST_P(LogConformanceTest, ListGroupsNamesGroupsThatCommitted) {
  CALLS;
  const std::string t = MakeTopic(2);
  const std::string a = t + "-a", b = t + "-b";
  ASSERT_TRUE(c.Commit(b, {{TP(t, 1), Offset(0), ""}}).ok());
  ASSERT_TRUE(c.Commit(a, {{TP(t, 0), Offset(0), ""}}).ok());
  auto groups = c.Groups();
  if (!groups.ok() && !under_test().SupportsListGroups()) {
    GTEST_SKIP() << under_test().Name() << " cannot list groups: " << groups.status().ToString();
  }
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  auto at_a = std::find(groups->begin(), groups->end(), a);
  auto at_b = std::find(groups->begin(), groups->end(), b);
  ASSERT_NE(at_a, groups->end());
  ASSERT_NE(at_b, groups->end());
  EXPECT_LT(at_a, at_b);  // sorted
  EXPECT_EQ(std::find(groups->begin(), groups->end(), t + "-never"), groups->end());
}

TEST_P(LogConformanceTest, DeleteGroupForgetsItsOffsets) {
  if (!under_test().SupportsDeleteGroup()) {
    GTEST_SKIP() << under_test().Name() << " cannot delete groups";
  }
  CALLS;
  const std::string t = MakeTopic(2);
  const std::string g = t + "-gone", kept = t + "-kept";
  ASSERT_TRUE(c.Commit(g, {{TP(t, 0), Offset(0), ""}, {TP(t, 1), Offset(0), ""}}).ok());
  ASSERT_TRUE(c.Commit(kept, {{TP(t, 0), Offset(0), ""}}).ok());
  Status st = runtime::BlockOn(c.shards, ShardId(0), [&]() -> Task<Status> {
    co_return co_await c.log.DeleteGroup(g);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto f = c.Fetch(g, {TP(t, 0), TP(t, 1)});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->empty());
  auto other = c.Fetch(kept, {TP(t, 0)});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), 1u);  // other groups keep theirs
  Status again = runtime::BlockOn(c.shards, ShardId(0), [&]() -> Task<Status> {
    co_return co_await c.log.DeleteGroup(g);
  });
  EXPECT_EQ(again.code(), ErrorCode::kNotFound) << again.ToString();
}

TEST_P(LogConformanceTest, CommitToUnknownTopicIsNotFound) {
  CALLS;
  const std::string t = MakeTopic();
  Status st = c.Commit(t + "-g", {{TP("no-such-topic-" + t), Offset(1), ""}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kNotFound) << st.ToString();
}

// --- topics --------------------------------------------------------------------------------

TEST_P(LogConformanceTest, ListAndDescribeShowTopicAndWatermarks) {
  CALLS;
  const std::string t = MakeTopic(3);
  ASSERT_TRUE(c.Append(TP(t, 1), Values("v", 2)).ok());
  auto d = c.Describe(t);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->name, t);
  EXPECT_FALSE(d->internal);
  EXPECT_EQ(d->config.partitions, 3);
  ASSERT_EQ(d->partitions.size(), 3u);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(d->partitions[p].partition.value(), p);
    EXPECT_EQ(d->partitions[p].log_start_offset.value(), 0);
    EXPECT_EQ(d->partitions[p].high_watermark.value(), p == 1 ? 2 : 0);
  }
  auto list = c.List(false);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  const auto* found = FindTopic(*list, t);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->partitions.size(), 3u);
  for (const auto& td : *list) EXPECT_FALSE(td.internal) << td.name;
}

TEST_P(LogConformanceTest, DescribeUnknownTopicIsNotFound) {
  CALLS;
  auto d = c.Describe("no-such-topic");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kNotFound) << d.status().ToString();
}

TEST_P(LogConformanceTest, AdminCreateDescribeAlterDelete) {
  if (!under_test().SupportsAdmin()) {
    GTEST_SKIP() << under_test().Name() << " has no topic admin API to test";
  }
  CALLS;
  const std::string t = "admin-topic";
  storage::TopicConfig cfg;
  cfg.partitions = 2;
  cfg.retention_ms = 3600000;
  ASSERT_TRUE(c.Create(t, cfg).ok());
  Status again = c.Create(t, cfg);
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists) << again.ToString();

  auto list = c.List(false);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_NE(FindTopic(*list, t), nullptr);

  auto d = c.Describe(t);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->config.partitions, 2);
  EXPECT_EQ(d->partitions.size(), 2u);
  EXPECT_EQ(d->config.retention_ms, 3600000);

  ASSERT_TRUE(c.Alter(t, {{"retention.ms", "7200000"}}).ok());
  ASSERT_TRUE(c.Alter(t, {{"partitions", "3"}}).ok());
  d = c.Describe(t);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->config.retention_ms, 7200000);
  EXPECT_EQ(d->config.partitions, 3);
  EXPECT_EQ(d->partitions.size(), 3u);
  auto a = c.Append(TP(t, 2), Values("v", 1));
  EXPECT_TRUE(a.ok()) << a.status().ToString();

  Status shrink = c.Alter(t, {{"partitions", "1"}});
  EXPECT_EQ(shrink.code(), ErrorCode::kInvalidArgument) << shrink.ToString();
  Status bad = c.Alter(t, {{"retention.ms", "soon"}});
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument) << bad.ToString();
  Status unknown_key = c.Alter(t, {{"no.such.key", "1"}});
  EXPECT_EQ(unknown_key.code(), ErrorCode::kInvalidArgument) << unknown_key.ToString();

  ASSERT_TRUE(c.Delete(t).ok());
  auto gone = c.Describe(t);
  EXPECT_EQ(gone.status().code(), ErrorCode::kNotFound) << gone.status().ToString();
  Status twice = c.Delete(t);
  EXPECT_EQ(twice.code(), ErrorCode::kNotFound) << twice.ToString();
  Status alter_gone = c.Alter(t, {{"retention.ms", "1000"}});
  EXPECT_EQ(alter_gone.code(), ErrorCode::kNotFound) << alter_gone.ToString();
}

TEST_P(LogConformanceTest, AdminRejectsInvalidNamesAndConfigs) {
  if (!under_test().SupportsAdmin()) {
    GTEST_SKIP() << under_test().Name() << " has no topic admin API to test";
  }
  CALLS;
  for (const std::string& name :
       {std::string(""), std::string("."), std::string(".."), std::string("has space"),
        std::string("slash/name"), std::string(250, 'x')}) {
    Status st = c.Create(name, {});
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << "'" << name << "': " << st.ToString();
  }
  storage::TopicConfig zero;
  zero.partitions = 0;
  EXPECT_EQ(c.Create("zero-partitions", zero).code(), ErrorCode::kInvalidArgument);
  storage::TopicConfig bad;
  bad.retention_ms = 0;
  EXPECT_EQ(c.Create("bad-retention", bad).code(), ErrorCode::kInvalidArgument);
  auto list = c.List(true);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(FindTopic(*list, "zero-partitions"), nullptr);
  EXPECT_EQ(FindTopic(*list, "bad-retention"), nullptr);
}

}  // namespace
}  // namespace sluice::logtest
