// Router: maps (method, path pattern) to a handler. Patterns are literal segments and `{name}`
// parameters ("/v1/topics/{topic}/events"); a parameter matches one non-empty segment.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/rbac/action.h"
#include "gateway/http.h"
#include "runtime/asio.h"

namespace sluice::gateway {

using Handler = std::function<Task<HttpResponse>(HttpRequest&)>;

class Security;

// Who may call a route once auth is on (ignored while it is off).
struct RouteAccess {
  enum class Kind {
    kOpen,           // no credentials needed (health probes)
    kAuthenticated,  // any authenticated principal; the handler may check more
    kResource,       // one of `actions` on the resource(s) below
  };
  Kind kind = Kind::kAuthenticated;
  uint32_t actions = 0;  // auth_rbac::ActionBit(...) | ...: any one of them suffices
  // "topic:{topic}": {name} is replaced by the (decoded) path parameter.
  std::string resource;
  // Or computed from the request (any one allowed suffices); used when not empty.
  std::function<std::vector<std::string>(const HttpRequest&)> resources;

  static RouteAccess Open() { return {Kind::kOpen}; }
  static RouteAccess Authenticated() { return {Kind::kAuthenticated}; }
  static RouteAccess On(std::string resource, std::initializer_list<auth_rbac::Action> actions) {
    RouteAccess a{Kind::kResource};
    for (auto act : actions) a.actions |= auth_rbac::ActionBit(act);
    a.resource = std::move(resource);
    return a;
  }
};

// Built once before the server starts, then read-only (shared by all shards).
// For handlers whose resource is not in the path (a topic named in the body): OK when auth is
// off or req.principal may do `action` on `resource`; else kPermissionDenied/kUnauthenticated.
Status Authorize(const HttpRequest& req, auth_rbac::Action action, std::string_view resource);

class Router {
 public:
  // `name` labels metrics (e.g. "produce"); defaults to the pattern.
  // `access` applies once a Security with auth enabled is set (SetSecurity).
  void Add(std::string method, std::string pattern, Handler handler, std::string name = "",
           RouteAccess access = RouteAccess::Authenticated());

  struct Match {
    const Handler* handler = nullptr;  // null: no route
    std::string route;                 // route name for metrics ("unmatched" when none)
    bool path_matched = false;         // path known but method not allowed (405)
    std::string allowed;               // "GET, HEAD, POST" for 405 responses
    const RouteAccess* access = nullptr;
  };
  // Finds the route for req.method/req.path and fills req.path_params (percent-decoded). A HEAD
  // request takes the GET route of its path (the server then sends no body).
  Match Find(HttpRequest& req) const;

  // Authentication and authorization for every route of this router (null or disabled: off).
  // The Security outlives the server.
  void SetSecurity(const Security* security) { security_ = security; }
  const Security* security() const { return security_; }
  // Runs the route's access rule: fills req.principal, or returns the 401/403 response.
  std::optional<HttpResponse> Admit(HttpRequest& req, const Match& m) const;

  // How the server words its own errors for this router's listener (404 no route, 405 wrong
  // method): the registry answers with numeric codes, Sluice's API with names. Default:
  // HttpResponse::Error(status, name, message).
  using ErrorFormatter =
      std::function<HttpResponse(int status, std::string_view code, std::string_view message)>;
  void SetErrorFormatter(ErrorFormatter f) { error_formatter_ = std::move(f); }
  HttpResponse FormatError(int status, std::string_view code, std::string_view message) const {
    return error_formatter_ ? error_formatter_(status, code, message)
                            : HttpResponse::Error(status, code, message);
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    Handler handler;
    std::string name;
    RouteAccess access;
  };
  std::vector<Route> routes_;
  ErrorFormatter error_formatter_;
  const Security* security_ = nullptr;
};

}  // namespace sluice::gateway
