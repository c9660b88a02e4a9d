#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

namespace sluice::metrics {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using L = std::vector<std::string>;

TEST(RegistryTest, EmptyRegistryExposesNothing) {
  Registry r;
  EXPECT_EQ(r.Expose(), "");
}

TEST(RegistryTest, CounterExposesHelpTypeAndValue) {
  Registry r;
  r.GetCounter("sluice_events_total", "Events ingested.").Inc(3);
  std::string text = r.Expose();
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(Lines(text), (L{"# HELP sluice_events_total Events ingested.",
                            "# TYPE sluice_events_total counter", "sluice_events_total 3"}));
}

TEST(RegistryTest, SameNameAndLabelsReturnTheSameInstanceWhateverTheLabelOrder) {
  Registry r;
  Counter& a = r.GetCounter("c_total", "h", {{"topic", "t"}, {"partition", "0"}});
  Counter& b = r.GetCounter("c_total", "h", {{"partition", "0"}, {"topic", "t"}});
  Counter& other = r.GetCounter("c_total", "h", {{"partition", "1"}, {"topic", "t"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.Inc();
  b.Inc(2);
  EXPECT_EQ(a.value(), 3u);
  EXPECT_EQ(Lines(r.Expose()),
            (L{"# HELP c_total h", "# TYPE c_total counter",
               R"(c_total{partition="0",topic="t"} 3)", R"(c_total{partition="1",topic="t"} 0)"}));
}

TEST(RegistryTest, FamiliesAreSortedAndHelpAndTypeAppearOncePerFamily) {
  Registry r;
  r.GetGauge("b_bytes", "B.", {{"k", "2"}}).Set(1.5);
  r.GetGauge("b_bytes", "B.", {{"k", "1"}}).Set(-2);
  r.GetCounter("a_total", "A.");
  EXPECT_EQ(Lines(r.Expose()),
            (L{"# HELP a_total A.", "# TYPE a_total counter", "a_total 0", "# HELP b_bytes B.",
               "# TYPE b_bytes gauge", R"(b_bytes{k="1"} -2)", R"(b_bytes{k="2"} 1.5)"}));
}

TEST(RegistryTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.GetGauge("g", "line1\nback\\slash \"quotes\" stay", {{"path", "a\\b\"c\nd"}}).Set(1);
  EXPECT_EQ(Lines(r.Expose()), (L{R"(# HELP g line1\nback\\slash "quotes" stay)", "# TYPE g gauge",
                                  R"(g{path="a\\b\"c\nd"} 1)"}));
}

TEST(RegistryTest, GaugeValuesUsePrometheusSpellings) {
  Registry r;
  r.GetGauge("g", "h", {{"v", "a"}}).Set(0.1);
  r.GetGauge("g", "h", {{"v", "b"}}).Set(1e21);
  r.GetGauge("g", "h", {{"v", "c"}}).Set(INFINITY);
  r.GetGauge("g", "h", {{"v", "d"}}).Set(-INFINITY);
  r.GetGauge("g", "h", {{"v", "e"}}).Set(NAN);
  Gauge& f = r.GetGauge("g", "h", {{"v", "f"}});
  f.Set(10);
  f.Add(-2.5);
  EXPECT_EQ(f.value(), 7.5);
  EXPECT_EQ(Lines(r.Expose()),
            (L{"# HELP g h", "# TYPE g gauge", R"(g{v="a"} 0.1)", R"(g{v="b"} 1e+21)",
               R"(g{v="c"} +Inf)", R"(g{v="d"} -Inf)", R"(g{v="e"} NaN)", R"(g{v="f"} 7.5)"}));
}

TEST(RegistryTest, HistogramExposesCumulativeBucketsSumAndCount) {
  Registry r;
  Histogram& h = r.GetHistogram("lat_seconds", "Latency.", {0.005, 0.1, 1}, {{"op", "append"}});
  // Binary fractions so the sum is exact.
  h.Observe(0.00390625);
  h.Observe(0.005);
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP lat_seconds Latency.", "# TYPE lat_seconds histogram",
                                  R"(lat_seconds_bucket{op="append",le="0.005"} 2)",
                                  R"(lat_seconds_bucket{op="append",le="0.1"} 2)",
                                  R"(lat_seconds_bucket{op="append",le="1"} 3)",
                                  R"(lat_seconds_bucket{op="append",le="+Inf"} 4)",
                                  R"(lat_seconds_sum{op="append"} 3.50890625)",
                                  R"(lat_seconds_count{op="append"} 4)"}));
}

TEST(RegistryTest, HistogramWithoutLabelsHasOnlyLe) {
  Registry r;
  r.GetHistogram("h", "x", {1}).Observe(2);
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP h x", "# TYPE h histogram", R"(h_bucket{le="1"} 0)",
                                  R"(h_bucket{le="+Inf"} 1)", "h_sum 2", "h_count 1"}));
}

