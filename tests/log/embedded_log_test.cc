// The Log conformance suite against storage::EmbeddedLog in a fresh temporary directory.
// The embedded store supports everything the suite asks, so no case skips.
#include <unistd.h>

#include <filesystem>
#include <random>

#include "log_conformance.h"
#include "storage/embedded_log.h"

namespace sluice::logtest {
namespace {
namespace fs = std::filesystem;

class EmbeddedUnderTest final : public LogUnderTest {
 public:
  EmbeddedUnderTest() : shards_(2, 2) {
    dir_ = fs::temp_directory_path() /
           fmt::format("sluice-conformance-{}-{}", ::getpid(), std::random_device()());
    fs::create_directories(dir_);
    shards_.Start();
    storage::EmbeddedLogOptions o;
    o.data_dir = dir_.string();
    auto log = storage::EmbeddedLog::Open(o, shards_, SystemClock::Instance());
    SLUICE_CHECK(log.ok(), "open: {}", log.status().ToString());
    log_ = std::move(log).value();
  }
  ~EmbeddedUnderTest() override {
    log_->Stop();
    shards_.Stop();
    log_.reset();
    fs::remove_all(dir_);
  }

  storage::Log& log() override { return *log_; }
  runtime::Shards& shards() override { return shards_; }
  Status CreateTopic(const std::string& name, int partitions, storage::TopicConfig cfg) override {
    cfg.partitions = partitions;
    auto fn = [this, name, cfg]() -> Task<Status> { co_return co_await log_->CreateTopic(name, cfg); };
    return runtime::BlockOn(shards_, runtime::ShardId(0), fn);
  }
  bool SupportsAdmin() const override { return true; }
  bool SupportsTimestampLookup() const override { return true; }
  std::string Name() const override { return "embedded store"; }

 private:
  fs::path dir_;
  runtime::Shards shards_;
  std::unique_ptr<storage::EmbeddedLog> log_;
};

}  // namespace
}  // namespace sluice::logtest

SLUICE_INSTANTIATE_LOG_CONFORMANCE(Embedded, [] {
  return std::unique_ptr<sluice::logtest::LogUnderTest>(
      std::make_unique<sluice::logtest::EmbeddedUnderTest>());
});
