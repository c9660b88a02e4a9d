// Registry: owns every counter, gauge and histogram of a process and renders them in the
// Prometheus text exposition format 0.0.4 for GET /metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "metrics/counter.h"
#include "metrics/gauge.h"
#include "metrics/histogram.h"

namespace sluice::metrics {

// Label name/value pairs. Order does not matter: {a,b} and {b,a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A set of metric families. One per process, created by app/ and passed by pointer or reference
// to the services (no global registry). Thread-safe.
//
// Invariants:
//  1. A family (metric name) has one type, one help text and, for histograms, one bucket layout,
//     fixed by its first registration; a later registration that differs is a bug (SLUICE_CHECK).
//  2. Metrics are never removed, so every returned reference stays valid for the registry's life.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series `name{labels}`, created on first use. The same name and labels always return the
  // same instance. Lookups take a mutex: call once at setup and keep the reference.
  // REQUIRES (checked): name matches [a-zA-Z_:][a-zA-Z0-9_:]*; label names match
  // [a-zA-Z_][a-zA-Z0-9_]*, do not start with "__" and are unique; invariant 1.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // A counter whose value a collector copies from a total kept elsewhere (e.g. the CPU seconds
  // the kernel counts), so it can be fractional: exposed with TYPE counter. The caller keeps it
  // monotonic. REQUIRES (checked): as GetCounter; the name is not also a GetCounter family.
  Gauge& GetCounterFromState(const std::string& name, const std::string& help,
                             const Labels& labels = {});
  // REQUIRES (checked): buckets finite and strictly increasing (+Inf is added); no label "le".
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets, const Labels& labels = {});

  // Removes every gauge series with exactly these labels (in any family), e.g. the gauges of a
  // deleted topic's partition, so that they stop being exposed. REQUIRES: nobody keeps a
  // reference to those gauges (they are destroyed); a later GetGauge() makes a fresh one.
  void RemoveGauges(const Labels& labels);

  // Stops exposing every series (any type, any family) with exactly these labels, e.g. those of
  // a deleted pipeline, without destroying them: whoever still holds one may go on updating it
  // unseen. The next Get*() of any series with these labels exposes them all again, with the
  // values they have.
  void RetireSeries(const Labels& labels);

  // Adds a function Expose() calls first, on its own thread, to refresh gauges computed from
  // state (e.g. partition sizes). It may call Get*() but not AddCollector(); it must only read
  // state that is safe to read from that thread (atomics or a snapshot).
  void AddCollector(std::function<void()> refresh);

  // Runs the collectors, then renders every family sorted by name: "# HELP" and "# TYPE" once
  // per family, then its series sorted by labels; histograms as cumulative `_bucket` series with
  // `le` (ending with "+Inf"), `_sum` and `_count`. Content type:
  // "text/plain; version=0.0.4; charset=utf-8".
  std::string Expose();

 private:
  struct Family;
  enum class Type { kCounter, kGauge, kHistogram, kStateCounter };
  // REQUIRES: mu_ held.
  Family& GetFamily(const std::string& name, const std::string& help, Type type,
                    const std::vector<double>* buckets);

  std::mutex collectors_mu_;  // serialises collector runs; taken before mu_, never inside it
  std::vector<std::function<void()>> collectors_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;
  std::set<Labels> retired_;  // see RetireSeries
};

// The Content-Type for Expose()'s output.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Default latency buckets in seconds, 100us to 10s in 1-2.5-5 steps.
std::vector<double> LatencyBucketsSeconds();

}  // namespace sluice::metrics
