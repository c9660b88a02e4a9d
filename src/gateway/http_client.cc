// HttpClient on Beast: each call runs its own io_context until the exchange completes;
// timeouts come from beast::tcp_stream's expiry.
#include "gateway/http_client.h"

#include <utility>

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <map>
#include <optional>

namespace sluice::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HttpClientImpl {
 public:
  std::map<std::string, std::string> headers_;

  HttpClientImpl(std::string base_url, std::string host, std::string port)
      : base_url_(std::move(base_url)), host_(std::move(host)), port_(std::move(port)) {}

  Result<HttpClientResponse> Request(std::string_view method, std::string_view target,
                                     std::string_view body, std::string_view content_type,
                                     int64_t timeout_ms) {
    bool idempotent = method == "GET" || method == "HEAD" || method == "DELETE";
    // A connection idle for long may have been closed by the server's idle timeout.
    if (stream_ && std::chrono::steady_clock::now() - last_used_ > std::chrono::seconds(20)) {
      Disconnect();
    }
    bool reused = stream_.has_value();
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
    if (stream_) {
      boost::system::error_code ec;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_->close();
    }
    stream_.reset();
    buffer_.clear();
  }

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
    if (!stream_) {
      tcp::resolver resolver(ctx_);
      auto results = co_await resolver.async_resolve(
          host_, port_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Unavailable("cannot resolve {}: {}", host_, ec.message());
      stream_.emplace(ctx_);
      stream_->expires_after(timeout);
      co_await stream_->async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return Unavailable("cannot connect to {}: {}", base_url_, ec.message());
      }
      stream_->socket().set_option(tcp::no_delay(true), ec);
    }
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
    stream_->expires_after(timeout);
    co_await http::async_write(*stream_, req, asio::redirect_error(asio::use_awaitable, ec));
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
    co_await http::async_read(*stream_, buffer_, parser,
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
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url) {
  std::string_view u = base_url;
  if (u.substr(0, 7) != "http://") {
    return InvalidArgument("server URL '{}' must start with http://", base_url);
  }
  u.remove_prefix(7);
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  if (u.find('/') != std::string_view::npos) {
    return InvalidArgument("server URL '{}' must not have a path", base_url);
  }
  std::string host, port = "80";
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
  return std::unique_ptr<HttpClient>(new HttpClient(std::make_unique<HttpClientImpl>(
      "http://" + std::string(u), std::move(host), std::move(port))));
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
