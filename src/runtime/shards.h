// Shards: one io_context per core, each run by one thread. Every piece of mutable state has one
// owner shard; other shards reach it with InvokeOn. Also owns the BlockingPool for calls that
// may block (fsync, file creation, directory scans).
#pragma once

#include <cstddef>
#include <future>
#include <optional>
#include <memory>
#include <thread>
#include <vector>

#include "base/check.h"
#include "base/strong_id.h"
#include "runtime/asio.h"

namespace sluice::runtime {

struct ShardIdTag {};
using ShardId = StrongId<ShardIdTag, uint32_t>;

// A small thread pool for blocking calls. Results resume on the caller's executor.
// Thread-safe. Owned by Shards.
class BlockingPool {
 public:
  explicit BlockingPool(size_t threads) : pool_(threads) {}
  ~BlockingPool() { Stop(); }

  // Runs fn() on a pool thread; the awaiting coroutine resumes on its own executor.
  // fn must not throw. Takes a named lambda and moves from it (see kNoTemporaryLambdas).
  template <typename Fn>
  auto Run(Fn& fn) -> Task<decltype(fn())> {
    using R = decltype(fn());
    auto task = [f = std::move(fn)]() mutable -> Task<R> { co_return f(); };
    return asio::co_spawn(pool_.get_executor(), std::move(task), asio::use_awaitable);
  }

  void Stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  asio::thread_pool pool_;
};

// Lifecycle: construct, Start() spawns the threads, Stop() stops every io_context and joins.
// Work posted before Start runs once started. Thread-safe to call context()/InvokeOn from any
// thread once constructed.
class Shards {
 public:
  explicit Shards(size_t count, size_t blocking_threads = 4);
  ~Shards();
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  void Start();
  // Idempotent. Pending handlers are dropped; services must have drained before this.
  void Stop();

  size_t size() const { return contexts_.size(); }
  asio::io_context& context(ShardId id) {
    SLUICE_CHECK(id.value() < contexts_.size(), "shard {} out of range", id.value());
    return *contexts_[id.value()];
  }
  // The shard whose thread is running, or size() when called from another thread.
  static uint32_t CurrentIndex();

  BlockingPool& blocking() { return *blocking_; }

  // Runs fn() (returning Task<R>) on shard `id` and resumes the caller on its own executor
  // with the result. fn is moved into the new coroutine's frame, so its captures stay alive.
  //
  // kNoTemporaryLambdas: InvokeOn and BlockingPool::Run take the lambda by non-const lvalue
  // reference (and move from it) so that a lambda temporary cannot be written inside a
  // co_await expression: GCC 12 destroys such a temporary's captures twice (double free).
  // Write `auto fn = [..]() -> Task<R> {..}; co_await shards.InvokeOn(id, fn);`.
  // When the caller already runs on shard `id`, fn() is awaited in place: no post, no new
  // frame for co_spawn (fn lives in the caller's frame for the whole co_await).
  template <typename Fn>
  auto InvokeOn(ShardId id, Fn& fn) -> decltype(fn()) {
    if (CurrentIndex() == id.value()) return fn();
    return asio::co_spawn(context(id), std::move(fn), asio::use_awaitable);
  }

  // Fire-and-forget: spawns fn() on shard id. Exceptions abort (they are bugs).
  template <typename Fn>
  void Spawn(ShardId id, Fn fn) {
    asio::co_spawn(context(id), std::move(fn), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<BlockingPool> blocking_;
  bool started_ = false;
  bool stopped_ = false;
};

// Runs a coroutine to completion on a fresh io_context on the calling thread. For tests and
// the CLI, never on a shard thread.
template <typename T>
T RunSync(Task<T> task) {
  asio::io_context ctx;
  std::exception_ptr err;
  std::optional<T> out;
  asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e, T v) {
    err = e;
    out.emplace(std::move(v));
  });
  ctx.run();
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}

inline void RunSync(Task<void> task) {
  asio::io_context ctx;
  std::exception_ptr err;
  asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e) { err = e; });
  ctx.run();
  if (err) std::rethrow_exception(err);
}

// Runs fn() (returning Task<T>) on shard `id` of running Shards and blocks the calling
// (non-shard) thread until it finishes.
template <typename Fn>
auto BlockOn(Shards& shards, ShardId id, Fn fn) {
  using T = typename decltype(fn())::value_type;
  std::promise<T> p;
  auto f = p.get_future();
  asio::co_spawn(shards.context(id), std::move(fn), [&p](std::exception_ptr e, T v) {
    if (e) {
      p.set_exception(e);
    } else {
      p.set_value(std::move(v));
    }
  });
  return f.get();
}

}  // namespace sluice::runtime
