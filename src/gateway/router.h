// Router: maps (method, path pattern) to a handler. Patterns are literal segments and `{name}`
// parameters ("/v1/topics/{topic}/events"); a parameter matches one non-empty segment.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gateway/http.h"
#include "runtime/asio.h"

namespace sluice::gateway {

using Handler = std::function<Task<HttpResponse>(HttpRequest&)>;

// Built once before the server starts, then read-only (shared by all shards).
class Router {
 public:
  // `name` labels metrics (e.g. "produce"); defaults to the pattern.
  void Add(std::string method, std::string pattern, Handler handler, std::string name = "");

  struct Match {
    const Handler* handler = nullptr;  // null: no route
    std::string route;                 // route name for metrics ("unmatched" when none)
    bool path_matched = false;         // path known but method not allowed (405)
    std::string allowed;               // "GET, POST" for 405 responses
  };
  // Finds the route for req.method/req.path and fills req.path_params (percent-decoded).
  Match Find(HttpRequest& req) const;

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
  };
  std::vector<Route> routes_;
  ErrorFormatter error_formatter_;
};

}  // namespace sluice::gateway
