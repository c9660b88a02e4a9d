#include "metrics/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace sluice::metrics {
namespace {

// The value of the unlabelled sample `name` in an exposition, or NaN when it is absent.
double Sample(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name + " ")) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return std::nan("");
}

TEST(ProcessMetricsTest, ParsesProcStatWithAnAwkwardCommandName) {
  // Fields 3.. of proc(5); the command name holds a space and a ')'.
  std::string text =
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 30 0 0 20 0 7 0 "
      "123456 987654321 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  internal::ProcStat st = internal::ParseProcStat(text);
  ASSERT_TRUE(st.ok);
  EXPECT_EQ(st.num_threads, 7);
  EXPECT_EQ(st.start_ticks, 123456u);
  EXPECT_EQ(st.vsize_bytes, 987654321u);
  EXPECT_EQ(st.rss_pages, 2500);
  EXPECT_FALSE(internal::ParseProcStat("4242 (truncated) S 1 2 3").ok);
  EXPECT_FALSE(internal::ParseProcStat("no parenthesis at all").ok);
}

TEST(ProcessMetricsTest, ExposesTheStandardProcessSeries) {
  Registry r;
  AddProcessCollector(r, "9.8.7");
  std::string before = r.Expose();
  EXPECT_NE(before.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos)
      << before;
  EXPECT_NE(before.find("sluice_build_info{version=\"9.8.7\"} 1\n"), std::string::npos);
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(Sample(before, "process_max_fds"), static_cast<double>(rl.rlim_cur));
  EXPECT_GT(Sample(before, "process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GE(Sample(before, "process_virtual_memory_bytes"),
            Sample(before, "process_resident_memory_bytes"));
  EXPECT_GE(Sample(before, "process_threads"), 1);
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const double started = Sample(before, "process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 24 * 3600);  // this test process started within the last day

  // Ten more descriptors are ten more; CPU burnt shows in the counter.
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) fds.push_back(open("/dev/null", O_RDONLY));
  // Burn 60 ms of this process's CPU time (not wall time: a loaded machine gives less).
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  volatile double sink = 0;
  for (const double until = cpu_now() + 0.06; cpu_now() < until;) sink = sink + 1.0;
  std::string after = r.Expose();
  for (int fd : fds) close(fd);
  EXPECT_EQ(Sample(after, "process_open_fds"), Sample(before, "process_open_fds") + 10) << after;
  EXPECT_GE(Sample(after, "process_cpu_seconds_total"),
            Sample(before, "process_cpu_seconds_total") + 0.04);
  EXPECT_EQ(Sample(r.Expose(), "process_open_fds"), Sample(before, "process_open_fds"));
}

}  // namespace
}  // namespace sluice::metrics
