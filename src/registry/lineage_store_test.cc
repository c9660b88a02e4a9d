// LineageStore over a real embedded store: the `_lineage` encoding, aggregation across
// instances, restarts, and the memory cap.
#include "registry/lineage_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "base/clock.h"
#include "storage/embedded_log.h"

namespace sluice::registry {
namespace {

namespace fs = std::filesystem;

TEST(LineageEncodingTest, KeyAndValueRoundTrip) {
  LineageKey k{7, "orders", "alice \"quoted\"", "consumes", "node-1"};
  auto back = DecodeLineageKey(EncodeLineageKey(k));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, k);
  LineageCounts c{123456789012ULL, 1700000000000, 1700000005000};
  auto cv = DecodeLineageValue(EncodeLineageValue(c));
  ASSERT_TRUE(cv.has_value());
  EXPECT_EQ(cv->events, c.events);
  EXPECT_EQ(cv->first_seen_ms, c.first_seen_ms);
  EXPECT_EQ(cv->last_seen_ms, c.last_seen_ms);
}

TEST(LineageEncodingTest, MalformedRecordsAreRejected) {
  for (std::string_view bad :
       {"", "{", "[]", "null", R"({"keytype":"SCHEMA","id":1})",
        R"({"keytype":"LINEAGE","id":0,"topic":"t","principal":"p","role":"produces","instance":"i"})",
        R"({"keytype":"LINEAGE","id":-4,"topic":"t","principal":"p","role":"produces","instance":"i"})",
        R"({"keytype":"LINEAGE","id":1,"topic":"t","principal":"p","role":"eats","instance":"i"})",
        R"({"keytype":"LINEAGE","id":1,"topic":5,"principal":"p","role":"produces","instance":"i"})",
        R"({"keytype":"LINEAGE","id":99999999999,"topic":"t","principal":"p","role":"produces","instance":"i"})",
        R"({"keytype":"LINEAGE","id":1,"topic":"t","role":"produces","instance":"i"})"}) {
    EXPECT_FALSE(DecodeLineageKey(bad).has_value()) << bad;
  }
  for (std::string_view bad : {"", "x", R"({"events":-1,"first_seen_ms":0,"last_seen_ms":0})",
                               R"({"events":"3","first_seen_ms":0,"last_seen_ms":0})",
                               R"({"events":3})"}) {
    EXPECT_FALSE(DecodeLineageValue(bad).has_value()) << bad;
  }
}

class LineageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-lineage-test-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    shards_.Start();
    storage::EmbeddedLogOptions o;
    o.data_dir = dir_.string();
    auto log = storage::EmbeddedLog::Open(o, shards_, SystemClock::Instance());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void TearDown() override {
    stores_.clear();
    if (log_) log_->Stop();
    shards_.Stop();
    fs::remove_all(dir_);
  }
  LineageStore& Open(std::string instance, size_t max_entries = 1000) {
    LineageOptions o;
    o.instance = std::move(instance);
    o.max_entries = max_entries;
    o.flush_interval_ms = 3600 * 1000;  // tests flush by hand
    o.tail_wait_ms = 20;
    o.clock = &clock_;
    stores_.push_back(std::make_unique<LineageStore>(o, *log_, shards_));
    Status st = stores_.back()->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return *stores_.back();
  }
  void Flush(LineageStore& s) {
    Status st = runtime::BlockOn(shards_, runtime::ShardId(0),
                                 [&]() -> Task<Status> { co_return co_await s.Flush(); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void CatchUp(LineageStore& s) {
    Status st = runtime::BlockOn(shards_, runtime::ShardId(0),
                                 [&]() -> Task<Status> { co_return co_await s.CatchUp(); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  fs::path dir_;
  ManualClock clock_;
  runtime::Shards shards_{2};
  std::unique_ptr<storage::EmbeddedLog> log_;
  std::vector<std::unique_ptr<LineageStore>> stores_;
};

TEST_F(LineageStoreTest, RecordsOfOneUseAreSummedInMemory) {
  LineageStore& s = Open("a");
  s.Record(1, "orders", "alice", "produces", 3);
  clock_.AdvanceMs(1000);
  s.Record(1, "orders", "alice", "produces", 4);
  s.Record(1, "orders", "bob", "consumes", 2);
  auto uses = s.Uses();
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0].principal, "alice");
  EXPECT_EQ(uses[0].events, 7u);
  EXPECT_EQ(uses[0].last_seen_ms - uses[0].first_seen_ms, 1000);
  EXPECT_EQ(uses[1].role, "consumes");
  EXPECT_EQ(uses[1].events, 2u);
}

TEST_F(LineageStoreTest, FlushWritesOnlyWhatChangedAsOneRecordPerUse) {
  LineageStore& s = Open("a");
  for (int i = 0; i < 100; ++i) s.Record(1, "orders", "alice", "produces", 1);
  Flush(s);
  Flush(s);  // nothing changed: nothing written
  auto d = runtime::BlockOn(shards_, runtime::ShardId(0), [&]() {
    return log_->DescribeTopic(kLineageTopic);
  });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions[0].high_watermark.value(), 1);
}

TEST_F(LineageStoreTest, ARestartedInstanceContinuesItsCounts) {
  {
    LineageStore& s = Open("a");
    s.Record(1, "orders", "alice", "produces", 5);
    s.Stop();  // writes what changed
    stores_.clear();
  }
  LineageStore& s = Open("a");
  auto uses = s.Uses();
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].events, 5u);
  s.Record(1, "orders", "alice", "produces", 2);
  Flush(s);
  CatchUp(s);  // reading its own record back never lowers a count
  EXPECT_EQ(s.Uses()[0].events, 7u);
  EXPECT_EQ(s.entries(), 1u);
}

TEST_F(LineageStoreTest, InstancesSeeEachOthersCountsAndTheySum) {
  LineageStore& a = Open("a");
  LineageStore& b = Open("b");
  a.Record(1, "orders", "alice", "produces", 5);
  b.Record(1, "orders", "alice", "produces", 3);
  b.Record(2, "payments", "bob", "consumes", 1);
  Flush(a);
  Flush(b);
  CatchUp(a);
  CatchUp(b);
  for (LineageStore* s : {&a, &b}) {
    auto uses = s->Uses();
    ASSERT_EQ(uses.size(), 2u);
    EXPECT_EQ(uses[0].events, 8u);
    EXPECT_EQ(uses[1].topic, "payments");
  }
  // A later total from b replaces b's earlier one (not added to it).
  b.Record(1, "orders", "alice", "produces", 1);
  Flush(b);
  CatchUp(a);
  EXPECT_EQ(a.Uses()[0].events, 9u);
}

TEST_F(LineageStoreTest, TheCapEvictsTheLeastRecentlySeenAndForgetsThemDurably) {
  LineageStore& s = Open("a", 20);
  for (int i = 1; i <= 20; ++i) {
    s.Record(i, "t", "p", "produces", 1);
    clock_.AdvanceMs(10);
  }
  Flush(s);
  s.Record(21, "t", "p", "produces", 1);  // over the cap: down to 18, oldest first
  EXPECT_EQ(s.entries(), 18u);
  auto uses = s.Uses();
  EXPECT_EQ(uses.front().id, 4);
  EXPECT_EQ(uses.back().id, 21);
  Flush(s);
  s.Stop();
  stores_.clear();
  LineageStore& again = Open("a", 20);
  EXPECT_EQ(again.entries(), 18u);
  EXPECT_EQ(again.Uses().front().id, 4);
}

TEST_F(LineageStoreTest, MalformedRecordsInTheTopicAreSkipped) {
  LineageStore& s = Open("a");
  std::vector<model::ProduceRecord> recs;
  recs.emplace_back(std::string("not json"), std::string("{}"));
  recs.emplace_back(EncodeLineageKey({3, "t", "p", "consumes", "z"}), std::string("garbage"));
  recs.emplace_back(EncodeLineageKey({4, "t", "p", "consumes", "z"}),
                    EncodeLineageValue({2, 1, 2}));
  auto r = runtime::BlockOn(shards_, runtime::ShardId(0), [&]() {
    return log_->Append(model::TopicPartition(kLineageTopic, model::PartitionId(0)),
                        std::move(recs));
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CatchUp(s);
  auto uses = s.Uses();
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].id, 4);
}

}  // namespace
}  // namespace sluice::registry
