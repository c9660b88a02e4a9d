// HttpClient on Beast: each call runs its own io_context until the exchange completes;
// timeouts come from beast::tcp_stream's expiry.
#include "gateway/http_client.h"

#include <utility>

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <map>
#include <optional>

namespace sluice::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class HttpClientImpl {
 public:
  std::map<std::string, std::string> headers_;

  HttpClientImpl(std::string base_url, std::string host, std::string port,
                 std::unique_ptr<ssl::context> tls)
      : base_url_(std::move(base_url)),
        host_(std::move(host)),
        port_(std::move(port)),
        tls_(std::move(tls)) {}

  Result<HttpClientResponse> Request(std::string_view method, std::string_view target,
                                     std::string_view body, std::string_view content_type,
                                     int64_t timeout_ms) {
    bool idempotent = method == "GET" || method == "HEAD" || method == "DELETE";
    // A connection idle for long may have been closed by the server's idle timeout.
    if (connected() &&
        std::chrono::steady_clock::now() - last_used_ > std::chrono::seconds(20)) {
      Disconnect();
    }
    bool reused = connected();
    auto r = Once(method, target, body, content_type, timeout_ms);
    if (!r.ok() && reused && idempotent && r.status().code() == ErrorCode::kUnavailable) {
      Disconnect();
      r = Once(method, target, body, content_type, timeout_ms);
    }
    if (!r.ok()) Disconnect();
    last_used_ = std::chrono::steady_clock::now();
    return r;
  }

  void Disconnect() {
    beast::tcp_stream* conn = stream_       ? &*stream_
                              : tls_stream_ ? &tls_stream_->next_layer()
                                            : nullptr;
    if (conn != nullptr) {
      boost::system::error_code ec;
      conn->socket().shutdown(tcp::socket::shutdown_both, ec);
      conn->close();
    }
    stream_.reset();
    tls_stream_.reset();
    buffer_.clear();
  }

  bool connected() const { return stream_.has_value() || tls_stream_.has_value(); }

  const std::string& base_url() const { return base_url_; }

 private:
  Result<HttpClientResponse> Once(std::string_view method, std::string_view target,
                                  std::string_view body, std::string_view content_type,
                                  int64_t timeout_ms) {
    Result<HttpClientResponse> out;
    ctx_.restart();
    asio::co_spawn(
        ctx_, Exchange(std::string(method), std::string(target), std::string(body),
                       std::string(content_type), timeout_ms),
        [&](std::exception_ptr e, Result<HttpClientResponse> r) {
          out = e ? Result<HttpClientResponse>(Internal("exception in HTTP client"))
                  : std::move(r);
        });
    ctx_.run();
    return out;
  }

  Task<Result<HttpClientResponse>> Exchange(std::string method, std::string target,
                                            std::string body, std::string content_type,
                                            int64_t timeout_ms) {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    boost::system::error_code ec;
    if (!connected()) {
      tcp::resolver resolver(ctx_);
      auto results = co_await resolver.async_resolve(
          host_, port_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Unavailable("cannot resolve {}: {}", host_, ec.message());
      beast::tcp_stream* conn = nullptr;
      if (tls_ != nullptr) {
        conn = &tls_stream_.emplace(ctx_, *tls_).next_layer();
      } else {
        conn = &stream_.emplace(ctx_);
      }
      conn->expires_after(timeout);
      co_await conn->async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return Unavailable("cannot connect to {}: {}", base_url_, ec.message());
      }
      conn->socket().set_option(tcp::no_delay(true), ec);
      if (tls_ != nullptr) {
        // SNI (for names only) and the check that the certificate is for host_.
        SSL* ssl = tls_stream_->native_handle();
        boost::system::error_code addr_ec;
        asio::ip::make_address(host_, addr_ec);
        if (addr_ec) {
          SSL_set_tlsext_host_name(ssl, host_.c_str());
          SSL_set1_host(ssl, host_.c_str());
        } else {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
        }
        co_await tls_stream_->async_handshake(ssl::stream_base::client,
                                              asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          co_return Unavailable("TLS handshake with {} failed: {}", base_url_, ec.message());
        }
      }
    }
    if (tls_stream_) {
      co_return co_await ExchangeOn(*tls_stream_, method, target, body, content_type, timeout_ms);
    }
    co_return co_await ExchangeOn(*stream_, method, target, body, content_type, timeout_ms);
  }

