// The behaviour every storage::Log implementation shares, written once as a parameterised
// GoogleTest suite. An implementation instantiates it with a factory for its LogUnderTest:
//
//   SLUICE_INSTANTIATE_LOG_CONFORMANCE(Embedded, [] { return MakeEmbeddedUnderTest(); });
//
// and links the `sluice_log_conformance` library (tests/log/CMakeLists.txt).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "runtime/shards.h"
#include "storage/log.h"

namespace sluice::logtest {

// One Log to test, with what the suite needs around it. Created fresh for every test case.
struct LogUnderTest {
  virtual ~LogUnderTest() = default;
  virtual storage::Log& log() = 0;
  // Running shards the log belongs to; tests run their coroutines on shard 0.
  virtual runtime::Shards& shards() = 0;
  // Creates a topic by whatever means the implementation supports (mock Kafka:
  // rd_kafka_mock_topic_create; embedded: Log::CreateTopic).
  virtual Status CreateTopic(const std::string& name, int partitions,
                             storage::TopicConfig cfg) = 0;
  // CreateTopic/DeleteTopic/AlterTopicConfig through the Log work and are reflected by
  // Describe/List (admin tests are skipped otherwise).
  virtual bool SupportsAdmin() const = 0;
  // OffsetForTimestamp answers from record timestamps.
  virtual bool SupportsTimestampLookup() const = 0;
  // FetchOffsets with an empty partition list returns every committed partition.
  virtual bool SupportsFetchAllGroupOffsets() const { return true; }
  // ListGroups answers (the test skips, with the log's error, only when this is false).
  virtual bool SupportsListGroups() const { return true; }
  // DeleteGroup can be called (the test is skipped otherwise).
  virtual bool SupportsDeleteGroup() const { return true; }
  // DescribeTopic/ListTopics report the topic configuration (not just the partition count).
  virtual bool SupportsDescribeConfig() const { return SupportsAdmin(); }
  virtual std::string Name() const = 0;
};

using LogFactory = std::function<std::unique_ptr<LogUnderTest>()>;

// The suite's parameter: a factory and the instantiation's name (printed by GoogleTest and so
// in ctest's test names, instead of the factory's bytes).
struct LogParam {
  std::string name;
  LogFactory factory;
};
inline void PrintTo(const LogParam& p, std::ostream* os) { *os << p.name; }

class LogConformanceTest : public ::testing::TestWithParam<LogParam> {
 protected:
  void SetUp() override;
  void TearDown() override;

  storage::Log& log() { return under_test_->log(); }
  runtime::Shards& shards() { return under_test_->shards(); }
  LogUnderTest& under_test() { return *under_test_; }

  // A topic name unique to this test case, created with `partitions` partitions.
  std::string MakeTopic(int partitions = 1, storage::TopicConfig cfg = {});

  std::unique_ptr<LogUnderTest> under_test_;
};

namespace internal {
// Defined next to the test cases; referenced by the instantiation macro so that the linker
// keeps the test cases' object file when the suite comes from a static library.
int LinkLogConformanceSuite();
}  // namespace internal

}  // namespace sluice::logtest

// Instantiates every LogConformanceTest case for one implementation, at namespace scope.
// `prefix` names the instantiation (Kafka, Embedded); `factory` is callable as
// std::unique_ptr<LogUnderTest>(). GoogleTest matches suites by their spelled name, hence the
// using-declaration.
#define SLUICE_INSTANTIATE_LOG_CONFORMANCE(prefix, factory)                               \
  [[maybe_unused]] static const int sluice_log_conformance_link_##prefix =               \
      ::sluice::logtest::internal::LinkLogConformanceSuite();                            \
  using ::sluice::logtest::LogConformanceTest;                                           \
  INSTANTIATE_TEST_SUITE_P(prefix, LogConformanceTest,                                   \
                           ::testing::Values(::sluice::logtest::LogParam{               \
                               #prefix, ::sluice::logtest::LogFactory(factory)}))
