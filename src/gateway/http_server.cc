// HttpServer implementation on Boost.Beast 1.74 with asio::awaitable coroutines.
//
// Why one acceptor rather than SO_REUSEPORT per shard: with SO_REUSEPORT a second `sluice serve`
// started by the same user on the same port would silently share the port with the first. One
// acceptor (accepts are rare with keep-alive) fails loudly instead; the accepted socket is opened
// directly on the target shard's io_context.
//
// Timeouts: Boost 1.74 has no per-operation cancellation, so each connection has a deadline timer
// watched by a small coroutine that closes the socket when the deadline passes.
#include "gateway/http_server.h"

#include <utility>

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "base/logging.h"
#include "metrics/registry.h"

namespace sluice::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

spdlog::logger& Logger() {
  static auto& l = logging::Get("gateway");
  return l;
}

// One connection, owned by its Session coroutine (shared with its Watch coroutine); touched
// only on its shard.
//
// Deadlines are lazy: SetDeadline only moves the timer when the new deadline is earlier than
// the one armed, otherwise Watch wakes at the armed time, sees the later deadline and re-arms.
// Re-arming on every request would cancel and wake Watch up to three times per request.
struct Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {
    timer.expires_at(SteadyClock::time_point::max());
  }
  tcp::socket socket;
  asio::steady_timer timer;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  bool done = false;
  bool busy = false;  // between a request's head being read and its response being written
  std::string remote;  // "ip:port" of the peer, looked up once
  // Reused across the connection's requests so each one does not allocate them again.
  std::string body;
  std::string head;

  void SetDeadline(int64_t ms) {
    deadline = SteadyClock::now() + std::chrono::milliseconds(ms);
    if (deadline < timer.expiry()) timer.expires_at(deadline);
  }
  void ClearDeadline() { deadline = SteadyClock::time_point::max(); }
  void Close() {
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
};

// Per-shard state; only touched on its shard.
struct ShardState {
  std::set<Conn*> conns;
  // Metric handles looked up once per (route, method, status) on this shard.
  std::map<std::string, metrics::Counter*, std::less<>> counters;
  std::map<std::string, metrics::Histogram*, std::less<>> histograms;
  std::string key;  // scratch for building the keys above
};

// Appends the status line and headers of a response: what Beast's serializer writes for a
// response with these fields after prepare_payload() (no Content-Length for 1xx, 204 and 304).
void AppendResponseHead(std::string& out, const HttpResponse& r, unsigned version,
                        bool keep_alive, size_t body_size) {
  char num[24];
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(num, std::to_chars(num, num + sizeof(num), r.status).ptr);
  out.push_back(' ');
  auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  bool server = false, content_type = false;
  for (const auto& [k, v] : r.headers) {
    server = server || beast::iequals(k, "server");
    content_type = content_type || beast::iequals(k, "content-type");
  }
  if (!server) field("Server", "sluice");
  if (!content_type) field("Content-Type", r.content_type);
  for (const auto& [k, v] : r.headers) field(k, v);
  if (version >= 11 && !keep_alive) field("Connection", "close");
  if (version < 11 && keep_alive) field("Connection", "keep-alive");
  const bool no_body = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  if (!no_body) {
    out.append("Content-Length: ");
    out.append(num, std::to_chars(num, num + sizeof(num), body_size).ptr);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void ParseTarget(HttpRequest& req) {
  std::string_view t = req.target;
  auto q = t.find('?');
  std::string_view path = t.substr(0, q);
  if (path.find('%') == std::string_view::npos) {
    req.path.assign(path.data(), path.size());  // nothing to decode; reuses req.path's capacity
  } else {
    auto p = PercentDecode(path, false);
    req.path = p.ok() ? std::move(p).value() : std::string(path);
  }
  if (q == std::string_view::npos) return;
  std::string_view qs = t.substr(q + 1);
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    auto k = PercentDecode(kv.substr(0, eq), true);
    auto v = PercentDecode(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1),
                           true);
    if (k.ok() && v.ok()) req.query[std::move(k).value()] = std::move(v).value();
  }
}

}  // namespace