  // One request and its response on an open connection.
  template <typename Stream>
  Task<Result<HttpClientResponse>> ExchangeOn(Stream& stream, std::string& method,
                                            std::string& target, std::string& body,
                                            std::string& content_type, int64_t timeout_ms) {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    boost::system::error_code ec;
    http::request<http::string_body> req;
    auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) co_return InvalidArgument("unknown method {}", method);
    req.method(verb);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host_ + ":" + port_);
    req.set(http::field::user_agent, "sluice-cli");
    for (const auto& [name, value] : headers_) req.set(name, value);
    req.keep_alive(true);
    if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
      req.set(http::field::content_type, content_type);
      req.body() = std::move(body);
      req.prepare_payload();
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    // A server may answer before reading the whole body (413) and close: the answer is still
    // in our receive buffer, so read it before reporting the failed write.
    const boost::system::error_code write_ec = ec;
    const bool early_answer_possible =
        ec == asio::error::broken_pipe || ec == asio::error::connection_reset;
    if (ec && !early_answer_possible) {
      co_return Unavailable("connection to {} lost: {}", base_url_, ec.message());
    }
    ec = {};
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 32);
    co_await http::async_read(stream, buffer_, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) {
      co_return Status(ErrorCode::kDeadlineExceeded,
                       fmt::format("no response from {} within {} ms", base_url_, timeout_ms));
    }
    if (ec && write_ec) {
      Disconnect();
      co_return Unavailable("connection to {} lost: {}", base_url_, write_ec.message());
    }
    if (ec) co_return Unavailable("connection to {} lost: {}", base_url_, ec.message());
    auto res = parser.release();
    if (write_ec) Disconnect();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    if (!res.keep_alive()) Disconnect();
    co_return out;
  }

  std::string base_url_, host_, port_;
  asio::io_context ctx_;
  std::unique_ptr<ssl::context> tls_;  // set for https:// URLs
  std::optional<beast::tcp_stream> stream_;         // the connection, plain
  std::optional<TlsStream> tls_stream_;             // or over TLS
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url,
                                                      const HttpClientOptions& options) {
  std::string_view u = base_url;
  const bool https = u.starts_with("https://");
  if (!https && !u.starts_with("http://")) {
    return InvalidArgument("server URL '{}' must start with http:// or https://", base_url);
  }
  u.remove_prefix(https ? 8 : 7);
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  if (u.find('/') != std::string_view::npos) {
    return InvalidArgument("server URL '{}' must not have a path", base_url);
  }
  std::string host, port = https ? "443" : "80";
  if (!u.empty() && u.front() == '[') {
    auto close = u.find(']');
    if (close == std::string_view::npos) return InvalidArgument("bad server URL '{}'", base_url);
    host = std::string(u.substr(1, close - 1));
    if (close + 1 < u.size() && u[close + 1] == ':') port = std::string(u.substr(close + 2));
  } else {
    auto colon = u.rfind(':');
    host = std::string(u.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(u.substr(colon + 1));
  }
  if (host.empty() || port.empty()) return InvalidArgument("bad server URL '{}'", base_url);
  std::unique_ptr<ssl::context> tls;
  if (https) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (options.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return InvalidArgument("cannot load CA certificates{}: {}",
                             options.ca_file.empty() ? "" : " from '" + options.ca_file + "'",
                             ec.message());
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::make_unique<HttpClientImpl>(
      (https ? "https://" : "http://") + std::string(u), std::move(host), std::move(port),
      std::move(tls))));
}

HttpClient::HttpClient(std::unique_ptr<HttpClientImpl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;
Result<HttpClientResponse> HttpClient::Request(std::string_view method, std::string_view target,
                                               std::string_view body,
                                               std::string_view content_type,
                                               int64_t timeout_ms) {
  return impl_->Request(method, target, body, content_type, timeout_ms);
}
void HttpClient::SetHeader(std::string name, std::string value) {
  impl_->headers_[std::move(name)] = std::move(value);
}

void HttpClient::RemoveHeader(const std::string& name) { impl_->headers_.erase(name); }

void HttpClient::Disconnect() { impl_->Disconnect(); }
const std::string& HttpClient::base_url() const { return impl_->base_url(); }

}  // namespace sluice::gateway
