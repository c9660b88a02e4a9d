// Notifier: a wait list without timers. Wait() suspends the calling coroutine until the next
// NotifyAll(), which resumes every waiter on its own executor (posted, never inline). Cheaper
// than Event (no timer per waiter: one small allocation, no reactor work), for hot paths where
// waits are short and need no deadline. Not thread-safe: use from one shard.
#pragma once

#include <memory>
#include <vector>

#include "runtime/asio.h"

#include <boost/asio/associated_executor.hpp>

namespace sluice::runtime {

class Notifier {
 public:
  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  Task<void> Wait() {
    auto initiation = [this](auto handler) {
      waiters_.push_back(std::make_unique<Waiter<decltype(handler)>>(std::move(handler)));
    };
    return asio::async_initiate<const asio::use_awaitable_t<>, void()>(initiation,
                                                                        asio::use_awaitable);
  }

  // Resumes every current waiter (waiters added while resuming wait for the next call).
  void NotifyAll() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w->Complete();
  }

  size_t waiters() const { return waiters_.size(); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void Complete() = 0;
  };
  template <typename Handler>
  struct Waiter final : Base {
    explicit Waiter(Handler&& h) : handler(std::move(h)) {}
    void Complete() override {
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, std::move(handler));
    }
    Handler handler;
  };
  std::vector<std::unique_ptr<Base>> waiters_;
};

}  // namespace sluice::runtime
