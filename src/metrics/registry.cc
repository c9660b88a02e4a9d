// Registry: family bookkeeping and Prometheus text rendering.
#include "metrics/registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/check.h"
#include "metrics/internal/text_format.h"

namespace sluice::metrics {
namespace {

// Checks label names and returns the labels sorted by name, so order never splits a series.
Labels Normalise(const std::string& metric, const Labels& labels, bool histogram) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& n = sorted[i].first;
    SLUICE_CHECK(internal::IsValidLabelName(n), "metric {}: invalid label name '{}'", metric, n);
    SLUICE_CHECK(!n.starts_with("__"), "metric {}: label name '{}' is reserved", metric, n);
    SLUICE_CHECK(!histogram || n != "le", "histogram {}: label name 'le' is reserved", metric);
    SLUICE_CHECK(i == 0 || sorted[i - 1].first != n, "metric {}: label '{}' given twice", metric,
                 n);
  }
  return sorted;
}

// Appends `{a="x",b="y"}` (with an optional extra `le`), or nothing when there are no labels.
void AppendLabels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    internal::AppendEscapedLabelValue(out, v);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

}  // namespace

struct Registry::Family {
  std::string name;
  std::string help;
  Type type;
  std::vector<double> buckets;  // histograms only
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::GetFamily(const std::string& name, const std::string& help, Type type,
                                      const std::vector<double>* buckets) {
  static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram",
                                               "counter (from state)"};
  SLUICE_CHECK(internal::IsValidMetricName(name), "invalid metric name '{}'", name);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->name = name;
    family->help = help;
    family->type = type;
    if (buckets != nullptr) family->buckets = *buckets;
    it = families_.emplace(name, std::move(family)).first;
    return *it->second;
  }
  Family& f = *it->second;
  SLUICE_CHECK(f.type == type, "metric {} registered as {} and as {}", name,
               kTypeNames[static_cast<int>(f.type)], kTypeNames[static_cast<int>(type)]);
  SLUICE_CHECK(f.help == help, "metric {} registered with help '{}' and '{}'", name, f.help, help);
  SLUICE_CHECK(buckets == nullptr || f.buckets == *buckets,
               "histogram {} registered with different buckets", name);
  return f;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  Labels key = Normalise(name, labels, false);
  std::lock_guard lock(mu_);
  if (!retired_.empty()) retired_.erase(key);
  auto& slot = GetFamily(name, help, Type::kCounter, nullptr).counters[std::move(key)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = Normalise(name, labels, false);
  std::lock_guard lock(mu_);
  if (!retired_.empty()) retired_.erase(key);
  auto& slot = GetFamily(name, help, Type::kGauge, nullptr).gauges[std::move(key)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Gauge& Registry::GetCounterFromState(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  Labels key = Normalise(name, labels, false);
  std::lock_guard lock(mu_);
  if (!retired_.empty()) retired_.erase(key);
  auto& slot = GetFamily(name, help, Type::kStateCounter, nullptr).gauges[std::move(key)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> buckets, const Labels& labels) {
  Labels key = Normalise(name, labels, true);
  std::lock_guard lock(mu_);
  if (!retired_.empty()) retired_.erase(key);
  Family& f = GetFamily(name, help, Type::kHistogram, &buckets);
  auto& slot = f.histograms[std::move(key)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(buckets));
  return *slot;
}

void Registry::RemoveGauges(const Labels& labels) {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  std::lock_guard lock(mu_);
  for (auto& [name, family] : families_) {
    if (family->type == Type::kGauge) family->gauges.erase(key);
  }
}

void Registry::RetireSeries(const Labels& labels) {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  std::lock_guard lock(mu_);
  retired_.insert(std::move(key));
}

void Registry::AddCollector(std::function<void()> refresh) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(refresh));
}

std::string Registry::Expose() {
  {
    std::lock_guard lock(collectors_mu_);
    for (auto& refresh : collectors_) refresh();
  }
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    const Family& f = *family;
    const size_t family_start = out.size();
    bool any = false;
    auto shown = [&](const Labels& labels) {
      if (!retired_.empty() && retired_.count(labels) != 0) return false;
      any = true;
      return true;
    };
    out += "# HELP ";
    out += name;
    out += ' ';
    internal::AppendEscapedHelp(out, f.help);
    out += "\n# TYPE ";
    out += name;
    switch (f.type) {
      case Type::kCounter:
        out += " counter\n";
        for (const auto& [labels, c] : f.counters) {
          if (!shown(labels)) continue;
          out += name;
          AppendLabels(out, labels);
          fmt::format_to(std::back_inserter(out), " {}\n", c->value());
        }
        break;
      case Type::kGauge:
      case Type::kStateCounter:
        out += f.type == Type::kGauge ? " gauge\n" : " counter\n";
        for (const auto& [labels, g] : f.gauges) {
          if (!shown(labels)) continue;
          out += name;
          AppendLabels(out, labels);
          out += ' ';
          out += internal::FormatValue(g->value());
          out += '\n';
        }
        break;
      case Type::kHistogram:
        out += " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          if (!shown(labels)) continue;
          std::vector<uint64_t> counts = h->CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            std::string le =
                i < f.buckets.size() ? internal::FormatValue(f.buckets[i]) : std::string("+Inf");
            out += name;
            out += "_bucket";
            AppendLabels(out, labels, &le);
            fmt::format_to(std::back_inserter(out), " {}\n", counts[i]);
          }
          out += name;
          out += "_sum";
          AppendLabels(out, labels);
          out += ' ';
          out += internal::FormatValue(h->sum());
          out += '\n';
          out += name;
          out += "_count";
          AppendLabels(out, labels);
          // From the same snapshot as the buckets, so _count always equals the +Inf bucket.
          fmt::format_to(std::back_inserter(out), " {}\n", counts.back());
        }
        break;
    }
    if (!any) out.resize(family_start);  // every series removed or retired: no empty family
  }
  return out;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

}  // namespace sluice::metrics
