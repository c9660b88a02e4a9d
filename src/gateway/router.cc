// Router: linear match over a handful of routes (fast enough for < 50 routes).
#include "gateway/router.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.h"
#include "gateway/security.h"

namespace sluice::gateway {

namespace {
bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

void Split(std::string_view path, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
}
}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, std::string name,
                 RouteAccess access) {
  Route r;
  r.method = std::move(method);
  std::vector<std::string_view> segs;
  Split(pattern, segs);
  for (auto s : segs) r.segments.emplace_back(s);
  r.handler = std::move(handler);
  r.name = name.empty() ? pattern : std::move(name);
  r.access = std::move(access);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(HttpRequest& req) const {
  Match m;
  m.route = "unmatched";
  // Match on the raw path so an encoded '/' inside a parameter (a registry subject such as
  // "a%2Fb") stays inside it; parameters are percent-decoded below.
  std::string_view raw = req.target;
  raw = raw.substr(0, raw.find('?'));
  // Per-thread scratch: Find runs on shard threads, never re-entered, and a request should not
  // pay an allocation for splitting its path.
  thread_local std::vector<std::string_view> segs;
  Split(raw, segs);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    // Literal segments first, so parameters are only copied for the route that matches.
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& p = r.segments[i];
      ok = IsParam(p) || p == segs[i];
    }
    if (!ok) continue;
    // HEAD is a GET without the body (RFC 9110 §9.3.2: a general-purpose server supports it
    // wherever it supports GET): a GET route answers it, and the server sends the GET's head,
    // Content-Length included, and no body.
    if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD")) {
      m.path_matched = true;
      if (!m.allowed.empty()) m.allowed += ", ";
      m.allowed += r.method;
      if (r.method == "GET") m.allowed += ", HEAD";
      continue;
    }
    // A keep-alive connection mostly repeats its route: keep the map's nodes (and the
    // strings' capacity) when the parameter names are the same as last time.
    size_t params = 0;
    for (const auto& p : r.segments) params += IsParam(p) ? 1 : 0;
    bool same_names = req.path_params.size() == params;
    for (size_t i = 0; i < segs.size() && same_names; ++i) {
      const auto& p = r.segments[i];
      if (!IsParam(p)) continue;
      same_names = req.path_params.count(std::string_view(p).substr(1, p.size() - 2)) == 1;
    }
    if (!same_names) req.path_params.clear();
    for (size_t i = 0; i < segs.size(); ++i) {
      const auto& p = r.segments[i];
      if (!IsParam(p)) continue;
      std::string_view name = std::string_view(p).substr(1, p.size() - 2);
      auto it = req.path_params.find(name);
      if (it == req.path_params.end()) it = req.path_params.emplace(std::string(name), "").first;
      if (segs[i].find('%') == std::string_view::npos) {
        it->second.assign(segs[i]);
      } else {
        auto decoded = PercentDecode(segs[i], false);
        it->second = decoded.ok() ? std::move(decoded).value() : std::string(segs[i]);
      }
    }
    m.handler = &r.handler;
    m.route = r.name;
    m.access = &r.access;
    return m;
  }
  req.path_params.clear();
  return m;
}

namespace {
// "topic:{topic}" with {topic} replaced by the path parameter.
std::string ExpandResource(const std::string& pattern, const HttpRequest& req) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find('{', i);
    if (open == std::string::npos) break;
    size_t close = pattern.find('}', open);
    if (close == std::string::npos) break;
    out.append(pattern, i, open - i);
    auto it = req.path_params.find(pattern.substr(open + 1, close - open - 1));
    if (it != req.path_params.end()) out += it->second;
    i = close + 1;
  }
  out.append(pattern, i);
  return out;
}
}  // namespace

std::optional<HttpResponse> Router::Admit(HttpRequest& req, const Match& m) const {
  if (security_ == nullptr || !security_->enabled() || m.access == nullptr ||
      m.access->kind == RouteAccess::Kind::kOpen) {
    return std::nullopt;
  }
  const std::string_view authorization = req.Header("authorization");
  const std::string_view api_key = req.Header("x-api-key");
  const int64_t now_s = WallClockSeconds();
  const uint64_t generation = security_->generation();
  auto& memo = req.auth_memo;
  const bool same_credentials = memo.principal && memo.generation == generation &&
                                now_s < memo.valid_until_s && memo.authorization == authorization &&
                                memo.api_key == api_key;
  if (same_credentials) {
    req.principal = memo.principal;
  } else {
    auto p = security_->Authenticate(authorization, api_key, now_s);
    if (!p.ok()) {
      memo.principal.reset();
      HttpResponse r = FormatError(401, "unauthenticated", p.status().message());
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"sluice\", Basic realm=\"sluice\"");
      return r;
    }
    req.principal = std::move(p).value();
    memo.principal = req.principal;
    memo.authorization.assign(authorization);
    memo.api_key.assign(api_key);
    memo.generation = generation;
    memo.valid_until_s = std::min(req.principal->expires_at_s, now_s + 60);
    memo.resource.clear();
    memo.allowed_actions = 0;
  }
  if (m.access->kind != RouteAccess::Kind::kResource) return std::nullopt;
  // One resource from the path (no vector on this, the common path), or several computed.
  std::string one;
  std::vector<std::string> several;
  if (m.access->resources) {
    several = m.access->resources(req);
  } else {
    one = ExpandResource(m.access->resource, req);
    // The same route on the same resource as last time on this connection: already allowed.
    if (memo.allowed_actions == m.access->actions && memo.resource == one) return std::nullopt;
  }
  Status first;
  auto try_resource = [&](const std::string& res) {
    for (int a = 0; a < auth_rbac::kActionCount; ++a) {
      auto action = static_cast<auth_rbac::Action>(a);
      if ((m.access->actions & auth_rbac::ActionBit(action)) == 0) continue;
      Status st = security_->Authorize(*req.principal, action, res);
      if (st.ok()) return true;
      if (first.ok()) first = std::move(st);
    }
    return false;
  };
  if (!m.access->resources) {
    if (try_resource(one)) {
      memo.resource = std::move(one);
      memo.allowed_actions = m.access->actions;
      return std::nullopt;
    }
  } else {
    for (const auto& res : several) {
      if (try_resource(res)) return std::nullopt;
    }
  }
  if (first.ok()) first = PermissionDenied("principal '{}' may not do this", req.principal->name);
  return FormatError(403, "permission_denied", first.message());
}

Status Authorize(const HttpRequest& req, auth_rbac::Action action, std::string_view resource) {
  if (req.security == nullptr || !req.security->enabled()) return Status::Ok();
  if (!req.principal) return Unauthenticated("authentication required");
  return req.security->Authorize(*req.principal, action, resource);
}

}  // namespace sluice::gateway
