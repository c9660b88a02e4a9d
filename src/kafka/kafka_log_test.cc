// KafkaLog behaviour that is specific to the Kafka backend (the shared behaviour is in
// tests/log/): options, admin_api=false, Stop(), topics created out of band after start.
#include "kafka/kafka_log.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace sluice::kafka {
namespace {

using runtime::ShardId;

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    mock_handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    ASSERT_NE(mock_handle_, nullptr) << errstr;
    cluster_ = rd_kafka_mock_cluster_new(mock_handle_, 1);
    ASSERT_NE(cluster_, nullptr);
    shards_.Start();
    KafkaLogOptions opts;
    opts.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(cluster_);
    opts.admin_api = false;
    opts.properties["log_level"] = "3";
    opts.group_session_timeout_ms = 3000;
    opts.group_heartbeat_interval_ms = 300;
    auto log = KafkaLog::Open(opts, shards_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void TearDown() override {
    if (log_) log_->Stop();
    shards_.Stop();
    log_.reset();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (mock_handle_) rd_kafka_destroy(mock_handle_);
  }

  Result<storage::AppendResult> Append(const std::string& topic) {
    return runtime::BlockOn(shards_, ShardId(0), [&]() -> Task<Result<storage::AppendResult>> {
      std::vector<model::ProduceRecord> recs(1);
      recs[0].value = "v";
      co_return co_await log_->Append(model::TopicPartition{topic, model::PartitionId(0)},
                                      std::move(recs));
    });
  }

  runtime::Shards shards_{1, 1};
  rd_kafka_t* mock_handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::unique_ptr<KafkaLog> log_;
};

// Records what a member owns, and when each revoke returned and each assignment arrived.
class RecordingListener final : public storage::GroupListener {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RecordingListener(int revoke_ms = 0) : revoke_ms_(revoke_ms) {}
  void OnRevoked(const std::vector<model::PartitionId>& partitions) override {
    // Work that takes a while to stop: the group must wait for it.
    std::this_thread::sleep_for(std::chrono::milliseconds(revoke_ms_));
    std::lock_guard lock(mu_);
    for (auto p : partitions) owned_.erase(p.value());
    if (!partitions.empty()) last_revoke_done_ = Clock::now();
  }
  void OnAssigned(const std::vector<model::PartitionId>& partitions) override {
    std::lock_guard lock(mu_);
    for (auto p : partitions) owned_.insert(p.value());
    if (!partitions.empty()) last_assign_ = Clock::now();
  }
  std::set<int32_t> owned() const {
    std::lock_guard lock(mu_);
    return owned_;
  }
  Clock::time_point last_revoke_done() const {
    std::lock_guard lock(mu_);
    return last_revoke_done_;
  }
  Clock::time_point last_assign() const {
    std::lock_guard lock(mu_);
    return last_assign_;
  }

 private:
  int revoke_ms_;
  mutable std::mutex mu_;
  std::set<int32_t> owned_;
  Clock::time_point last_revoke_done_{};
  Clock::time_point last_assign_{};
};

template <typename Pred>
bool WaitFor(Pred pred, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

TEST(KafkaLogOpenTest, RejectsMissingBootstrapServersAndBadProperties) {
  runtime::Shards shards(1, 1);
  auto r = KafkaLog::Open({}, shards);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  KafkaLogOptions opts;
  opts.bootstrap_servers = "127.0.0.1:1";
  opts.properties["no.such.property"] = "1";
  r = KafkaLog::Open(opts, shards);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no.such.property"), std::string::npos);
}

TEST_F(KafkaLogTest, TopicCreatedOutOfBandAfterStartIsFound) {
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "first", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(Append("first").ok());  // fills the metadata cache
  auto missing = Append("later");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "later", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto found = Append("later");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->base_offset.value(), 0);
}

TEST_F(KafkaLogTest, AdminCallsAreUnimplementedWhenAdminApiIsOff) {
  Status st = runtime::BlockOn(shards_, ShardId(0), [&]() -> Task<Status> {
    storage::TopicConfig config;  // named: GCC 12 and non-trivial temporaries in co_await
    co_return co_await log_->CreateTopic("t", config);
  });
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.ToString();
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "t", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  st = runtime::BlockOn(shards_, ShardId(0), [&]() -> Task<Status> {
    std::map<std::string, std::string> changes{{"retention.ms", "1000"}};
    co_return co_await log_->AlterTopicConfig("t", std::move(changes));
  });
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.ToString();
}

TEST_F(KafkaLogTest, CallsAfterStopAreUnavailable) {
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "t", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(Append("t").ok());
  log_->Stop();
  log_->Stop();  // idempotent
  auto r = Append("t");
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  auto list = runtime::BlockOn(
      shards_, ShardId(0), [&]() -> Task<Result<std::vector<storage::TopicDescription>>> {
        co_return co_await log_->ListTopics(false);
      });
  EXPECT_EQ(list.status().code(), ErrorCode::kUnavailable) << list.status().ToString();
}

TEST_F(KafkaLogTest, GroupMembersSharePartitionsAndRevokeBeforeTheOtherGetsThem) {
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "slots", 4, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto join = [&](storage::GroupListener& l) {
    return runtime::BlockOn(
        shards_, ShardId(0), [&]() -> Task<Result<std::unique_ptr<storage::GroupMembership>>> {
          std::string group = "workers", topic = "slots";
          co_return co_await log_->JoinGroup(std::move(group), std::move(topic), l);
        });
  };
  RecordingListener a(/*revoke_ms=*/500), b;
  auto ma = join(a);
  ASSERT_TRUE(ma.ok()) << ma.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return a.owned().size() == 4; }, 20000));

  auto mb = join(b);
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return a.owned().size() == 2 && b.owned().size() == 2; }, 20000))
      << a.owned().size() << " / " << b.owned().size();
  std::set<int32_t> all = a.owned();
  for (int32_t p : b.owned()) EXPECT_TRUE(all.insert(p).second) << "partition " << p << " twice";
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3}));
  // A's slow revoke finished before B was given anything.
  EXPECT_LE(a.last_revoke_done(), b.last_assign());

  // Leaving hands B's partitions back to A at once (no session timeout to wait for).
  (*mb)->Leave();
  EXPECT_TRUE(b.owned().empty());
  EXPECT_TRUE(WaitFor([&] { return a.owned().size() == 4; }, 10000));
  (*ma)->Leave();
  EXPECT_TRUE(a.owned().empty());
}

TEST_F(KafkaLogTest, JoinGroupOnAMissingTopicIsNotFound) {
  RecordingListener l;
  auto m = runtime::BlockOn(
      shards_, ShardId(0), [&]() -> Task<Result<std::unique_ptr<storage::GroupMembership>>> {
        std::string group = "workers", topic = "nope";
        co_return co_await log_->JoinGroup(std::move(group), std::move(topic), l);
      });
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace sluice::kafka
