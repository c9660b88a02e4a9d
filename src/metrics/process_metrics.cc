// process_* series from /proc/self, getrusage and getrlimit.
#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace sluice::metrics {
namespace internal {

ProcStat ParseProcStat(const std::string& text) {
  ProcStat out;
  // The command name (field 2) is in parentheses and may itself contain spaces and ')': the
  // fields after it start after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream in(text.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 (state) of proc(5)
  std::string f;
  while (fields.size() < 22 && in >> f) fields.push_back(f);
  if (fields.size() < 22) return out;
  char* end = nullptr;
  out.num_threads = std::strtol(fields[17].c_str(), &end, 10);    // field 20
  out.start_ticks = std::strtoull(fields[19].c_str(), &end, 10);  // field 22
  out.vsize_bytes = std::strtoul(fields[20].c_str(), &end, 10);   // field 23
  out.rss_pages = std::strtol(fields[21].c_str(), &end, 10);      // field 24
  out.ok = true;
  return out;
}

}  // namespace internal

namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Seconds since the epoch at which the machine booted (the `btime` line of /proc/stat), or -1.
double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = -1;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

int64_t CountOpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

void AddProcessCollector(Registry& registry, const std::string& version) {
  registry.GetGauge("sluice_build_info", "Always 1; the labels say which build is running.",
                    {{"version", version}})
      .Set(1);
  Gauge& cpu = registry.GetCounterFromState(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  Gauge& rss = registry.GetGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  Gauge& vsize =
      registry.GetGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  Gauge& open_fds = registry.GetGauge("process_open_fds", "Number of open file descriptors.");
  Gauge& max_fds =
      registry.GetGauge("process_max_fds", "Maximum number of open file descriptors.");
  Gauge& start = registry.GetGauge("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.");
  Gauge& threads = registry.GetGauge("process_threads", "Number of OS threads in the process.");
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);
  const double boot = BootTimeSeconds();
  registry.AddCollector([&cpu, &rss, &vsize, &open_fds, &max_fds, &start, &threads,
                         ticks_per_second, page_size, boot] {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
      double s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
      if (s > cpu.value()) cpu.Set(s);  // monotonic, as a counter must be
    }
    internal::ProcStat st = internal::ParseProcStat(ReadFile("/proc/self/stat"));
    if (st.ok) {
      threads.Set(static_cast<double>(st.num_threads));
      vsize.Set(static_cast<double>(st.vsize_bytes));
      rss.Set(static_cast<double>(st.rss_pages) * static_cast<double>(page_size));
      if (boot >= 0 && ticks_per_second > 0) {
        start.Set(boot + static_cast<double>(st.start_ticks) /
                             static_cast<double>(ticks_per_second));
      }
    }
    if (int64_t n = CountOpenFds(); n >= 0) open_fds.Set(static_cast<double>(n));
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      max_fds.Set(rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur));
    }
  });
}

}  // namespace sluice::metrics
