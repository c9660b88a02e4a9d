// Event: a notification coroutines on one shard can wait for, with a deadline. Used for
// long-poll reads and group-commit waiters. Owned by, and only touched on, one shard.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "runtime/asio.h"

namespace sluice::runtime {

class Event {
 public:
  using Clock = std::chrono::steady_clock;

  // Waits until NotifyAll() or the deadline. Returns true when notified.
  Task<bool> WaitUntil(Clock::time_point deadline) {
    auto ex = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    bool notified = ec == asio::error::operation_aborted;
    if (!notified) {
      auto it = std::find(waiters_.begin(), waiters_.end(), timer);
      if (it != waiters_.end()) waiters_.erase(it);
    }
    co_return notified;
  }
  Task<bool> Wait() { return WaitUntil(Clock::time_point::max()); }

  // Wakes every current waiter.
  void NotifyAll() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& t : waiters) t->cancel();
  }

  size_t waiters() const { return waiters_.size(); }

 private:
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
};

}  // namespace sluice::runtime
