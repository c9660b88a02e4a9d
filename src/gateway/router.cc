// Router: linear match over a handful of routes (fast enough for < 50 routes).
#include "gateway/router.h"

namespace sluice::gateway {

namespace {
bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);
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
  return out;
}
}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, std::string name) {
  Route r;
  r.method = std::move(method);
  for (auto s : Split(pattern)) r.segments.emplace_back(s);
  r.handler = std::move(handler);
  r.name = name.empty() ? pattern : std::move(name);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(HttpRequest& req) const {
  Match m;
  m.route = "unmatched";
  // Match on the raw path so an encoded '/' inside a parameter (a registry subject such as
  // "a%2Fb") stays inside it; parameters are percent-decoded below.
  std::string_view raw = req.target;
  raw = raw.substr(0, raw.find('?'));
  auto segs = Split(raw);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    // Literal segments first, so parameters are only copied for the route that matches.
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& p = r.segments[i];
      ok = IsParam(p) || p == segs[i];
    }
    if (!ok) continue;
    if (r.method != req.method) {
      m.path_matched = true;
      if (!m.allowed.empty()) m.allowed += ", ";
      m.allowed += r.method;
      continue;
    }
    req.path_params.clear();
    for (size_t i = 0; i < segs.size(); ++i) {
      const auto& p = r.segments[i];
      if (!IsParam(p)) continue;
      auto decoded = PercentDecode(segs[i], false);
      req.path_params[p.substr(1, p.size() - 2)] =
          decoded.ok() ? std::move(decoded).value() : std::string(segs[i]);
    }
    m.handler = &r.handler;
    m.route = r.name;
    return m;
  }
  return m;
}

}  // namespace sluice::gateway
