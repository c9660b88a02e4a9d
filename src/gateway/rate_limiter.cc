// RateLimiter: token buckets. See rate_limiter.h.
#include "gateway/rate_limiter.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <fmt/format.h>

namespace sluice::gateway {

namespace {

double Burst(double rate, double burst) { return burst > 0 ? burst : rate; }

Status ParseSpec(const YAML::Node& node, const std::string& where, BucketSpec* spec) {
  if (!node.IsMap()) return InvalidArgument("{}: expected a map of limits", where);
  for (const auto& kv : node) {
    std::string k = kv.first.Scalar();
    double v = 0;
    try {
      v = kv.second.as<double>();
    } catch (const YAML::Exception&) {
      return InvalidArgument("{}.{}: not a number", where, k);
    }
    if (v < 0 || !std::isfinite(v)) return InvalidArgument("{}.{}: must be >= 0", where, k);
    if (k == "events_per_s") {
      spec->events_per_s = v;
    } else if (k == "burst_events") {
      spec->burst_events = v;
    } else if (k == "bytes_per_s") {
      spec->bytes_per_s = v;
    } else if (k == "burst_bytes") {
      spec->burst_bytes = v;
    } else {
      return InvalidArgument(
          "{}: unknown key '{}' (known: events_per_s, burst_events, bytes_per_s, burst_bytes)",
          where, k);
    }
  }
  return Status::Ok();
}

}  // namespace

bool RateLimitOptions::any() const {
  if (principal.limited() || topic.limited()) return true;
  for (const auto& [k, v] : principal_overrides) {
    if (v.limited()) return true;
  }
  for (const auto& [k, v] : topic_overrides) {
    if (v.limited()) return true;
  }
  return false;
}

Status RateLimitOptions::LoadOverridesYaml(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("line {}: {}", e.mark.line + 1, e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgument("expected a map with 'principals' and/or 'topics'");
  for (const auto& section : root) {
    std::string name = section.first.Scalar();
    std::map<std::string, BucketSpec, std::less<>>* target = nullptr;
    if (name == "principals") {
      target = &principal_overrides;
    } else if (name == "topics") {
      target = &topic_overrides;
    } else {
      return InvalidArgument("unknown key '{}' (known: principals, topics)", name);
    }
    if (section.second.IsNull()) continue;
    if (!section.second.IsMap()) return InvalidArgument("{}: expected a map of names", name);
    for (const auto& entry : section.second) {
      BucketSpec spec;
      std::string where = name + "." + entry.first.Scalar();
      SLUICE_RETURN_IF_ERROR(ParseSpec(entry.second, where, &spec));
      (*target)[entry.first.Scalar()] = spec;
    }
  }
  return Status::Ok();
}

RateLimiter::RateLimiter(RateLimitOptions options)
    : options_(std::move(options)), enabled_(options_.any()) {}

size_t RateLimiter::bucket_count() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

const BucketSpec& RateLimiter::SpecFor(
    const std::map<std::string, BucketSpec, std::less<>>& overrides, const BucketSpec& def,
    std::string_view name) const {
  auto it = overrides.find(name);
  return it != overrides.end() ? it->second : def;
}

bool RateLimiter::TakeOne(const std::string& key, double rate, double burst, double cost,
                          int64_t now_ns, bool principal, bool events, std::string_view name,
                          RateDecision* d, double* best_fraction) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= options_.max_buckets / kShards) {
      // Drop buckets that have refilled completely: they carry no state worth keeping.
      std::erase_if(shard.buckets, [&](const auto& kv) {
        const Bucket& b = kv.second;
        double refilled = b.tokens + b.rate * static_cast<double>(now_ns - b.updated_ns) / 1e9;
        return refilled >= b.burst;
      });
    }
    it = shard.buckets.emplace(key, Bucket{burst, rate, burst, now_ns}).first;
  }
  Bucket& b = it->second;
  b.rate = rate;
  b.burst = burst;
  if (now_ns > b.updated_ns) {
    b.tokens = std::min(burst, b.tokens + rate * static_cast<double>(now_ns - b.updated_ns) / 1e9);
    b.updated_ns = now_ns;
  }
  const bool ok = b.tokens >= cost || b.tokens >= burst;
  if (ok) b.tokens -= cost;
  double fraction = ok ? std::max(0.0, b.tokens) / burst : -1;
  if (fraction < *best_fraction) {
    *best_fraction = fraction;
    d->limit = static_cast<int64_t>(burst);
    d->remaining = static_cast<int64_t>(std::max(0.0, b.tokens));
    d->reset_s = static_cast<int64_t>(std::ceil((burst - b.tokens) / rate));
    const double missing = std::min(cost, burst) - b.tokens;
    d->retry_after_s =
        ok ? 0 : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(missing / rate)));
    d->scope.clear();  // named by the caller, once
    d->scope.push_back(principal ? 'p' : 't');
    d->scope.push_back(events ? 'e' : 'b');
  }
  (void)name;
  return ok;
}

void RateLimiter::Refund(const std::string& key, double cost) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it != shard.buckets.end()) {
    it->second.tokens = std::min(it->second.burst, it->second.tokens + cost);
  }
}

bool RateLimiter::Take(std::string_view principal, std::string_view topic, int64_t events,
                       int64_t bytes, int64_t now_ns, RateDecision* decision) {
  RateDecision d;
  if (!enabled_) {
    *decision = d;
    return true;
  }
  const BucketSpec& ps = SpecFor(options_.principal_overrides, options_.principal, principal);
  const BucketSpec& ts = SpecFor(options_.topic_overrides, options_.topic, topic);
  struct Want {
    std::string key;
    double rate, burst, cost;
    bool principal, events;
    std::string_view name;
  };
  std::vector<Want> wants;
  wants.reserve(4);
  auto want = [&](const BucketSpec& s, char kind, std::string_view name) {
    const bool ev = kind == 'e';
    double rate = ev ? s.events_per_s : s.bytes_per_s;
    if (rate <= 0) return;
    double burst = Burst(rate, ev ? s.burst_events : s.burst_bytes);
    std::string key;
    key.reserve(name.size() + 3);
    key += (&s == &ps) ? 'p' : 't';
    key += kind;
    key += ':';
    key += name;
    wants.push_back(Want{std::move(key), rate, burst,
                         static_cast<double>(ev ? events : bytes), &s == &ps, ev, name});
  };
  want(ps, 'e', principal);
  want(ps, 'b', principal);
  want(ts, 'e', topic);
  want(ts, 'b', topic);
  double best = 2.0;
  size_t best_index = 0;
  bool ok = true;
  for (size_t i = 0; i < wants.size() && ok; ++i) {
    const Want& w = wants[i];
    double before = best;
    ok = TakeOne(w.key, w.rate, w.burst, w.cost, now_ns, w.principal, w.events, w.name, &d,
                 &best);
    if (best != before) best_index = i;
    if (!ok) {
      for (size_t j = 0; j < i; ++j) Refund(wants[j].key, wants[j].cost);
    }
  }
  d.allowed = ok;
  if (!wants.empty()) {
    const Want& w = wants[best_index];
    d.scope = fmt::format("{} {} ({})", w.principal ? "principal" : "topic", w.name,
                          w.events ? "events" : "bytes");
  }
  *decision = std::move(d);
  return ok;
}

}  // namespace sluice::gateway