TEST(RegistryTest, CollectorsRunBeforeRenderingAndMayRegisterGauges) {
  Registry r;
  int size = 10;
  r.AddCollector([&] { r.GetGauge("partition_bytes", "Bytes.", {{"p", "0"}}).Set(size); });
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP partition_bytes Bytes.", "# TYPE partition_bytes gauge",
                                  R"(partition_bytes{p="0"} 10)"}));
  size = 42;
  EXPECT_EQ(Lines(r.Expose())[2], R"(partition_bytes{p="0"} 42)");
}

TEST(RegistryTest, RemovedGaugesAreNoLongerExposed) {
  Registry r;
  r.GetGauge("size", "Bytes.", {{"topic", "a"}, {"partition", "0"}}).Set(1);
  r.GetGauge("size", "Bytes.", {{"topic", "b"}, {"partition", "0"}}).Set(2);
  r.GetGauge("segments", "Count.", {{"topic", "a"}, {"partition", "0"}}).Set(3);
  r.GetGauge("segments", "Count.", {{"topic", "a"}, {"partition", "0"}, {"x", "y"}}).Set(4);
  r.GetCounter("appended", "Total.", {{"topic", "a"}, {"partition", "0"}}).Inc();
  r.RemoveGauges({{"topic", "a"}, {"partition", "0"}});  // any label order
  EXPECT_EQ(Lines(r.Expose()),
            (L{"# HELP appended Total.", "# TYPE appended counter",
               R"(appended{partition="0",topic="a"} 1)", "# HELP segments Count.",
               "# TYPE segments gauge", R"(segments{partition="0",topic="a",x="y"} 4)",
               "# HELP size Bytes.", "# TYPE size gauge", R"(size{partition="0",topic="b"} 2)"}));
  r.RemoveGauges({{"topic", "b"}, {"partition", "0"}});
  r.RemoveGauges({{"topic", "a"}, {"partition", "0"}, {"x", "y"}});
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP appended Total.", "# TYPE appended counter",
                                  R"(appended{partition="0",topic="a"} 1)"}));
  // A gauge asked for again starts afresh.
  EXPECT_EQ(r.GetGauge("size", "Bytes.", {{"topic", "b"}, {"partition", "0"}}).value(), 0);
}

TEST(RegistryTest, CounterFromStateIsACounterWithAFractionalValue) {
  Registry r;
  Gauge& cpu = r.GetCounterFromState("cpu_seconds_total", "CPU.", {{"topic", "a"}});
  cpu.Set(1.25);
  EXPECT_EQ(&r.GetCounterFromState("cpu_seconds_total", "CPU.", {{"topic", "a"}}), &cpu);
  // RemoveGauges is for gauges: a counter with the same labels stays.
  r.RemoveGauges({{"topic", "a"}});
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP cpu_seconds_total CPU.",
                                  "# TYPE cpu_seconds_total counter",
                                  R"(cpu_seconds_total{topic="a"} 1.25)"}));
}

