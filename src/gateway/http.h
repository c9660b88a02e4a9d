// Transport-neutral HTTP request/response types used by routes, so handlers (and the components
// that register them) never include Boost.Beast.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sluice::gateway {

struct Principal;
class Security;
class ConnectionUpgrade;  // gateway/upgrade.h

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target ("/v1/topics?x=1")
  std::string path;    // percent-decoded path without the query
  std::map<std::string, std::string> query;        // decoded; last one wins
  // Names lower-cased, in arrival order; Header() returns the last of repeated names.
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string, std::less<>> path_params;  // filled by the router
  std::string body;
  std::string remote;  // "ip:port" of the peer
  // Set by the router once the route's access rule passed (null while auth is off).
  std::shared_ptr<const Principal> principal;
  const Security* security = nullptr;  // the listener's, for checks inside handlers

  // The router's per-connection memory of the last credentials and decision (a request object
  // lives as long as its connection, and a connection nearly always repeats its credentials), so
  // a keep-alive client pays neither the principal cache nor the decision cache per request.
  struct AuthMemo {
    std::string authorization, api_key;  // the credentials last presented
    std::shared_ptr<const Principal> principal;
    uint64_t generation = 0;   // Security::generation() it was computed under
    int64_t valid_until_s = 0;
    std::string resource;      // last resource authorised ...
    uint32_t allowed_actions = 0;  // ... and the route's action mask that passed
  } auth_memo;

  // Header value or "" (name lower-case).
  std::string_view Header(std::string_view name) const;
  // Query parameter or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  const std::string& Param(const std::string& name) const { return path_params.at(name); }
  // Media type of Content-Type, lower-cased, without parameters ("application/json").
  std::string MediaType() const;
  // The same without allocating when the header is already lower-case (the usual case): a view
  // of the header, or of `scratch` holding the lower-cased copy. Valid while both live unchanged.
  std::string_view MediaType(std::string& scratch) const;
};

struct HttpResponse {
  int status = 200;
  // Always a constant (a literal or a static string): responses do not own it, so building
  // one costs no allocation for it (every route answers with a fixed media type).
  std::string_view content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set to take the connection over (WebSocket): the server then writes nothing itself and
  // hands the socket to upgrade->Run on the connection's shard (see gateway/upgrade.h).
  // `status` is only what the request metrics record (101).
  std::shared_ptr<ConnectionUpgrade> upgrade;

  static HttpResponse Json(int status, std::string body);
  // {"error_code": ErrorCodeName(code), "message": ...} with ErrorCodeToHttp(code).
  static HttpResponse Error(const Status& status);
  // As above with an explicit HTTP status (e.g. 415, 405, 411 that have no ErrorCode of their own).
  static HttpResponse Error(int http_status, std::string_view error_code, std::string_view message);
};

// Decodes %XX escapes (and '+' as space when plus_as_space). Errors: malformed escapes.
Result<std::string> PercentDecode(std::string_view s, bool plus_as_space);
std::string PercentEncode(std::string_view s);

}  // namespace sluice::gateway
