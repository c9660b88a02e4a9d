// HttpServer implementation on Boost.Beast 1.74 with asio::awaitable coroutines.
//
// Why one acceptor rather than SO_REUSEPORT per shard: with SO_REUSEPORT a second `sluice serve`
// started by the same user on the same port would silently share the port with the first. One
// acceptor (accepts are rare with keep-alive) fails loudly instead; the accepted socket is opened
// directly on the target shard's io_context.
//
// Timeouts: Boost 1.74 has no per-operation cancellation, so each connection has a deadline timer
// watched by a small coroutine that closes the socket when the deadline passes.
//
// TLS: the connection code is a template on the stream (a plain tcp::socket, or an OpenSSL
// asio::ssl::stream over one), so the plain listener compiles to the same direct socket calls
// as before and pays nothing for TLS; a listener is one or the other, chosen at Start.
#include "gateway/http_server.h"

#include <utility>

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <type_traits>

#include <sys/socket.h>
#include <sys/uio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/clock.h"
#include "base/logging.h"
#include "gateway/internal/http_parser.h"
#include "gateway/internal/send_batcher.h"
#include "gateway/upgrade.h"
#include "metrics/registry.h"

namespace sluice::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = ssl::stream<tcp::socket>;

namespace {

spdlog::logger& Logger() {
  static auto& l = logging::Get("gateway");
  return l;
}

tcp::socket& Lowest(tcp::socket& s) { return s; }
tcp::socket& Lowest(TlsStream& s) { return s.next_layer(); }

// One connection, owned by its Session coroutine (shared with its Watch coroutine); touched
// only on its shard. ConnBase is what does not depend on the stream type (the server's
// connection set and timeouts use it); Conn<Stream> adds the stream.
//
// Deadlines are lazy: SetDeadline only moves the timer when the new deadline is earlier than
// the one armed, otherwise Watch wakes at the armed time, sees the later deadline and re-arms.
// Re-arming on every request would cancel and wake Watch up to three times per request.
struct ConnBase : UpgradedConnection {
  explicit ConnBase(const tcp::socket::executor_type& ex) : timer(ex) {
    timer.expires_at(SteadyClock::time_point::max());
  }
  ConnBase(const ConnBase&) = delete;
  ConnBase& operator=(const ConnBase&) = delete;
  tcp::socket* socket = nullptr;  // the TCP socket under the stream; set by Conn
  asio::steady_timer timer;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  bool done = false;
  bool busy = false;  // between a request's head being read and its response being written
  internal::SendBatcher::Send* queued_send = nullptr;  // the response waiting in a send batch
  std::string remote;  // "ip:port" of the peer, looked up once
  // Read buffer: bytes [rbegin, rend) are received and not yet parsed (pipelined requests
  // stay there for the next turn of the loop).
  std::string rbuf;
  size_t rbegin = 0;
  size_t rend = 0;
  // Reused across the connection's requests so each one does not allocate it again.
  std::string head;
  // Set while a route's upgrade (WebSocket) serves the connection; then `buffered` holds what
  // was read after the upgrade request's head.
  ConnectionUpgrade* upgrade = nullptr;
  std::string buffered;

  void SetDeadline(int64_t ms) override {
    deadline = CoarseSteadyNow() + std::chrono::milliseconds(ms);
    if (deadline < timer.expiry()) timer.expires_at(deadline);
  }
  void ClearDeadline() override { deadline = SteadyClock::time_point::max(); }
  tcp::socket& Socket() override { return *socket; }
  std::string_view Buffered() const override { return buffered; }
  const std::string& Remote() const override { return remote; }
  // Closes the TCP socket (on TLS without close_notify: this is for timeouts and stopping).
  void Close() {
    // A response queued in this turn's batch must not go out on a descriptor number that
    // another thread may reuse once it is closed: it fails with EBADF instead.
    if (queued_send != nullptr) queued_send->fd = -1;
    boost::system::error_code ec;
    socket->shutdown(tcp::socket::shutdown_both, ec);
    socket->close(ec);
  }

