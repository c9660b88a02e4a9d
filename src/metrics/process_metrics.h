// The standard `process_*` series every Prometheus exporter has (CPU, memory, file descriptors,
// start time) and `sluice_build_info`, read from the kernel at every scrape.
#pragma once

#include <string>

#include "metrics/registry.h"

namespace sluice::metrics {

// Adds a collector to `registry` that sets, on every Expose():
//   process_cpu_seconds_total        user + system CPU time of the process (counter)
//   process_resident_memory_bytes    resident set size
//   process_virtual_memory_bytes     virtual memory size
//   process_open_fds                 open file descriptors
//   process_max_fds                  the soft RLIMIT_NOFILE
//   process_start_time_seconds       when the process started, seconds since the epoch
//   process_threads                  threads of the process
// and once `sluice_build_info{version}` = 1. Linux only (/proc/self); a value that cannot be
// read keeps its previous one.
void AddProcessCollector(Registry& registry, const std::string& version);

namespace internal {

// The fields of /proc/self/stat's text that the collector uses; nullopt-like `ok = false` when
// the text does not parse. Exposed for the unit test.
struct ProcStat {
  bool ok = false;
  long num_threads = 0;
  unsigned long long start_ticks = 0;  // since boot, in clock ticks
  unsigned long vsize_bytes = 0;
  long rss_pages = 0;
};
ProcStat ParseProcStat(const std::string& text);

}  // namespace internal
}  // namespace sluice::metrics
