#include "runtime/shards.h"

#include <gtest/gtest.h>

#include "runtime/event.h"

namespace sluice::runtime {
namespace {

TEST(ShardsTest, InvokeOnRunsOnTheTargetShardAndResumesOnTheCaller) {
  Shards shards(2, 1);
  shards.Start();
  auto result = BlockOn(shards, ShardId(0), [&]() -> Task<std::pair<uint32_t, uint32_t>> {
    auto fn1 = []() -> Task<uint32_t> {
      co_return Shards::CurrentIndex();
    };
    uint32_t inner = co_await shards.InvokeOn(ShardId(1), fn1);
    co_return std::make_pair(inner, Shards::CurrentIndex());
  });
  EXPECT_EQ(result.first, 1u);
  EXPECT_EQ(result.second, 0u);
  shards.Stop();
}

TEST(ShardsTest, BlockingPoolRunsOffShardAndResumesOnShard) {
  Shards shards(1, 2);
  shards.Start();
  auto result = BlockOn(shards, ShardId(0), [&]() -> Task<std::pair<uint32_t, uint32_t>> {
    auto fn2 = [] { return Shards::CurrentIndex(); };
    uint32_t inside = co_await shards.blocking().Run(fn2);
    co_return std::make_pair(inside, Shards::CurrentIndex());
  });
  EXPECT_EQ(result.first, UINT32_MAX);
  EXPECT_EQ(result.second, 0u);
}

TEST(EventTest, NotifyWakesWaitersAndDeadlineExpires) {
  RunSync([]() -> Task<void> {
    Event ev;
    auto ex = co_await asio::this_coro::executor;
    bool woke = false;
    asio::co_spawn(ex, [&]() -> Task<void> { woke = co_await ev.Wait(); }, asio::detached);
    asio::steady_timer t(ex, std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
    EXPECT_EQ(ev.waiters(), 1u);
    ev.NotifyAll();
    t.expires_after(std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
    EXPECT_TRUE(woke);
    bool notified = co_await ev.WaitUntil(Event::Clock::now() + std::chrono::milliseconds(5));
    EXPECT_FALSE(notified);
    EXPECT_EQ(ev.waiters(), 0u);
  }());
}

}  // namespace
}  // namespace sluice::runtime
