// The one place Sluice includes Boost.Asio. <utility> must come first: Boost 1.74's
// awaitable.hpp uses std::exchange and GCC 12 does not pull it in transitively.
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

namespace sluice {
namespace asio = boost::asio;
// A coroutine returning T, run on an Asio executor.
template <typename T>
using Task = asio::awaitable<T>;
}  // namespace sluice
