// Completion: a one-shot signal that a foreign thread (a librdkafka callback) raises and one
// coroutine awaits. The coroutine resumes on its own executor, never on the signalling thread.
#pragma once

#include <memory>
#include <mutex>

#include "runtime/asio.h"

namespace sluice::kafka::internal {

// Thread-safe. At most one Wait() per Completion. Signal() may come before or after Wait().
// REQUIRES: the awaiting coroutine's executor outlives the signal (KafkaLog::Stop drains every
// librdkafka callback before the shards stop).
class Completion {
 public:
  Completion() = default;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  // Resolves once Signal() has been called.
  Task<void> Wait() {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [this](auto handler) {
          auto ex = asio::get_associated_executor(handler);
          std::unique_lock lock(mu_);
          if (signalled_) {
            lock.unlock();
            asio::post(ex, std::move(handler));
            return;
          }
          waiter_ = std::make_unique<Waiter<decltype(handler), decltype(ex)>>(std::move(handler),
                                                                             ex);
        },
        asio::use_awaitable);
  }

  // Wakes the waiter (now or when it arrives). Idempotent.
  void Signal() {
    std::unique_ptr<WaiterBase> w;
    {
      std::lock_guard lock(mu_);
      if (signalled_) return;
      signalled_ = true;
      w = std::move(waiter_);
    }
    if (w) w->Post();
  }

 private:
  struct WaiterBase {
    virtual ~WaiterBase() = default;
    virtual void Post() = 0;
  };
  template <typename Handler, typename Executor>
  struct Waiter final : WaiterBase {
    Waiter(Handler h, Executor e) : handler(std::move(h)), ex(std::move(e)) {}
    void Post() override { asio::post(ex, std::move(handler)); }
    Handler handler;
    Executor ex;
  };

  std::mutex mu_;
  bool signalled_ = false;
  std::unique_ptr<WaiterBase> waiter_;
};

}  // namespace sluice::kafka::internal
