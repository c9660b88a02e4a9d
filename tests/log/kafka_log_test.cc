// The Log conformance suite against kafka::KafkaLog on librdkafka's in-process mock cluster.
// The mock has no admin API, no timestamp lookup, no "all partitions" OffsetFetch, no ListGroups
// and no DeleteGroups, so those cases skip (src/kafka/README.md lists what the mock cannot show).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka/kafka_log.h"
#include "log_conformance.h"

namespace sluice::logtest {
namespace {

class KafkaUnderTest final : public LogUnderTest {
 public:
  KafkaUnderTest() : shards_(2, 2) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    mock_handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    SLUICE_CHECK(mock_handle_ != nullptr, "mock handle: {}", errstr);
    cluster_ = rd_kafka_mock_cluster_new(mock_handle_, 1);
    SLUICE_CHECK(cluster_ != nullptr, "mock cluster");
    shards_.Start();
    kafka::KafkaLogOptions opts;
    opts.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(cluster_);
    opts.request_timeout_ms = 5000;
    opts.admin_api = false;  // the mock has no CreateTopics/DescribeConfigs/...
    opts.properties["log_level"] = "3";
    auto log = kafka::KafkaLog::Open(opts, shards_);
    SLUICE_CHECK(log.ok(), "open: {}", log.status().ToString());
    log_ = std::move(log).value();
  }
  ~KafkaUnderTest() override {
    log_->Stop();
    shards_.Stop();
    log_.reset();
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(mock_handle_);
  }

  storage::Log& log() override { return *log_; }
  runtime::Shards& shards() override { return shards_; }
  Status CreateTopic(const std::string& name, int partitions, storage::TopicConfig) override {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Internal("mock topic create {}: {}", name, rd_kafka_err2str(err));
    }
    return Status::Ok();
  }
  bool SupportsAdmin() const override { return false; }
  bool SupportsTimestampLookup() const override { return false; }
  bool SupportsFetchAllGroupOffsets() const override { return false; }
  // The mock has no ListGroups handler: librdkafka answers "Required feature not supported by
  // broker".
  bool SupportsListGroups() const override { return false; }
  // The mock has no DeleteGroups handler either, and asking it aborts librdkafka 2.0.2
  // (assertion in rd_kafka_enq_once_del_source_return), so the test is not even tried.
  bool SupportsDeleteGroup() const override { return false; }
  std::string Name() const override { return "librdkafka mock cluster"; }

 private:
  runtime::Shards shards_;
  rd_kafka_t* mock_handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::unique_ptr<kafka::KafkaLog> log_;
};

}  // namespace
}  // namespace sluice::logtest

SLUICE_INSTANTIATE_LOG_CONFORMANCE(Kafka, [] {
  return std::unique_ptr<sluice::logtest::LogUnderTest>(
      std::make_unique<sluice::logtest::KafkaUnderTest>());
});