class HttpServerImpl {
 public:
  HttpServerImpl(HttpServerOptions options, Router router, runtime::Shards& shards)
      : options_(std::move(options)),
        router_(std::move(router)),
        shards_(shards),
        acceptor_(shards.context(runtime::ShardId(0))),
        states_(shards.size()) {
    if (options_.metrics != nullptr) {
      active_gauge_ = &options_.metrics->GetGauge("sluice_http_connections_active",
                                                  "Open HTTP connections");
      rejected_ = &options_.metrics->GetCounter(
          "sluice_http_connections_rejected_total",
          "HTTP connections refused because max_connections was reached");
    }
  }

  Status Bind() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(options_.host, ec);
    if (ec) return InvalidArgument("invalid listen host '{}': {}", options_.host, ec.message());
    tcp::endpoint ep(addr, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("cannot listen on {}:{}: {}", options_.host, options_.port,
                         ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  void StartAccepting() {
    shards_.Spawn(runtime::ShardId(0), [this]() -> Task<void> { co_await AcceptLoop(); });
  }

  uint16_t port() const { return port_; }

  void Stop() {
    if (stopped_.exchange(true)) return;
    runtime::BlockOn(shards_, runtime::ShardId(0), [this]() -> Task<bool> {
      boost::system::error_code ec;
      acceptor_.close(ec);
      co_return true;
    });
    // Idle connections go now; busy ones may finish their current request (handlers see
    // stopping and long polls end early), then everything left is closed.
    CloseConnections(/*busy_too=*/false);
    auto deadline = SteadyClock::now() + std::chrono::seconds(2);
    while (active_.load() > 0 && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CloseConnections(/*busy_too=*/true);
  }

 private:
  void CloseConnections(bool busy_too) {
    for (uint32_t i = 0; i < shards_.size(); ++i) {
      runtime::BlockOn(shards_, runtime::ShardId(i), [this, i, busy_too]() -> Task<bool> {
        for (Conn* c : states_[i].conns) {
          if (busy_too || !c->busy) c->Close();
        }
        co_return true;
      });
    }
  }

  Task<void> AcceptLoop() {
    uint32_t next = 0;
    for (;;) {
      uint32_t shard = next++ % static_cast<uint32_t>(shards_.size());
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(
          shards_.context(runtime::ShardId(shard)), asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_.load() || ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      if (ec) {
        // Typically EMFILE: back off briefly instead of spinning.
        Logger().warn("accept failed: {}", ec.message());
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      auto conn = std::make_shared<Conn>(std::move(sock));
      shards_.Spawn(runtime::ShardId(shard),
                    [this, conn, shard]() -> Task<void> { co_await Session(conn, shard); });
    }
  }

  static Task<void> Watch(std::shared_ptr<Conn> c) {
    while (!c->done) {
      boost::system::error_code ec;
      co_await c->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (c->done) break;
      auto now = SteadyClock::now();
      if (c->deadline <= now) {
        c->Close();
        break;
      }
      // Woken early (the deadline moved later, or was cleared) or re-armed earlier: wait for
      // the current deadline.
      if (c->timer.expiry() <= now || c->timer.expiry() > c->deadline) {
        c->timer.expires_at(c->deadline);
      }
    }
  }

  Task<void> Session(std::shared_ptr<Conn> conn, uint32_t shard) {
    ShardState& st = states_[shard];
    st.conns.insert(conn.get());
    int64_t active = active_.fetch_add(1) + 1;
    if (active_gauge_ != nullptr) active_gauge_->Add(1);
    if (active > options_.max_connections || stopped_.load()) {
      if (rejected_ != nullptr) rejected_->Inc();
      conn->SetDeadline(1000);
      asio::co_spawn(conn->socket.get_executor(), Watch(conn), asio::detached);
      HttpResponse r = HttpResponse::Error(503, "unavailable", "too many connections");
      co_await WriteResponse(*conn, r, 11, false);
    } else {
      boost::system::error_code rec;
      // Each response is one write; do not let Nagle hold it back waiting for an ACK (nginx
      // does the same on keep-alive connections: tcp_nodelay on).
      conn->socket.set_option(tcp::no_delay(true), rec);
      auto ep = conn->socket.remote_endpoint(rec);
      if (!rec) conn->remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
      conn->SetDeadline(options_.idle_timeout_ms);
      asio::co_spawn(conn->socket.get_executor(), Watch(conn), asio::detached);
      co_await Serve(*conn, st);
    }
    conn->done = true;
    conn->timer.cancel();
    conn->Close();
    st.conns.erase(conn.get());
    if (active_gauge_ != nullptr) active_gauge_->Add(-1);
    active_.fetch_sub(1);
  }

  Task<void> Serve(Conn& conn, ShardState& st) {
    beast::flat_buffer buffer;
    HttpRequest req;
    req.remote = conn.remote;
    bool first = true;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
      parser.body_limit(static_cast<uint64_t>(options_.max_body_bytes));
      // Beast's string body appends to (and reserves) this string: reuse its capacity.
      conn.body.clear();
      parser.get().body() = std::move(conn.body);
      boost::system::error_code ec;
      conn.SetDeadline(first ? options_.request_timeout_ms : options_.idle_timeout_ms);
      first = false;
      co_await http::async_read_header(conn.socket, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::header_limit) {
        HttpResponse r = HttpResponse::Error(431, "resource_exhausted",
                                             fmt::format("request head larger than {} bytes",
                                                         options_.max_header_bytes));
        co_await WriteResponse(conn, r, 11, false);
        co_return;
      }
      if (ec == http::error::body_limit) {
        // Beast checks Content-Length against body_limit while parsing the head.
        HttpResponse r = HttpResponse::Error(
            413, "resource_exhausted",
            fmt::format("request body exceeds the limit of {} bytes", options_.max_body_bytes));
        co_await WriteResponse(conn, r, 11, false);
        co_return;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted &&
            ec != asio::error::connection_reset && ec != asio::error::eof &&
            ec != asio::error::bad_descriptor) {
          HttpResponse r = HttpResponse::Error(400, "invalid_argument",
                                               fmt::format("bad HTTP request: {}", ec.message()));
          co_await WriteResponse(conn, r, 11, false);
        }
        co_return;
      }
      conn.SetDeadline(options_.request_timeout_ms);
      conn.busy = true;
      auto start = SteadyClock::now();
      unsigned version = parser.get().version();
      auto cl = parser.content_length();
      if (cl && *cl > static_cast<uint64_t>(options_.max_body_bytes)) {
        HttpResponse r = HttpResponse::Error(
            413, "resource_exhausted",
            fmt::format("request body of {} bytes exceeds the limit of {} bytes", *cl,
                        options_.max_body_bytes));
        Record(st, "unmatched", std::string(parser.get().method_string()), 413, start);
        co_await WriteResponse(conn, r, version, false);
        co_return;
      }
      if (!parser.is_done() &&
          beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        // curl sends this for bodies over 1 KiB and otherwise waits a second before sending.
        http::response<http::empty_body> cont{http::status::continue_, version};
        co_await http::async_write(conn.socket, cont,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      if (!parser.is_done() && buffer.size() > 0) {
        // Usually the whole body came with the head: parse it from the buffer directly rather
        // than through another composed read (which completes through the scheduler).
        parser.eager(true);
        buffer.consume(parser.put(buffer.data(), ec));
        if (ec == http::error::need_more) ec = {};
      }
      if (!ec && !parser.is_done()) {
        co_await http::async_read(conn.socket, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == http::error::body_limit) {
        HttpResponse r = HttpResponse::Error(
            413, "resource_exhausted",
            fmt::format("request body exceeds the limit of {} bytes", options_.max_body_bytes));
        co_await WriteResponse(conn, r, version, false);
        co_return;
      }
      if (ec) co_return;
      auto breq = parser.release();
      bool keep_alive = breq.keep_alive();

      // The connection's HttpRequest is reused: assigning into its strings keeps their capacity.
      req.method.assign(breq.method_string().data(), breq.method_string().size());
      req.target.assign(breq.target().data(), breq.target().size());
      size_t nheaders = 0;
      for (const auto& f : breq) {
        if (nheaders == req.headers.size()) req.headers.emplace_back();
        auto& [name, value] = req.headers[nheaders++];
        name.assign(f.name_string().data(), f.name_string().size());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        value.assign(f.value().data(), f.value().size());
      }
      req.headers.resize(nheaders);
      req.body.swap(breq.body());
      req.query.clear();
      req.path_params.clear();
      ParseTarget(req);

      conn.ClearDeadline();  // handlers bound their own time (long-poll wait_ms)
      std::string route;
      HttpResponse resp = co_await Dispatch(req, route);
      Record(st, route, req.method, resp.status, start);
      if (stopped_.load()) keep_alive = false;
      conn.SetDeadline(options_.request_timeout_ms);
      conn.body.swap(req.body);
      bool ok = co_await WriteResponse(conn, resp, version, keep_alive, req.method == "HEAD");
      conn.busy = false;
      if (!ok || !keep_alive) co_return;
    }
  }

  Task<HttpResponse> Dispatch(HttpRequest& req, std::string& route) {
    Router::Match m = router_.Find(req);
    route = m.route;
    if (m.handler == nullptr) {
      if (m.path_matched) {
        HttpResponse r = HttpResponse::Error(
            405, "invalid_argument",
            fmt::format("method {} not allowed on {}; allowed: {}", req.method, req.path,
                        m.allowed));
        r.headers.emplace_back("Allow", m.allowed);
        co_return r;
      }
      co_return HttpResponse::Error(404, "not_found",
                                    fmt::format("no route for {} {}", req.method, req.path));
    }
    try {
      co_return co_await (*m.handler)(req);
    } catch (const std::exception& e) {
      Logger().error("handler for {} {} threw: {}", req.method, req.path, e.what());
      co_return HttpResponse::Error(500, "internal", "internal error");
    }
  }

  // Writes the head (built in the connection's reused buffer) and the body in one write.
  Task<bool> WriteResponse(Conn& conn, const HttpResponse& r, unsigned version, bool keep_alive,
                           bool head = false) {
    conn.head.clear();
    AppendResponseHead(conn.head, r, version, keep_alive, r.body.size());
    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(conn.head), head ? asio::const_buffer() : asio::buffer(r.body)};
    boost::system::error_code ec;
    co_await asio::async_write(conn.socket, buffers,
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  void Record(ShardState& st, const std::string& route, const std::string& method, int status,
              SteadyClock::time_point start) {
    if (options_.metrics == nullptr) return;
    double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
    std::string& key = st.key;
    key.assign(route).append(" ").append(method);
    auto hit = st.histograms.find(key);
    if (hit == st.histograms.end()) {
      auto& h = options_.metrics->GetHistogram(
          "sluice_http_request_duration_seconds",
          "Time from a request's head being read to its response being ready",
          metrics::LatencyBucketsSeconds(), {{"route", route}, {"method", method}});
      hit = st.histograms.emplace(key, &h).first;
    }
    hit->second->Observe(secs);
    char num[16];
    key.push_back(' ');
    key.append(num, std::to_chars(num, num + sizeof(num), status).ptr);
    auto it = st.counters.find(key);
    if (it == st.counters.end()) {
      auto& c = options_.metrics->GetCounter(
          "sluice_http_requests_total", "HTTP requests by route, method and status",
          {{"route", route}, {"method", method}, {"status", std::to_string(status)}});
      it = st.counters.emplace(key, &c).first;
    }
    it->second->Inc();
  }

  HttpServerOptions options_;
  Router router_;
  runtime::Shards& shards_;
  tcp::acceptor acceptor_;
  std::vector<ShardState> states_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> active_{0};
  metrics::Gauge* active_gauge_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Router router,
                                                      runtime::Shards& shards) {
  auto impl = std::make_unique<HttpServerImpl>(std::move(options), std::move(router), shards);
  SLUICE_RETURN_IF_ERROR(impl->Bind());
  impl->StartAccepting();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<HttpServerImpl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace sluice::gateway