TEST(RegistryTest, RetiredSeriesAreHiddenUntilAskedForAgain) {
  Registry r;
  Counter& in = r.GetCounter("events_in", "In.", {{"pipeline", "p"}});
  Gauge& lag = r.GetGauge("lag", "Lag.", {{"pipeline", "p"}});
  r.GetGauge("lag", "Lag.", {{"pipeline", "q"}}).Set(7);
  r.GetHistogram("took", "Took.", {1}, {{"pipeline", "p"}}).Observe(0.5);
  in.Inc(3);
  r.RetireSeries({{"pipeline", "p"}});
  EXPECT_EQ(Lines(r.Expose()), (L{"# HELP lag Lag.", "# TYPE lag gauge", R"(lag{pipeline="q"} 7)"}));
  // Still alive for whoever holds them (a task finishing its last cycle), but unseen.
  in.Inc();
  lag.Set(5);
  EXPECT_EQ(r.Expose().find("pipeline=\"p\""), std::string::npos);
  // Asked for again (the pipeline deployed anew): every series of the label set is back.
  EXPECT_EQ(&r.GetCounter("events_in", "In.", {{"pipeline", "p"}}), &in);
  const std::string text = r.Expose();
  EXPECT_NE(text.find("events_in{pipeline=\"p\"} 4"), std::string::npos) << text;
  EXPECT_NE(text.find("lag{pipeline=\"p\"} 5"), std::string::npos) << text;
  EXPECT_NE(text.find("took_count{pipeline=\"p\"} 1"), std::string::npos) << text;
}

TEST(RegistryTest, ConcurrentRegistrationAndExposition) {
  Registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 200; ++i) {
        r.GetCounter("c_total", "h", {{"i", std::to_string(i % 50)}}).Inc();
        r.GetHistogram("h", "h", {1, 2}, {{"t", std::to_string(t)}}).Observe(i % 3);
        if (i % 50 == 0) (void)r.Expose();
      }
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  for (int i = 0; i < 50; ++i)
    total += r.GetCounter("c_total", "h", {{"i", std::to_string(i)}}).value();
  EXPECT_EQ(total, 800u);
}

TEST(RegistryTest, LatencyBucketsAreIncreasingFromTenthOfMillisecondToTenSeconds) {
  auto b = LatencyBucketsSeconds();
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 0.0001);
  EXPECT_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  Registry r;
  r.GetHistogram("x_seconds", "x", LatencyBucketsSeconds());  // accepted
}

TEST(RegistryDeathTest, SameNameWithAnotherTypeAborts) {
  Registry r;
  r.GetCounter("m", "h");
  EXPECT_DEATH(r.GetGauge("m", "h"), "metric m registered as counter and as gauge");
  EXPECT_DEATH(r.GetCounterFromState("m", "h"),
               "metric m registered as counter and as counter \\(from state\\)");
}

TEST(RegistryDeathTest, SameHistogramWithOtherBucketsAborts) {
  Registry r;
  r.GetHistogram("m", "h", {1, 2});
  EXPECT_DEATH(r.GetHistogram("m", "h", {1, 3}), "different buckets");
}

TEST(RegistryDeathTest, SameNameWithOtherHelpAborts) {
  Registry r;
  r.GetCounter("m", "h");
  EXPECT_DEATH(r.GetCounter("m", "other"), "registered with help");
}

TEST(RegistryDeathTest, InvalidNamesAbort) {
  Registry r;
  EXPECT_DEATH(r.GetCounter("1abc", "h"), "invalid metric name '1abc'");
  EXPECT_DEATH(r.GetCounter("a-b", "h"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("", "h"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("ok", "h", {{"a:b", "v"}}), "invalid label name 'a:b'");
  EXPECT_DEATH(r.GetCounter("ok", "h", {{"__x", "v"}}), "reserved");
  EXPECT_DEATH(r.GetCounter("ok", "h", {{"a", "1"}, {"a", "2"}}), "given twice");
  EXPECT_DEATH(r.GetHistogram("hh", "h", {1}, {{"le", "1"}}), "'le' is reserved");
}

TEST(RegistryTest, ValidNamesAreAccepted) {
  Registry r;
  r.GetCounter("a:b_c9", "h", {{"_x9", "any \xe2\x82\xac value"}});
  r.GetGauge("ok_gauge", "h", {{"le", "fine on a gauge"}});
}

}  // namespace
}  // namespace sluice::metrics
