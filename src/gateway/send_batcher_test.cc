// SendBatcher over real sockets: a turn's sends leave in one batch, each waiter learns its own
// result, a full socket buffer gives -EAGAIN instead of a parked send, and a batcher destroyed
// before its posted flush runs is not touched.
#include "gateway/internal/send_batcher.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "runtime/asio.h"

namespace sluice::gateway::internal {
namespace {

struct Pair {
  int a = -1;
  int b = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    a = fds[0];
    b = fds[1];
    ::fcntl(a, F_SETFL, ::fcntl(a, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
  std::string ReadAll() const {
    std::string got;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(b, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) return got;
      got.append(buf, static_cast<size_t>(n));
    }
  }
};

// Queues one send of `head` + `body` on fd and waits for the batch; returns the result.
Task<long> SendOne(SendBatcher* batcher, int fd, std::string head, std::string body) {
  std::array<iovec, 2> iov = {iovec{head.data(), head.size()}, iovec{body.data(), body.size()}};
  SendBatcher::Send s;
  s.fd = fd;
  s.msg.msg_iov = iov.data();
  s.msg.msg_iovlen = 2;
  auto ex = co_await asio::this_coro::executor;
  batcher->Queue(&s, ex);
  while (!s.done) co_await batcher->flushed().Wait();
  co_return s.result;
}

TEST(SendBatcherTest, OneTurnsSendsLeaveInOneBatch) {
  auto batcher = SendBatcher::Create();
  if (batcher == nullptr) GTEST_SKIP() << "io_uring is not available here (kernel or seccomp)";
  asio::io_context ctx(1);
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<long> results(5, -1);
  for (int i = 0; i < 5; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    asio::co_spawn(
        ctx,
        [&, i]() -> Task<void> {
          results[i] = co_await SendOne(batcher.get(), pairs[i]->a, "head" + std::to_string(i),
                                        std::string(100 * (i + 1), 'x'));
        },
        asio::detached);
  }
  ctx.run();
  for (int i = 0; i < 5; ++i) {
    const std::string want = "head" + std::to_string(i) + std::string(100 * (i + 1), 'x');
    EXPECT_EQ(results[i], static_cast<long>(want.size())) << i;
    EXPECT_EQ(pairs[i]->ReadAll(), want) << i;
  }
  EXPECT_EQ(batcher->sends(), 5u);
  EXPECT_EQ(batcher->batches(), 1u);

  // A later turn is a new batch, on the same sockets.
  std::vector<long> again(2, -1);
  asio::io_context ctx2(1);
  for (int i = 0; i < 2; ++i) {
    asio::co_spawn(
        ctx2,
        [&, i]() -> Task<void> {
          again[i] = co_await SendOne(batcher.get(), pairs[i]->a, "more", "");
        },
        asio::detached);
  }
  ctx2.run();
  EXPECT_EQ(again[0], 4);
  EXPECT_EQ(again[1], 4);
  EXPECT_EQ(pairs[0]->ReadAll(), "more");
  EXPECT_EQ(batcher->batches(), 2u);
}

TEST(SendBatcherTest, FullSocketBufferGivesEagainNotAParkedSend) {
  auto batcher = SendBatcher::Create();
  if (batcher == nullptr) GTEST_SKIP() << "io_uring is not available here (kernel or seccomp)";
  Pair p;
  int small = 4096;
  ::setsockopt(p.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  std::string chunk(1024, 'f');
  while (::send(p.a, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  asio::io_context ctx(1);
  long result = 1;
  asio::co_spawn(
      ctx,
      [&]() -> Task<void> {
        result = co_await SendOne(batcher.get(), p.a, "h", std::string(64 * 1024, 'y'));
      },
      asio::detached);
  ctx.run();  // returns: nothing is left waiting in the kernel
  EXPECT_EQ(result, -EAGAIN);
  // The batcher still works for sockets with room.
  Pair q;
  asio::io_context ctx2(1);
  asio::co_spawn(
      ctx2, [&]() -> Task<void> { result = co_await SendOne(batcher.get(), q.a, "ok", ""); },
      asio::detached);
  ctx2.run();
  EXPECT_EQ(result, 2);
  EXPECT_EQ(q.ReadAll(), "ok");
}

TEST(SendBatcherTest, ErrorsComeBackPerSend) {
  auto batcher = SendBatcher::Create();
  if (batcher == nullptr) GTEST_SKIP() << "io_uring is not available here (kernel or seccomp)";
  Pair good;
  Pair gone;
  ::close(gone.b);
  gone.b = ::open("/dev/null", O_RDONLY);  // keep the destructor's close harmless
  asio::io_context ctx(1);
  long r_good = 0, r_gone = 0;
  asio::co_spawn(
      ctx, [&]() -> Task<void> { r_gone = co_await SendOne(batcher.get(), gone.a, "x", ""); },
      asio::detached);
  asio::co_spawn(
      ctx, [&]() -> Task<void> { r_good = co_await SendOne(batcher.get(), good.a, "yz", ""); },
      asio::detached);
  ctx.run();
  EXPECT_EQ(r_gone, -EPIPE);  // MSG_NOSIGNAL: an error, not a signal
  EXPECT_EQ(r_good, 2);
  EXPECT_EQ(good.ReadAll(), "yz");
}

TEST(SendBatcherTest, DestroyedBeforeItsFlushRunsIsNotTouched) {
  auto batcher = SendBatcher::Create();
  if (batcher == nullptr) GTEST_SKIP() << "io_uring is not available here (kernel or seccomp)";
  Pair p;
  asio::io_context ctx(1);
  std::string data = "never";
  std::array<iovec, 1> iov = {iovec{data.data(), data.size()}};
  SendBatcher::Send s;
  s.fd = p.a;
  s.msg.msg_iov = iov.data();
  s.msg.msg_iovlen = 1;
  batcher->Queue(&s, ctx.get_executor());
  batcher.reset();
  ctx.run();  // the posted flush finds the batcher gone
  EXPECT_FALSE(s.done);
  EXPECT_EQ(p.ReadAll(), "");
}

}  // namespace
}  // namespace sluice::gateway::internal
