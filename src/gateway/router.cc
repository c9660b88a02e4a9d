// Router: linear match over a handful of routes (fast enough for < 50 routes).
#include "gateway/router.h"

namespace sluice::gateway {

namespace {
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
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
  auto segs = Split(req.path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = std::string(segs[i]);
      } else if (p != segs[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.method != req.method) {
      m.path_matched = true;
      if (!m.allowed.empty()) m.allowed += ", ";
      m.allowed += r.method;
      continue;
    }
    m.handler = &r.handler;
    m.route = r.name;
    req.path_params = std::move(params);
    return m;
  }
  return m;
}

}  // namespace sluice::gateway