 protected:
  ~ConnBase() = default;
};

template <typename Stream>
struct Conn final : ConnBase {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  explicit Conn(tcp::socket s)
    requires(!kTls)
      : ConnBase(s.get_executor()), stream(std::move(s)) {
    socket = &Lowest(stream);
  }
  Conn(tcp::socket s, std::shared_ptr<ssl::context> ctx)
    requires kTls
      : ConnBase(s.get_executor()), context(std::move(ctx)), stream(std::move(s), *context) {
    socket = &Lowest(stream);
  }
  TlsStream* Tls() override {
    if constexpr (kTls) {
      return &stream;
    } else {
      return nullptr;
    }
  }
  struct NoContext {};
  // TLS: the context the stream was made from, kept while the stream lives (a reload replaces
  // the server's). Declared before the stream so it outlives it.
  [[no_unique_address]] std::conditional_t<kTls, std::shared_ptr<ssl::context>, NoContext>
      context;
  Stream stream;
};

// Per-shard state; only touched on its shard.
struct ShardState {
  std::set<ConnBase*> conns;
  // Metric handles looked up once per (route, method, status) on this shard.
  std::map<std::string, metrics::Counter*, std::less<>> counters;
  std::map<std::string, metrics::Histogram*, std::less<>> histograms;
  std::string key;  // scratch for building the keys above
  // Responses of one event-loop turn leave in one system call (see SendBatcher); made on the
  // shard's first response, null when io_uring is unavailable or batch_sends is off.
  std::shared_ptr<internal::SendBatcher> sends;
  bool sends_checked = false;
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

// OpenSSL's reason for a failed TLS operation ("wrong version number", "no such file"...).
std::string TlsErrorText(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    ERR_clear_error();
    if (reason != nullptr) return reason;
  }
  return ec.message();
}

// Splits the target into the decoded path and query parameters. A malformed percent-escape
// is the client's error (400), never silently read as something else: a parameter dropped
// for it would change what a fetch reads.
Status ParseTarget(HttpRequest& req) {
  std::string_view t = req.target;
  auto q = t.find('?');
  std::string_view path = t.substr(0, q);
  if (path.find('%') == std::string_view::npos) {
    req.path.assign(path.data(), path.size());  // nothing to decode; reuses req.path's capacity
  } else {
    auto p = PercentDecode(path, false);
    if (!p.ok()) {
      req.path.assign(path.data(), path.size());
      return p.status().WithContext("request path");
    }
    req.path = std::move(p).value();
  }
  if (q == std::string_view::npos) return Status::Ok();
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
    if (!k.ok()) return k.status().WithContext("query string");
    if (!v.ok()) return v.status().WithContext("query string");
    req.query[std::move(k).value()] = std::move(v).value();
  }
  return Status::Ok();
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
    // Said once at start, so an operator can tell which send path a listener runs (a container
    // runtime's default seccomp policy, for one, refuses io_uring).
    if (options_.batch_sends && internal::SendBatcher::Create() == nullptr) {
      Logger().info("io_uring is not available here: HTTP responses go out one sendmsg each");
      options_.batch_sends = false;
    }
  }

  // Builds the TLS context when both files are set. Errors: kInvalidArgument naming the
  // option (tls_cert_file / tls_key_file) and the file.
  Status LoadTls() {
    const std::string& cert = options_.tls_cert_file;
    const std::string& key = options_.tls_key_file;
    if (cert.empty() && key.empty()) return Status::Ok();
    if (cert.empty() || key.empty()) {
      return InvalidArgument("tls_cert_file and tls_key_file must be set together");
    }
    auto ctx = BuildTlsContext();
    if (!ctx.ok()) return ctx.status();
    tls_ = std::move(ctx).value();
    tls_enabled_ = true;
    if (options_.metrics != nullptr) {
      tls_failed_ = &options_.metrics->GetCounter(
          "sluice_http_tls_handshake_failures_total",
          "Connections to a TLS listener whose TLS handshake failed (plain HTTP, old TLS "
          "versions, timeouts)");
    }
    return Status::Ok();
  }

  // Re-reads the files; new connections get the new certificate, open ones keep theirs. On
  // error the current certificate stays. Non-shard thread; not after Stop.
  Status ReloadTls() {
    if (!tls_enabled_) return Status::Ok();
    auto ctx = BuildTlsContext();
    if (!ctx.ok()) return ctx.status();
    std::shared_ptr<ssl::context> fresh = std::move(ctx).value();
    runtime::BlockOn(shards_, runtime::ShardId(0), [this, &fresh]() -> Task<bool> {
      tls_ = std::move(fresh);  // tls_ is only touched on shard 0 once serving
      co_return true;
    });
    return Status::Ok();
  }

  // The server context for options_' files: TLS 1.2+, the certificate chain and its key.
  Result<std::shared_ptr<ssl::context>> BuildTlsContext() const {
    const std::string& cert = options_.tls_cert_file;
    const std::string& key = options_.tls_key_file;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    // TLS 1.2 and 1.3 only; no compression, no renegotiation, the server's cipher order.
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE);
    // OpenSSL's own record buffers are freed while a connection is idle (keep-alive, idle
    // WebSockets); Asio's stream keeps its two fixed ~17 KiB buffers regardless.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // Forward-secret AEAD suites only for TLS 1.2 (1.3's are all of that kind).
    SSL_CTX_set_cipher_list(native,
                            "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL");
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert, ec);
    if (ec) return InvalidArgument("tls_cert_file '{}': {}", cert, TlsErrorText(ec));
    ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) return InvalidArgument("tls_key_file '{}': {}", key, TlsErrorText(ec));
    if (SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      return InvalidArgument("tls_key_file '{}' does not match the certificate in '{}'", key,
                             cert);
    }
    return ctx;
  }

  bool tls() const { return tls_enabled_; }

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
        for (ConnBase* c : states_[i].conns) {
          if (!busy_too && c->upgrade != nullptr) {
            c->upgrade->Stop();  // a close frame now; the socket goes with the busy ones
          } else if (busy_too || !c->busy) {
            c->Close();
          }
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
      if (tls_ != nullptr) {
        auto conn = std::make_shared<Conn<TlsStream>>(std::move(sock), tls_);
        shards_.Spawn(runtime::ShardId(shard),
                      [this, conn, shard]() -> Task<void> { co_await Session(conn, shard); });
      } else {
        auto conn = std::make_shared<Conn<tcp::socket>>(std::move(sock));
        shards_.Spawn(runtime::ShardId(shard),
                      [this, conn, shard]() -> Task<void> { co_await Session(conn, shard); });
      }
    }
  }

  static Task<void> Watch(std::shared_ptr<ConnBase> c) {
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

  template <typename Stream>
  Task<void> Session(std::shared_ptr<Conn<Stream>> conn, uint32_t shard) {
    constexpr bool kTls = Conn<Stream>::kTls;
    ShardState& st = states_[shard];
    st.conns.insert(conn.get());
    int64_t active = active_.fetch_add(1) + 1;
    if (active_gauge_ != nullptr) active_gauge_->Add(1);
    if (active > options_.max_connections || stopped_.load()) {
      if (rejected_ != nullptr) rejected_->Inc();
      conn->SetDeadline(1000);
      asio::co_spawn(conn->socket->get_executor(), Watch(conn), asio::detached);
      bool ok = true;
      if constexpr (kTls) ok = co_await Handshake(*conn);
      if (ok) {
        HttpResponse r = HttpResponse::Error(503, "unavailable", "too many connections");
        co_await WriteResponse(*conn, r, 11, false);
      }
    } else {
      boost::system::error_code rec;
      // Each response is one write; do not let Nagle hold it back waiting for an ACK (nginx
      // does the same on keep-alive connections: tcp_nodelay on).
      conn->socket->set_option(tcp::no_delay(true), rec);
      auto ep = conn->socket->remote_endpoint(rec);
      if (!rec) conn->remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
      // The TLS handshake gets the time a request gets.
      conn->SetDeadline(kTls ? options_.request_timeout_ms : options_.idle_timeout_ms);
      asio::co_spawn(conn->socket->get_executor(), Watch(conn), asio::detached);
      bool ok = true;
      if constexpr (kTls) ok = co_await Handshake(*conn);
      if (ok) co_await Serve(*conn, st);
    }
    if constexpr (kTls) {
      // Say goodbye with a close_notify (briefly: a peer that has gone is not waited for).
      if (conn->socket->is_open()) {
        conn->SetDeadline(500);
        boost::system::error_code ec;
        co_await conn->stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    conn->done = true;
    conn->timer.cancel();
    conn->Close();
    st.conns.erase(conn.get());
    if (active_gauge_ != nullptr) active_gauge_->Add(-1);
    active_.fetch_sub(1);
  }

  // The server side of the TLS handshake. A plain HTTP request sent to a TLS listener is
  // answered with a plain 400 saying so, then closed.
  Task<bool> Handshake(Conn<TlsStream>& conn) {
    {
      boost::system::error_code ec;
      co_await conn.stream.async_handshake(ssl::stream_base::server,
                                           asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_return true;
      if (tls_failed_ != nullptr) tls_failed_->Inc();
      Logger().debug("TLS handshake with {} failed: {}", conn.remote, TlsErrorText(ec));
      if (ec.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
        HttpResponse r = HttpResponse::Error(400, "invalid_argument",
                                             "plain HTTP sent to a TLS (https) listener");
        std::string out;
        AppendResponseHead(out, r, 11, /*keep_alive=*/false, r.body.size());
        out.append(r.body);
        co_await asio::async_write(*conn.socket, asio::buffer(out),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return false;
    }
  }

  // Makes room for more bytes in the connection's buffer (compacting or growing it first) and
  // returns where to read them; an empty buffer when it is full and may not grow. Not a
  // coroutine: Serve awaits the read itself, so a read costs no frame of its own.
  static asio::mutable_buffer ReadSpace(ConnBase& conn, size_t max_buffer) {
    std::string& buf = conn.rbuf;
    if (conn.rbegin == conn.rend) {
      conn.rbegin = conn.rend = 0;
    } else if (conn.rend == buf.size() && conn.rbegin > 0) {
      std::memmove(buf.data(), buf.data() + conn.rbegin, conn.rend - conn.rbegin);
      conn.rend -= conn.rbegin;
      conn.rbegin = 0;
    }
    if (conn.rend == buf.size()) {
      // Full of unparsed bytes: grow, up to max_buffer (the parser refuses a head before it
      // needs more than that).
      size_t grown = std::min(buf.size() * 2, max_buffer);
      if (grown <= buf.size()) return asio::mutable_buffer();
      buf.resize(grown);
    }
    return asio::buffer(buf.data() + conn.rend, buf.size() - conn.rend);
  }

  // Reads more bytes into the connection's buffer (see ReadSpace). Returns false on EOF or
  // error (or a full buffer that may not grow).
  template <typename C>
  static Task<bool> ReadMore(C& conn, size_t max_buffer) {
    asio::mutable_buffer space = ReadSpace(conn, max_buffer);
    if (space.size() == 0) co_return false;
    boost::system::error_code ec;
    size_t n = co_await conn.stream.async_read_some(
        space, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) co_return false;
    conn.rend += n;
    co_return true;
  }

  template <typename C>
  Task<void> Serve(C& conn, ShardState& st) {
    HttpRequest req;
    req.remote = conn.remote;
    internal::RequestHead head;
    internal::ParseError perr;
    // 4 KiB holds a typical head (and a few pipelined small requests) and keeps 10,000 idle
    // keep-alive connections near 100 MB; larger heads (up to max_header_bytes) grow it, and
    // bodies beyond what arrived with the head are read straight into the request body.
    conn.rbuf.resize(4 * 1024);
    bool first = true;
    for (;;) {
      conn.SetDeadline(first ? options_.request_timeout_ms : options_.idle_timeout_ms);
      first = false;
      size_t scanned = 0;
      internal::ParseResult pr;
      for (;;) {
        std::string_view avail(conn.rbuf.data() + conn.rbegin, conn.rend - conn.rbegin);
        pr = internal::ParseRequestHead(avail, static_cast<size_t>(options_.max_header_bytes),
                                        scanned, head, perr);
        if (pr != internal::ParseResult::kNeedMore) break;
        if (avail.size() > 0) conn.SetDeadline(options_.request_timeout_ms);
        size_t want = std::max<size_t>(static_cast<size_t>(options_.max_header_bytes) + 1,
                                       conn.rbuf.size());
        asio::mutable_buffer space = ReadSpace(conn, want);
        if (space.size() == 0) co_return;
        boost::system::error_code ec;
        size_t n = co_await conn.stream.async_read_some(
            space, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0) co_return;  // closed (between requests, or mid-head: nothing to answer)
        conn.rend += n;
      }
      if (pr == internal::ParseResult::kError) {
        co_await WriteError(conn, perr, head.version);
        co_return;
      }
      conn.SetDeadline(options_.request_timeout_ms);
      conn.busy = true;
      auto start = SteadyClock::now();
      unsigned version = head.version;
      bool keep_alive = head.keep_alive;

      // Copy the head out of the read buffer (which reading the body may move). The connection's
      // HttpRequest is reused: assigning into its strings keeps their capacity.
      req.method.assign(head.method.data(), head.method.size());
      req.target.assign(head.target.data(), head.target.size());
      // An absolute-form target without a path ("http://h" or "http://h?q") asks for "/".
      if (req.target.empty() || req.target.front() == '?') req.target.insert(0, "/");
      size_t nheaders = 0;
      for (const auto& [hname, hvalue] : head.headers) {
        if (nheaders == req.headers.size()) req.headers.emplace_back();
        auto& [name, value] = req.headers[nheaders++];
        name.resize(hname.size());
        for (size_t i = 0; i < hname.size(); ++i) {
          char c = hname[i];
          name[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        }
        value.assign(hvalue.data(), hvalue.size());
      }
      req.headers.resize(nheaders);
      conn.rbegin += head.size;
      const bool expect_continue = head.expect_continue;
      const bool chunked = head.chunked;
      const uint64_t content_length = head.content_length;

      req.body.clear();
      if (!chunked && content_length > static_cast<uint64_t>(options_.max_body_bytes)) {
        HttpResponse r = HttpResponse::Error(
            413, "resource_exhausted",
            fmt::format("request body of {} bytes exceeds the limit of {} bytes", content_length,
                        options_.max_body_bytes));
        Record(st, "unmatched", req.method, 413, start);
        co_await WriteResponse(conn, r, version, false, req.method == "HEAD");
        co_return;
      }
      const size_t buffered = conn.rend - conn.rbegin;
      if (expect_continue && (chunked || buffered < content_length)) {
        // curl sends this for bodies over 1 KiB and otherwise waits a second before sending.
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        boost::system::error_code ec;
        co_await asio::async_write(conn.stream, asio::buffer(kContinue),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      if (chunked) {
        internal::ChunkedDecoder decoder(static_cast<uint64_t>(options_.max_body_bytes));
        for (;;) {
          size_t used = 0;
          std::string_view avail(conn.rbuf.data() + conn.rbegin, conn.rend - conn.rbegin);
          auto r = decoder.Feed(avail, req.body, used, perr);
          conn.rbegin += used;
          if (r == internal::ParseResult::kDone) break;
          if (r == internal::ParseResult::kError) {
            co_await WriteError(conn, perr, version);
            co_return;
          }
          bool ok = co_await ReadMore(conn, conn.rbuf.size());
          if (!ok) co_return;
        }
      } else if (content_length > 0) {
        // Usually the whole body came with the head: take it from the buffer; read the rest
        // straight into the body.
        size_t have = std::min<size_t>(buffered, content_length);
        req.body.assign(conn.rbuf.data() + conn.rbegin, have);
        conn.rbegin += have;
        if (have < content_length) {
          req.body.resize(content_length);
          boost::system::error_code ec;
          co_await asio::async_read(
              conn.stream, asio::buffer(req.body.data() + have, content_length - have),
              asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
        }
      }
      if (conn.rbegin == conn.rend) conn.rbegin = conn.rend = 0;
      req.query.clear();
      Status target_ok = ParseTarget(req);

      conn.ClearDeadline();  // handlers bound their own time (long-poll wait_ms)
      std::string route;
      HttpResponse resp;
      if (!target_ok.ok()) {
        route = "unmatched";  // the metrics' label for requests no route took
        resp = router_.FormatError(400, "invalid_argument", target_ok.message());
      } else if (const Handler* handler = Route(req, route, resp)) {
        // Awaited here rather than in a helper coroutine: one frame less per request.
        try {
          resp = co_await (*handler)(req);
        } catch (const std::exception& e) {
          Logger().error("handler for {} {} threw: {}", req.method, req.path, e.what());
          resp = router_.FormatError(500, "internal", "internal error");
        }
      }
      // Every answer names the request it answers when the client gave it an id.
      auto rid = req.Header("x-request-id");
      if (!rid.empty() && rid.size() <= 200) {
        resp.headers.emplace_back("X-Request-Id", std::string(rid));
      }
      // Server-side failures are logged with what lets an operator find the request and its
      // trace (client errors are the client's to read in the answer; 503 is backpressure, counted
      // in the metrics, and would flood the log exactly when the server is busiest).
      if (resp.status >= 500 && resp.status != 503) {
        Logger().warn("{} {} answered {} (route {}, request id '{}', traceparent '{}', peer {}): {}",
                      req.method, req.path, resp.status, route, rid.substr(0, 200),
                      req.Header("traceparent").substr(0, 64), req.remote,
                      std::string_view(resp.body).substr(0, 300));
      }
      Record(st, route, req.method, resp.status, start);
      if (resp.upgrade != nullptr) {
        auto upgrade = std::move(resp.upgrade);
        req = HttpRequest();  // the handler kept what it needs; free the rest meanwhile
        resp = HttpResponse();
        co_await RunUpgrade(conn, std::move(upgrade));
        co_return;
      }
      if (stopped_.load()) keep_alive = false;
      conn.SetDeadline(options_.request_timeout_ms);
      const bool head_only = req.method == "HEAD";
      size_t sent = 0;
      if constexpr (C::kTls) {
        sent = StartResponse(conn, resp, version, keep_alive, head_only);
      } else {
        if (!st.sends_checked) {
          st.sends_checked = true;
          if (options_.batch_sends) st.sends = internal::SendBatcher::Create();
        }
        if (st.sends == nullptr) {
          sent = StartResponse(conn, resp, version, keep_alive, head_only);
        } else {
          // Queued with the rest of this turn's responses; this coroutine resumes once the
          // batch is sent (see SendBatcher).
          conn.head.clear();
          AppendResponseHead(conn.head, resp, version, keep_alive, resp.body.size());
          std::array<iovec, 2> iov = {
              iovec{conn.head.data(), conn.head.size()},
              iovec{resp.body.data(), head_only ? 0 : resp.body.size()}};
          internal::SendBatcher::Send send;
          send.fd = conn.socket->native_handle();
          send.msg.msg_iov = iov.data();
          send.msg.msg_iovlen = iov[1].iov_len == 0 ? 1 : 2;
          auto ex = co_await asio::this_coro::executor;  // named: see the GCC 12 rule in runtime/
          // The shard's state (and its batcher) outlives every connection coroutine of the shard.
          internal::SendBatcher* batcher = st.sends.get();
          conn.queued_send = &send;
          batcher->Queue(&send, ex);
          while (!send.done) co_await batcher->flushed().Wait();
          conn.queued_send = nullptr;
          sent = send.result > 0 ? static_cast<size_t>(send.result) : 0;
        }
      }
      bool ok = sent == conn.head.size() + (head_only ? 0 : resp.body.size()) ||
                co_await FinishResponse(conn, resp, head_only, sent);
      conn.busy = false;
      if (!ok || !keep_alive) co_return;
    }
  }

  // Hands the connection to a route's upgrade until it ends. The HTTP buffers are released
  // first: an upgraded connection (an idle WebSocket) should cost little memory.
  template <typename C>
  Task<void> RunUpgrade(C& conn, std::shared_ptr<ConnectionUpgrade> upgrade) {
    conn.buffered.assign(conn.rbuf.data() + conn.rbegin, conn.rend - conn.rbegin);
    std::string().swap(conn.rbuf);
    std::string().swap(conn.head);
    conn.rbegin = conn.rend = 0;
    conn.busy = false;
    conn.ClearDeadline();
    if (stopped_.load()) co_return;
    conn.upgrade = upgrade.get();
    co_await upgrade->Run(conn);
    conn.upgrade = nullptr;
  }

  // Answers a request the parser refused, then the connection closes.
  template <typename C>
  Task<void> WriteError(C& conn, const internal::ParseError& e, unsigned version) {
    std::string_view code = e.status == 413 || e.status == 431 ? "resource_exhausted"
                            : e.status == 501 || e.status == 505 ? "unimplemented"
                                                                 : "invalid_argument";
    HttpResponse r = HttpResponse::Error(
        e.status, code, e.status == 400 ? "bad HTTP request: " + e.message : e.message);
    co_await WriteResponse(conn, r, version, false);
  }

  // Finds the request's route and runs its access rule. Returns the handler to await, or null
  // with `resp` set (404, 405, 401, 403). `route` receives the route's metrics name.
  const Handler* Route(HttpRequest& req, std::string& route, HttpResponse& resp) {
    Router::Match m = router_.Find(req);
    route = m.route;
    if (m.handler == nullptr) {
      if (m.path_matched) {
        resp = router_.FormatError(
            405, "invalid_argument",
            fmt::format("method {} not allowed on {}; allowed: {}", req.method, req.path,
                        m.allowed));
        resp.headers.emplace_back("Allow", m.allowed);
        return nullptr;
      }
      resp = router_.FormatError(404, "not_found",
                                 fmt::format("no route for {} {}", req.method, req.path));
      return nullptr;
    }
    req.principal.reset();
    req.security = router_.security();
    if (auto refused = router_.Admit(req, m)) {
      resp = std::move(*refused);
      return nullptr;
    }
    return m.handler;
  }

  // Builds the response head in the connection's reused buffer. On a plain socket it also
  // sends head and body at once with one non-blocking sendmsg, which nearly always takes all of
  // a small response: then no asynchronous write (its coroutine frame, operation and trip
  // through the event loop) is needed. Returns the bytes sent (0 on TLS, EAGAIN or error;
  // FinishResponse then writes the rest, or meets the error again and reports it).
  template <typename C>
  static size_t StartResponse(C& conn, const HttpResponse& r, unsigned version, bool keep_alive,
                              bool head_only) {
    conn.head.clear();
    AppendResponseHead(conn.head, r, version, keep_alive, r.body.size());
    if constexpr (C::kTls) {
      return 0;
    } else {
      std::array<iovec, 2> iov = {
          iovec{conn.head.data(), conn.head.size()},
          iovec{const_cast<char*>(r.body.data()), head_only ? 0 : r.body.size()}};
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = iov[1].iov_len == 0 ? 1 : 2;
      ssize_t n = ::sendmsg(conn.socket->native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      return n < 0 ? 0 : static_cast<size_t>(n);
    }
  }

  // Writes what StartResponse did not send (`sent` bytes of head + body went already).
  template <typename C>
  static Task<bool> FinishResponse(C& conn, const HttpResponse& r, bool head_only, size_t sent) {
    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(conn.head), head_only ? asio::const_buffer() : asio::buffer(r.body)};
    if (sent >= buffers[0].size()) {
      buffers[1] += sent - buffers[0].size();
      buffers[0] = asio::const_buffer();
    } else {
      buffers[0] += sent;
    }
    boost::system::error_code ec;
    co_await asio::async_write(conn.stream, buffers,
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  // Writes the head (built in the connection's reused buffer) and the body.
  template <typename C>
  Task<bool> WriteResponse(C& conn, const HttpResponse& r, unsigned version, bool keep_alive,
                           bool head = false) {
    const size_t sent = StartResponse(conn, r, version, keep_alive, head);
    if (sent == conn.head.size() + (head ? 0 : r.body.size())) co_return true;
    co_return co_await FinishResponse(conn, r, head, sent);
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
  // The current TLS context (shard 0: the acceptor's); connections share it so a reload does
  // not pull it from under them.
  std::shared_ptr<ssl::context> tls_;
  bool tls_enabled_ = false;  // set once by LoadTls
  metrics::Counter* tls_failed_ = nullptr;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Router router,
                                                      runtime::Shards& shards) {
  auto impl = std::make_unique<HttpServerImpl>(std::move(options), std::move(router), shards);
  SLUICE_RETURN_IF_ERROR(impl->LoadTls());
  SLUICE_RETURN_IF_ERROR(impl->Bind());
  impl->StartAccepting();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<HttpServerImpl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
bool HttpServer::tls() const { return impl_->tls(); }
Status HttpServer::ReloadTls() { return impl_->ReloadTls(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace sluice::gateway
