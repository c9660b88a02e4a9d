// HttpClient: a small blocking HTTP/1.1 (or HTTPS) client with keep-alive and timeouts, used by
// the CLI and the end-to-end tests to talk to a running `sluice serve`. Beast and OpenSSL stay
// inside http_client.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sluice::gateway {

struct HttpClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // Value of a header (lower-case name) or "".
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

class HttpClientImpl;

struct HttpClientOptions {
  // For https:// URLs: PEM file of the CA certificates to trust; empty trusts the system's.
  // The server's certificate must also match the URL's host (name or IP address).
  std::string ca_file;
};

// Not thread-safe: one client per thread. Reuses one connection while the server keeps it open.
class HttpClient {
 public:
  // base_url: "http://host:port" or "https://host:port" (TLS 1.2+, the server's certificate
  // verified); a trailing slash is ignored. Errors: kInvalidArgument for a malformed URL or an
  // unreadable CA file.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url,
                                                    const HttpClientOptions& options = {});
  ~HttpClient();

  // Sends one request and reads the whole response. target is "/path?query".
  // Non-2xx statuses are returned as responses, not errors. Errors: kUnavailable (cannot
  // connect, TLS handshake or certificate check failed, connection lost), kDeadlineExceeded (no complete response within timeout_ms).
  // GET/HEAD/DELETE are retried once on a fresh connection when a reused connection turns out
  // to be closed; POST/PATCH never are (the server may have acted on them).
  Result<HttpClientResponse> Request(std::string_view method, std::string_view target,
                                     std::string_view body = {},
                                     std::string_view content_type = "application/json",
                                     int64_t timeout_ms = 30000);

  // A header sent with every request (e.g. "Authorization", "Bearer ..."); replaces a previous
  // value of the same name.
  void SetHeader(std::string name, std::string value);
  void RemoveHeader(const std::string& name);

  // Drops the current connection (the next request reconnects).
  void Disconnect();
  const std::string& base_url() const;

 private:
  explicit HttpClient(std::unique_ptr<HttpClientImpl> impl);
  std::unique_ptr<HttpClientImpl> impl_;
};

}  // namespace sluice::gateway
