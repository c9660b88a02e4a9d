// End-to-end test of the scale-out mode: the real `sluice serve --log kafka://...` binary
// against librdkafka's mock cluster (run in this test process, reached over loopback TCP).
// The mock has no admin API, so the topic is created with the mock's own call and the server
// runs with kafka.admin_api=false (topic admin answers 501 there).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <set>
#include <thread>

#include "e2e/server_process.h"
#include "model/partitioner.h"

namespace sluice::e2e {
namespace {

class KafkaModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ASSERT_NE(handle_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "orders", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    // The schema registry's state topic (the mock cannot create topics through the admin API).
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "_schemas", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    server_ = std::make_unique<ServerProcess>(
        dir_.path() + "/data", dir_.path() + "/server.log",
        std::vector<std::string>{"--log",
                                 std::string("kafka://") + rd_kafka_mock_cluster_bootstraps(cluster_),
                                 "--set", "kafka.admin_api=false"});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << server_->Output();
    client_ = std::move(gateway::HttpClient::Create(server_->url())).value();
  }
  void TearDown() override {
    client_.reset();
    if (server_ && server_->running()) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    server_.reset();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (handle_) rd_kafka_destroy(handle_);
  }
  JsonResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return Call(*client_, method, target, body, "application/json", 60000);
  }

  TempDir dir_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<gateway::HttpClient> client_;
};

TEST_F(KafkaModeTest, ProduceFetchAndGroupOffsetsGoThroughKafka) {
  // Listing comes from Kafka metadata.
  auto list = Do("GET", "/v1/topics");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("\"orders\""), std::string::npos) << list.body;

  // Keyed events land where a Kafka client would put them (murmur2), in order, with offsets.
  std::string body = "[";
  for (int i = 0; i < 30; ++i) {
    if (i) body += ",";
    body += fmt::format(R"({{"key":"user-{}","value":{{"n":{}}}}})", i % 5, i);
  }
  body += "]";
  auto produced = Do("POST", "/v1/topics/orders/events?envelope=true", body);
  ASSERT_EQ(produced.status, 200) << produced.body;
  const auto& offsets = produced.json.Find("offsets")->items();
  ASSERT_EQ(offsets.size(), 30u);
  std::map<int64_t, std::vector<int>> expected;  // partition -> n in order
  for (int i = 0; i < 30; ++i) {
    const int64_t p = *offsets[i].Find("partition")->AsInt64();
    EXPECT_EQ(p, model::PartitionForKey(fmt::format("user-{}", i % 5), 3));
    EXPECT_EQ(*offsets[i].Find("offset")->AsInt64(), static_cast<int64_t>(expected[p].size()));
    expected[p].push_back(i);
  }

  // Fetch each partition back.
  for (const auto& [p, ns] : expected) {
    auto r = Do("GET", fmt::format("/v1/topics/orders/partitions/{}/events?offset=0&max=100", p));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto& events = r.json.Find("events")->items();
    ASSERT_EQ(events.size(), ns.size()) << r.body;
    for (size_t j = 0; j < ns.size(); ++j) {
      EXPECT_EQ(*events[j].Find("value")->Find("n")->AsInt64(), ns[j]);
      EXPECT_EQ(*events[j].Find("offset")->AsInt64(), static_cast<int64_t>(j));
    }
    EXPECT_EQ(*r.json.Find("high_watermark")->AsInt64(), static_cast<int64_t>(ns.size()));
  }

  // Group offsets are Kafka committed offsets.
  auto commit = Do("POST", "/v1/groups/billing/offsets",
                   R"({"offsets":[{"topic":"orders","partition":1,"offset":2}]})");
  ASSERT_EQ(commit.status, 200) << commit.body;
  auto fetched = Do("GET", "/v1/groups/billing/offsets?topic=orders");
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_NE(fetched.body.find("\"offset\":2"), std::string::npos) << fetched.body;

  // Unknown topics are 404, not auto-created; topic admin is 501 without the admin API.
  auto unknown = Do("POST", "/v1/topics/nope/events", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto create = Do("POST", "/v1/topics", R"({"name":"new","partitions":1})");
  EXPECT_EQ(create.status, 501) << create.body;
  EXPECT_EQ(create.json.Find("error_code")->text(), "unimplemented");
}


TEST_F(KafkaModeTest, SchemaRegistryStateIsSharedThroughKafka) {
  // A second instance on the same cluster: both replay and tail `_schemas` from Kafka.
  TempDir dir_b;
  ServerProcess b(dir_b.path() + "/data", dir_b.path() + "/server.log",
                  {"--log", std::string("kafka://") + rd_kafka_mock_cluster_bootstraps(cluster_),
                   "--set", "kafka.admin_api=false"});
  Status st = b.Start();
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << b.Output();
  auto reg_a = std::move(gateway::HttpClient::Create(server_->registry_url())).value();
  auto reg_b = std::move(gateway::HttpClient::Create(b.registry_url())).value();
  auto call = [](gateway::HttpClient& c, const std::string& method, const std::string& target,
                 const std::string& body = "") {
    return Call(c, method, target, body, "application/vnd.schemaregistry.v1+json", 60000);
  };
  const std::string v1 =
      R"({"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"})";
  auto r1 = call(*reg_a, "POST", "/subjects/orders-value/versions", v1);
  ASSERT_EQ(r1.status, 200) << r1.body << "\n" << server_->Output();
  const int64_t id = *r1.json.Find("id")->AsInt64();

  // Instance B serves it once its tail loop has read the record from Kafka.
  JsonResponse got;
  for (int i = 0; i < 100; ++i) {
    got = call(*reg_b, "GET", "/schemas/ids/" + std::to_string(id));
    if (got.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(got.status, 200) << got.body << "\n" << b.Output();
  EXPECT_NE(got.body.find("Order"), std::string::npos);

  // Writes through B see A's state: the same schema keeps its id, a new one gets the next.
  auto again = call(*reg_b, "POST", "/subjects/orders-value/versions", v1);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(*again.json.Find("id")->AsInt64(), id);
  const std::string v2 =
      R"({"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"note\",\"type\":\"string\",\"default\":\"\"}]}"})";
  auto r2 = call(*reg_b, "POST", "/subjects/orders-value/versions", v2);
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(*r2.json.Find("id")->AsInt64(), id + 1);
  JsonResponse versions;
  for (int i = 0; i < 100; ++i) {
    versions = call(*reg_a, "GET", "/subjects/orders-value/versions");
    if (versions.body == "[1,2]") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(versions.body, "[1,2]");
  EXPECT_EQ(b.Stop(), 0) << b.Output();
}

}  // namespace
}  // namespace sluice::e2e
