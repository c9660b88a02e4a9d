// Shard threads: one io_context each, kept alive by a work guard until Stop().
#include "runtime/shards.h"

namespace sluice::runtime {
namespace {
thread_local uint32_t tls_shard_index = UINT32_MAX;
}

Shards::Shards(size_t count, size_t blocking_threads)
    : blocking_(std::make_unique<BlockingPool>(blocking_threads)) {
  SLUICE_CHECK(count > 0, "need at least one shard");
  for (size_t i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
        contexts_.back()->get_executor()));
  }
}

Shards::~Shards() { Stop(); }

void Shards::Start() {
  SLUICE_CHECK(!started_, "shards already started");
  started_ = true;
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      tls_shard_index = static_cast<uint32_t>(i);
      contexts_[i]->run();
    });
  }
}

void Shards::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& g : guards_) g->reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  blocking_->Stop();
}

uint32_t Shards::CurrentIndex() {
  return tls_shard_index == UINT32_MAX ? UINT32_MAX : tls_shard_index;
}

}  // namespace sluice::runtime
