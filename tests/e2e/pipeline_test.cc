// End-to-end tests of the stream processor through the real `sluice serve`: deploying pipelines
// over HTTP and the CLI, results in output topics, the error output, pause/resume, spec errors
// with positions, and pipelines coming back after a restart without repeating their outputs.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

// stream/checkpoint.h's kCheckpointPartBytes.
constexpr double kCheckpointPartBytesForTest = 1000 * 1000;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    server_ = std::make_unique<ServerProcess>(dir_->path() + "/data", dir_->path() + "/server.log",
                                              std::vector<std::string>{"--grpc-listen", ""});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    Connect();
  }
  void TearDown() override {
    if (server_ && server_->running()) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
  }
  void Connect() { client_ = std::move(gateway::HttpClient::Create(server_->url())).value(); }

  void CreateTopic(const std::string& name, int partitions = 1) {
    auto r = Call(*client_, "POST", "/v1/topics",
                  fmt::format(R"({{"name":"{}","partitions":{}}})", name, partitions));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void Produce(const std::string& topic, const std::string& body) {
    auto r = Call(*client_, "POST", "/v1/topics/" + topic + "/events", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  JsonResponse Deploy(const std::string& yaml, const std::string& query = "") {
    return Call(*client_, "POST", "/v1/pipelines" + query, yaml, "application/yaml");
  }
  // Every event of partition 0 of `topic`, waiting until there are at least `n`.
  std::vector<codec::JsonValue> WaitForEvents(const std::string& topic, size_t n,
                                              int partition = 0, int timeout_ms = 10000) {
    std::vector<codec::JsonValue> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    do {
      auto r = Call(*client_, "GET",
                    fmt::format("/v1/topics/{}/partitions/{}/events?offset=0&max=1000", topic, partition));
      if (r.status == 200) {
        out = r.json.Find("events")->items();
        if (out.size() >= n) return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }

  // Describes pipeline `name` until `ready` holds for the answer (or 15 s pass); returns the last
  // answer. A task publishes its status once per cycle, after the cycle's outputs are appended,
  // so an output can be readable a moment before the counters that count it.
  template <typename Pred>
  JsonResponse DescribeWhen(const std::string& name, Pred ready) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    JsonResponse d = Call(*client_, "GET", "/v1/pipelines/" + name);
    while (!(d.status == 200 && ready(d.json)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      d = Call(*client_, "GET", "/v1/pipelines/" + name);
    }
    return d;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<gateway::HttpClient> client_;
};

constexpr const char* kBigOrders = R"(name: big-orders
sources:
  - {name: orders, topic: orders, start: earliest}
operators:
  - {name: big, type: filter, input: orders, condition: "amount >= 100"}
  - {name: shaped, type: map, input: big, fields: {id: id, amount: amount, vip: "amount >= 1000"}}
outputs:
  - {name: out, input: shaped, topic: big, key: id}
)";

TEST_F(PipelineTest, FilterAndMapResultsReachTheOutputTopic) {
  CreateTopic("orders");
  CreateTopic("big");
  auto r = Deploy(kBigOrders);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json.Find("version")->AsInt64(), 1);
  Produce("orders", R"([{"id":"a","amount":50},{"id":"b","amount":150},{"id":"c","amount":5000}])");
  auto events = WaitForEvents("big", 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].Find("value")->ToJson(), R"({"id":"b","amount":150,"vip":false})");
  EXPECT_EQ(events[0].Find("key")->text(), "b");
  EXPECT_EQ(events[1].Find("value")->ToJson(), R"({"id":"c","amount":5000,"vip":true})");

  auto d = DescribeWhen("big-orders", [](const codec::JsonValue& j) {
    return j.Find("events_in")->AsInt64().value_or(0) >= 3;
  });
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json.Find("state")->text(), "running");
  EXPECT_EQ(d.json.Find("events_in")->AsInt64(), 3);
  EXPECT_EQ(d.json.Find("records_out")->AsInt64(), 2);
  auto l = Call(*client_, "GET", "/v1/pipelines");
  ASSERT_EQ(l.status, 200);
  EXPECT_EQ(l.json.Find("pipelines")->items().size(), 1u);

  auto m = Call(*client_, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("sluice_pipeline_events_in_total{pipeline=\"big-orders\"} 3"),
            std::string::npos) << m.body.substr(0, 3000);
  EXPECT_NE(m.body.find("sluice_pipeline_records_out_total{pipeline=\"big-orders\"} 2"),
            std::string::npos);
  EXPECT_NE(m.body.find("sluice_pipeline_checkpoint_duration_seconds_count{pipeline=\"big-orders\"}"),
            std::string::npos);
  EXPECT_EQ(m.body.find("sluice_pipeline_checkpoints_total{pipeline=\"big-orders\"} 0"),
            std::string::npos);
}

TEST_F(PipelineTest, TumblingWindowCountsPerKeyInEventTime) {
  CreateTopic("clicks");
  CreateTopic("clicks-per-user");
  auto r = Deploy(R"(name: clicks
sources:
  - {name: c, topic: clicks, start: earliest, event_time: ts}
operators:
  - name: per_user
    type: window
    input: c
    key: user
    key_name: user
    window: {kind: tumbling, size: 10s}
    aggregates: {clicks: count(*), pages: count_distinct(page)}
outputs:
  - {name: out, input: per_user, topic: clicks-per-user}
)");
  ASSERT_EQ(r.status, 201) << r.body;
  Produce("clicks", R"([{"user":"u1","page":"a","ts":1000},{"user":"u1","page":"b","ts":2000},
                       {"user":"u2","page":"a","ts":3000},{"user":"u1","page":"a","ts":9999},
                       {"user":"u1","page":"z","ts":10000},{"user":"u3","page":"q","ts":25000}])");
  // ts 25000 moves the watermark past both earlier windows.
  auto events = WaitForEvents("clicks-per-user", 3);
  ASSERT_EQ(events.size(), 3u);
  // One window's results come out in no particular order; windows in time order.
  if (events[0].Find("value")->Find("user")->text() != "u1") std::swap(events[0], events[1]);
  EXPECT_EQ(events[0].Find("value")->ToJson(),
            R"({"window_start":0,"window_end":10000,"user":"u1","clicks":3,"pages":2})");
  EXPECT_EQ(events[1].Find("value")->ToJson(),
            R"({"window_start":0,"window_end":10000,"user":"u2","clicks":1,"pages":1})");
  EXPECT_EQ(events[2].Find("value")->ToJson(),
            R"({"window_start":10000,"window_end":20000,"user":"u1","clicks":1,"pages":1})");
  EXPECT_EQ(events[0].Find("timestamp")->AsInt64(), 9999);
}

// With parallelism 2 a keyed window runs on the task that owns each key: rows cross between
// the tasks through the keyed exchange, event time follows them, and every window comes out
// once with the right count no matter which partition its events were read from.
TEST_F(PipelineTest, KeyedWindowAndDedupRunInParallelThroughTheExchange) {
  constexpr int kPartitions = 4;
  CreateTopic("views", kPartitions);
  CreateTopic("views-per-user");
  CreateTopic("first-views");
  auto r = Deploy(R"(name: views
parallelism: 2
sources:
  - {name: v, topic: views, start: earliest, event_time: ts}
operators:
  - name: per_user
    type: window
    input: v
    key: user
    key_name: user
    window: {kind: tumbling, size: 10s}
    aggregates: {views: count(*), total: sum(n)}
  - {name: once, type: dedup, input: v, key: "user || '/' || page", within: 1h}
outputs:
  - {name: out, input: per_user, topic: views-per-user}
  - {name: firsts, input: once, topic: first-views}
)");
  ASSERT_EQ(r.status, 201) << r.body;
  // The planned exchanges are ordinary (internal) topics with one partition per task.
  auto t = Call(*client_, "GET", "/v1/topics/_exchange.views.per_user.0");
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json.Find("partitions")->items().size(), 2u) << t.body;

  // Every partition gets events of every user, in increasing event time.
  std::map<std::pair<std::string, int64_t>, std::pair<int64_t, int64_t>> expected;
  std::set<std::string> pages;
  for (int p = 0; p < kPartitions; ++p) {
    std::string body = R"({"records":[)";
    for (int i = 0; i < 60; ++i) {
      std::string user = fmt::format("u{}", (i * 7 + p) % 13);
      int64_t ts = 1000 + i * 500 + p;
      int64_t n = i % 5 + p;
      std::string page = fmt::format("p{}", i % 3);
      body += fmt::format(R"({}{{"value":{{"user":"{}","page":"{}","n":{},"ts":{}}}}})",
                          i ? "," : "", user, page, n, ts);
      auto& e = expected[{user, ts - ts % 10000}];
      ++e.first;
      e.second += n;
      pages.insert(user + "/" + page);
    }
    body += "]}";
    auto pr = Call(*client_, "POST", fmt::format("/topics/views/partitions/{}", p), body,
                   "application/vnd.kafka.json.v2+json");
    ASSERT_EQ(pr.status, 200) << pr.body;
  }
  // A far-future event in every partition closes every window.
  for (int p = 0; p < kPartitions; ++p) {
    auto pr = Call(*client_, "POST", fmt::format("/topics/views/partitions/{}", p),
                   R"({"records":[{"value":{"user":"end","page":"x","n":0,"ts":1000000000}}]})",
                   "application/vnd.kafka.json.v2+json");
    ASSERT_EQ(pr.status, 200) << pr.body;
  }
  auto events = WaitForEvents("views-per-user", expected.size(), 0, 30000);
  ASSERT_EQ(events.size(), expected.size());
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& e : events) {
    const auto& v = *e.Find("value");
    std::pair<std::string, int64_t> key{v.Find("user")->text(), v.Find("window_start")->AsInt64().value()};
    EXPECT_TRUE(seen.insert(key).second) << "window emitted twice: " << v.ToJson();
    auto it = expected.find(key);
    ASSERT_NE(it, expected.end()) << v.ToJson();
    EXPECT_EQ(v.Find("views")->AsInt64(), it->second.first) << v.ToJson();
    EXPECT_EQ(v.Find("total")->AsInt64(), it->second.second) << v.ToJson();
  }
  // Dedup across partitions: each user/page pair once (plus the closing events' one pair).
  auto firsts = WaitForEvents("first-views", pages.size() + 1, 0, 30000);
  EXPECT_EQ(firsts.size(), pages.size() + 1);

  // Both tasks own keys: each task's window saw some of the rows, together all of them.
  auto window_rows_in = [](const codec::JsonValue& task) -> int64_t {
    for (const auto& op : task.Find("operators")->items()) {
      if (op.Find("name")->text() == "per_user") return op.Find("rows_in")->AsInt64().value();
    }
    return 0;
  };
  auto d = DescribeWhen("views", [&](const codec::JsonValue& j) {
    int64_t rows = 0;
    for (const auto& task : j.Find("tasks")->items()) rows += window_rows_in(task);
    return rows >= kPartitions * 61 && j.Find("events_in")->AsInt64() >= kPartitions * 61;
  });
  ASSERT_EQ(d.status, 200) << d.body;
  const auto& tasks = d.json.Find("tasks")->items();
  ASSERT_EQ(tasks.size(), 2u);
  int64_t window_rows = 0;
  for (const auto& task : tasks) {
    int64_t rows = window_rows_in(task);
    EXPECT_GT(rows, 0) << d.body;
    window_rows += rows;
  }
  EXPECT_EQ(window_rows, kPartitions * 61);
  EXPECT_EQ(d.json.Find("events_in")->AsInt64(), kPartitions * 61) << d.body;

  // Keyed state is partitioned per task: the task count cannot change on replace.
  std::string spec = d.json.Find("spec")->text();
  spec.replace(spec.find("parallelism: 2"), 14, "parallelism: 3");
  auto again = Deploy(spec, "?replace=true");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("cannot change"), std::string::npos) << again.body;
  // Deleting the pipeline deletes its exchanges.
  auto del = Call(*client_, "DELETE", "/v1/pipelines/views");
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(Call(*client_, "GET", "/v1/topics/_exchange.views.per_user.0").status, 404);
}

// More tasks than partitions: task 1 reads nothing, says so (idle) through the exchange, and
// the windows task 0 feeds still close.
TEST_F(PipelineTest, ATaskWithoutPartitionsDoesNotHoldBackTheExchange) {
  CreateTopic("one");
  CreateTopic("one-counts");
  auto r = Deploy(R"(name: spread
parallelism: 2
sources: [{name: s, topic: one, start: earliest, event_time: ts}]
operators:
  - {name: w, type: window, input: s, key: k, key_name: k, window: {kind: tumbling, size: 1s},
     aggregates: {n: count(*)}}
outputs: [{name: out, input: w, topic: one-counts}]
)");
  ASSERT_EQ(r.status, 201) << r.body;
  Produce("one", R"([{"k":"a","ts":100},{"k":"b","ts":200},{"k":"a","ts":300},{"k":"c","ts":5000}])");
  auto events = WaitForEvents("one-counts", 2, 0, 15000);
  ASSERT_EQ(events.size(), 2u) << server_->Output();
  std::map<std::string, int64_t> counts;
  for (const auto& e : events) {
    counts[e.Find("value")->Find("k")->text()] = e.Find("value")->Find("n")->AsInt64().value();
  }
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"a", 2}, {"b", 1}}));
}

TEST_F(PipelineTest, BadEventsGoToTheErrorTopicWithTheReason) {
  CreateTopic("raw");
  CreateTopic("parsed");
  auto r = Deploy(R"SPEC(name: parse
sources: [{name: s, topic: raw, start: earliest}]
operators:
  - {name: m, type: map, input: s, fields: {n: "CAST(v AS BIGINT)"}}
outputs: [{name: o, input: m, topic: parsed}]
)SPEC");
  ASSERT_EQ(r.status, 201) << r.body;
  Produce("raw", R"([{"v":"1"},{"v":"one"},{"v":"2"}])");
  // Bytes that are not JSON, through the REST Proxy's binary format ("not json" in base64).
  auto bin = Call(*client_, "POST", "/topics/raw", R"({"records":[{"value":"bm90IGpzb24="}]})",
                  "application/vnd.kafka.binary.v2+json");
  ASSERT_EQ(bin.status, 200) << bin.body;
  auto out = WaitForEvents("parsed", 2);
  ASSERT_EQ(out.size(), 2u);
  auto errors = WaitForEvents("parse.errors", 2);
  ASSERT_EQ(errors.size(), 2u);
  // Undecodable bytes are reported while reading, expression errors while processing: the two
  // may land in either order.
  if (errors[0].Find("value")->ToJson() != R"({"v":"one"})") std::swap(errors[0], errors[1]);
  EXPECT_EQ(errors[0].Find("value")->ToJson(), R"({"v":"one"})");
  EXPECT_NE(errors[0].Find("headers")->Find("sluice-error-reason")->text().find("field 'n'"),
            std::string::npos);
  EXPECT_EQ(errors[0].Find("headers")->Find("sluice-pipeline")->text(), "parse");
  EXPECT_EQ(errors[1].Find("value")->text(), "not json");
  EXPECT_NE(errors[1].Find("headers")->Find("sluice-error-reason")->text().find("invalid JSON"),
            std::string::npos);
}

// An event time near the int64 maximum made a tumbling window loop on overflowing arithmetic,
// hanging a shard (and again after a restart), and a double like 1.5e300 was converted out of
// range and vanished. Event times outside the years 1 to 9999 now go to the error output.
TEST_F(PipelineTest, EventTimesOutOfRangeGoToTheErrorTopicAndWindowsStayCorrect) {
  CreateTopic("ticks");
  CreateTopic("counts");
  auto r = Deploy(R"SPEC(name: w
sources: [{name: s, topic: ticks, start: earliest, event_time: ts}]
operators:
  - name: c
    type: window
    input: s
    window: {kind: tumbling, size: 10s}
    aggregates: {n: "count(*)"}
outputs: [{name: o, input: c, topic: counts}]
)SPEC");
  ASSERT_EQ(r.status, 201) << r.body;
  Produce("ticks", R"([{"ts":1000},{"ts":9223372036854775000},{"ts":1.5e300},{"ts":2000},)"
                   R"({"ts":-9223372036854775000},{"ts":25000}])");
  auto errors = WaitForEvents("w.errors", 3);
  ASSERT_EQ(errors.size(), 3u);
  for (const auto& e : errors) {
    EXPECT_NE(e.Find("headers")->Find("sluice-error-reason")->text().find("years 1 to 9999"),
              std::string::npos)
        << e.ToJson();
  }
  auto counts = WaitForEvents("counts", 1);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].Find("value")->Find("n")->AsInt64(), 2) << counts[0].ToJson();
  EXPECT_EQ(counts[0].Find("value")->Find("window_start")->AsInt64(), 0) << counts[0].ToJson();
  // The server still answers (the overflow hung a shard thread for good).
  EXPECT_EQ(Call(*client_, "GET", "/health/ready").status, 200);
  // A record timestamp out of range (no event_time expression) is refused the same way.
  auto r2 = Deploy(R"SPEC(name: rt
sources: [{name: s, topic: ticks, start: earliest}]
operators:
  - {name: c, type: window, input: s, window: {kind: session, gap: 10s}, aggregates: {n: "count(*)"}}
outputs: [{name: o, input: c, topic: counts}]
)SPEC");
  ASSERT_EQ(r2.status, 201) << r2.body;
  auto env = Call(*client_, "POST", "/v1/topics/ticks/events?envelope=true",
                  R"([{"value":{"a":1},"timestamp":9223372036854775000}])");
  ASSERT_EQ(env.status, 200) << env.body;
  auto rt_errors = WaitForEvents("rt.errors", 1);
  ASSERT_EQ(rt_errors.size(), 1u);
  EXPECT_NE(rt_errors[0].Find("headers")->Find("sluice-error-reason")->text().find(
                "record timestamp 9223372036854775000"),
            std::string::npos)
      << rt_errors[0].ToJson();
  EXPECT_EQ(Call(*client_, "GET", "/health/ready").status, 200);
}

TEST_F(PipelineTest, AvroEventsAreDecodedWithTheRegistryAndLineageRecordsThePipeline) {
  CreateTopic("readings");
  CreateTopic("hot");
  // The REST Proxy encodes JSON into Avro binary in the Confluent wire format, registering the
  // schema as readings-value.
  std::string body = R"({"value_schema":"{\"type\":\"record\",\"name\":\"Reading\",\"fields\":[)"
                     R"({\"name\":\"sensor\",\"type\":\"string\"},{\"name\":\"celsius\",\"type\":\"double\"},)"
                     R"({\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}",)"
                     R"("records":[{"value":{"sensor":"s1","celsius":21.5,"at":1000}},)"
                     R"({"value":{"sensor":"s2","celsius":48.0,"at":2000}}]})";
  auto p = Call(*client_, "POST", "/topics/readings", body, "application/vnd.kafka.avro.v2+json");
  ASSERT_EQ(p.status, 200) << p.body;
  int64_t id = p.json.Find("value_schema_id")->AsInt64().value();
  auto r = Deploy(R"SPEC(name: heat
sources: [{name: r, topic: readings, start: earliest, event_time: at}]
operators:
  - {name: hot, type: filter, input: r, condition: "celsius > 40"}
  - {name: m, type: map, input: hot, fields: {sensor: sensor, f: "celsius * 9 / 5 + 32", at: at}}
outputs: [{name: o, input: m, topic: hot}]
)SPEC");
  ASSERT_EQ(r.status, 201) << r.body;
  auto events = WaitForEvents("hot", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Find("value")->ToJson(), R"({"sensor":"s2","f":118.4,"at":2000})");
  EXPECT_EQ(events[0].Find("timestamp")->AsInt64(), 2000);  // event time from the Avro field

  // The registry's lineage shows the pipeline consuming that schema from the topic.
  auto reg = std::move(gateway::HttpClient::Create(server_->registry_url())).value();
  auto l = Call(*reg, "GET", "/v1/lineage/subjects/readings-value");
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_NE(l.body.find(R"("consumers":[{"topic":"readings","principal":"pipeline:heat","events":2)"),
            std::string::npos) << l.body;
  EXPECT_NE(l.body.find(std::to_string(id)), std::string::npos) << l.body;
}

TEST_F(PipelineTest, InvalidSpecsAreRefusedWithPositions) {
  CreateTopic("orders");
  auto r = Deploy("name: p\nsources:\n  - {name: s, topic: orders}\noperators:\n"
                  "  - {name: f, type: filter, input: s, condition: \"lenght(x) > 1\"}\n"
                  "outputs: [{name: o, input: f, type: discard}]\n");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("line 5"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("did you mean 'length'"), std::string::npos) << r.body;
  r = Deploy("name: p\nsources: [{name: s, topic: nope}]\noutputs: [{name: o, input: s, type: discard}]\n");
  ASSERT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("source topic 'nope' does not exist"), std::string::npos) << r.body;
  r = Call(*client_, "POST", "/v1/pipelines", "x", "image/png");
  EXPECT_EQ(r.status, 415);
  r = Deploy("name: [unclosed");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Deploy("name: p\nsources: [{name: s, topic: orders}]\noutputs: [{name: o, input: s, type: discard}]\n",
             "?dry_run=true");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/p").status, 404);  // a dry run deploys nothing
}

// Only the exact string "true" used to mean a dry run: dry_run=1 deployed the pipeline for real.
TEST_F(PipelineTest, BooleanQueryParametersTakeTheUsualSpellingsAndRefuseOthers) {
  CreateTopic("orders");
  const std::string spec = "name: p\nsources: [{name: s, topic: orders}]\n"
                           "outputs: [{name: o, input: s, type: discard}]\n";
  for (const char* q : {"?dry_run=1", "?dry_run=TRUE", "?dry_run=True", "?dry_run=true"}) {
    auto r = Deploy(spec, q);
    EXPECT_EQ(r.status, 200) << q << " " << r.body;
    EXPECT_EQ(r.body, R"({"valid":true})") << q;
    EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/p").status, 404) << q;
  }
  for (const char* q : {"?dry_run=yes", "?dry_run=2", "?replace=on"}) {
    auto r = Deploy(spec, q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_NE(r.body.find("must be true or false"), std::string::npos) << q << " " << r.body;
    EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/p").status, 404) << q;
  }
  auto r = Deploy(spec, "?dry_run=0");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Deploy(spec, "?replace=FALSE").status, 409);
  r = Deploy(spec, "?replace=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.Find("version")->AsInt64(), 2);
}

// docs/pipelines.md: a spec with a cycle is refused before anything runs. An output written to
// the pipeline's own source topic is one: a single event became thousands of records a second.
TEST_F(PipelineTest, AnOutputToItsOwnSourceTopicIsRefusedBeforeAnythingRuns) {
  CreateTopic("loop");
  CreateTopic("other");
  const std::string spec = "name: p\nsources: [{name: s, topic: loop}]\n"
                           "outputs: [{name: o, input: s, topic: loop}]\n";
  for (const char* q : {"?dry_run=true", ""}) {
    auto r = Deploy(spec, q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_NE(r.body.find("output 'o' writes topic 'loop', which source 's' reads"),
              std::string::npos)
        << r.body;
  }
  auto r = Deploy("name: p\nsources: [{name: s, topic: loop}]\nerrors_topic: loop\n"
                  "outputs: [{name: o, input: s, topic: other}]\n");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("the error output writes topic 'loop'"), std::string::npos) << r.body;
  EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/p").status, 404);
  // Nothing was written to the topic either.
  Produce("loop", R"([{"a":1}])");
  EXPECT_EQ(WaitForEvents("loop", 2, 0, 200).size(), 1u);
}

// docs/pipelines.md: a spec is application/yaml or application/json (415 otherwise); text/plain
// was taken as a spec. A request without a Content-Type is read as a spec, as on every JSON route.
TEST_F(PipelineTest, SpecsMustBeSentAsYamlOrJson) {
  CreateTopic("orders");
  const std::string spec = "name: p\nsources: [{name: s, topic: orders}]\n"
                           "outputs: [{name: o, input: s, type: discard}]\n";
  auto r = Call(*client_, "POST", "/v1/pipelines?dry_run=true", spec, "text/plain");
  EXPECT_EQ(r.status, 415) << r.body;
  r = Call(*client_, "PUT", "/v1/pipelines/p", spec, "text/plain; charset=utf-8");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/p").status, 404);
  r = Call(*client_, "POST", "/v1/pipelines?dry_run=true", spec, "");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(PipelineTest, PauseResumeReplaceAndDelete) {
  CreateTopic("orders");
  CreateTopic("big");
  ASSERT_EQ(Deploy(kBigOrders).status, 201);
  EXPECT_EQ(Deploy(kBigOrders).status, 409);  // exists; replace must be asked for
  auto p = Call(*client_, "POST", "/v1/pipelines/big-orders/pause");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json.Find("state")->text(), "paused");
  Produce("orders", R"([{"id":"x","amount":500}])");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(WaitForEvents("big", 1, 0, 100).empty());
  ASSERT_EQ(Call(*client_, "POST", "/v1/pipelines/big-orders/resume").status, 200);
  EXPECT_EQ(WaitForEvents("big", 1).size(), 1u);

  std::string v2 = kBigOrders;
  v2.replace(v2.find("amount >= 100"), 13, "amount >= 10");
  auto r = Deploy(v2, "?replace=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.Find("version")->AsInt64(), 2);
  Produce("orders", R"([{"id":"y","amount":20}])");
  auto events = WaitForEvents("big", 2);
  ASSERT_EQ(events.size(), 2u);  // v2 continues where v1 stopped: "x" is not repeated
  EXPECT_EQ(events[1].Find("value")->Find("id")->text(), "y");

  const std::string in_series = "sluice_pipeline_events_in_total{pipeline=\"big-orders\"}";
  EXPECT_NE(Call(*client_, "GET", "/metrics").body.find(in_series), std::string::npos);
  ASSERT_EQ(Call(*client_, "DELETE", "/v1/pipelines/big-orders").status, 200);
  EXPECT_EQ(Call(*client_, "GET", "/v1/pipelines/big-orders").status, 404);
  EXPECT_EQ(Call(*client_, "DELETE", "/v1/pipelines/big-orders").status, 404);
  // A deleted pipeline's series leave /metrics; deployed again, they are back.
  auto exposed = [&] {
    return Call(*client_, "GET", "/metrics").body.find("pipeline=\"big-orders\"") !=
           std::string::npos;
  };
  for (int i = 0; exposed(); ++i) {
    ASSERT_LT(i, 100) << "the deleted pipeline's series are still exposed after 5 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(Deploy(kBigOrders).status, 201);
  for (int i = 0; !exposed(); ++i) {
    ASSERT_LT(i, 100) << "the redeployed pipeline's series never came back";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(Call(*client_, "GET", "/metrics").body.find(in_series), std::string::npos);
}

TEST_F(PipelineTest, PipelinesComeBackAfterARestartWithoutRepeatingOutputs) {
  CreateTopic("orders");
  CreateTopic("big");
  ASSERT_EQ(Deploy(kBigOrders).status, 201);
  Produce("orders", R"([{"id":"a","amount":100},{"id":"b","amount":200}])");
  ASSERT_EQ(WaitForEvents("big", 2).size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // positions committed (1 s)
  ASSERT_EQ(server_->Stop(), 0) << server_->Output();
  ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  Connect();
  auto d = Call(*client_, "GET", "/v1/pipelines/big-orders");
  ASSERT_EQ(d.status, 200) << d.body;
  Produce("orders", R"([{"id":"c","amount":300}])");
  auto events = WaitForEvents("big", 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].Find("value")->Find("id")->text(), "c");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(WaitForEvents("big", 4, 0, 100).size(), 3u);
}

// A checkpoint bigger than one record (dedup state for 30,000 long keys, over 2 MB) is stored
// in parts; after a SIGKILL the task restores all of it: not one key is emitted twice.
TEST_F(PipelineTest, ACheckpointLargerThanOneRecordIsStoredInPartsAndRestored) {
  CreateTopic("clicks");
  CreateTopic("first-clicks");
  ASSERT_EQ(Deploy(R"(name: firsts
sources: [{name: c, topic: clicks, start: earliest, event_time: ts}]
operators:
  - {name: once, type: dedup, input: c, key: id, within: 1d}
outputs: [{name: out, input: once, topic: first-clicks}]
)").status, 201);
  constexpr int kKeys = 30000;
  auto produce = [&](int64_t ts) {
    for (int b = 0; b < 3; ++b) {
      std::string body = "[";
      for (int i = b * kKeys / 3; i < (b + 1) * kKeys / 3; ++i) {
        body += fmt::format(R"({}{{"id":"click-{:06}-{}","ts":{}}})", body.size() > 1 ? "," : "",
                            i, std::string(48, 'x'), ts + i);
      }
      Produce("clicks", body + "]");
    }
  };
  auto has_offset = [&](int64_t offset) {
    auto r = Call(*client_, "GET", fmt::format("/v1/topics/first-clicks/partitions/0/events?offset={}&max=1", offset));
    return r.status == 200 && !r.json.Find("events")->items().empty();
  };
  auto wait_for_offset = [&](int64_t offset) {
    for (int i = 0; i < 600 && !has_offset(offset); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return has_offset(offset);
  };
  produce(1000);
  ASSERT_TRUE(wait_for_offset(kKeys - 1));
  // The checkpoint that let those out holds every key.
  auto m = Call(*client_, "GET", "/metrics");
  const std::string series = "sluice_pipeline_checkpoint_bytes{pipeline=\"firsts\"} ";
  auto at = m.body.find(series);
  ASSERT_NE(at, std::string::npos);
  double bytes = std::stod(m.body.substr(at + series.size()));
  EXPECT_GT(bytes, 2.0 * kCheckpointPartBytesForTest) << "state too small to need parts";

  server_->Signal(SIGKILL);
  ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  Connect();
  produce(5000);  // every key again: all duplicates
  Produce("clicks", R"([{"id":"new","ts":999999}])");
  ASSERT_TRUE(wait_for_offset(kKeys)) << server_->Output();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(has_offset(kKeys + 1));
  auto last = Call(*client_, "GET", fmt::format("/v1/topics/first-clicks/partitions/0/events?offset={}&max=1", kKeys));
  EXPECT_EQ(last.json.Find("events")->items()[0].Find("value")->Find("id")->text(), "new");
}

// A regular join with a 1 KiB budget: its keys spill to the local RocksDB directory, a clean
// restart restores them from the final checkpoint, and the join goes on as if nothing happened.
TEST_F(PipelineTest, RegularJoinSpillsToDiskAndKeepsItsStateAcrossARestart) {
  CreateTopic("orders");
  CreateTopic("payments");
  CreateTopic("paid");
  ASSERT_EQ(Deploy(R"(name: paid
checkpoint_interval: 100ms
sources:
  - {name: orders, topic: orders, start: earliest}
  - {name: payments, topic: payments, start: earliest}
operators:
  - name: j
    type: join
    inputs: [orders, payments]
    join: {kind: regular, left_key: id, right_key: id, as: [o, p]}
    state_memory: 1KiB
    state_ttl: 1d
outputs:
  - {name: out, input: j, topic: paid, key: o.id}
)").status, 201);
  std::string orders = "[";
  for (int i = 0; i < 40; ++i) {
    orders += fmt::format(R"({}{{"id":"o{}","item":"{}"}})", i ? "," : "", i, std::string(60, 'x'));
  }
  Produce("orders", orders + "]");
  // Wait until the join has spilled keys.
  auto counter = [&](std::string_view name) -> int64_t {
    auto d = Call(*client_, "GET", "/v1/pipelines/paid");
    if (d.status != 200) return -1;
    for (const auto& t : d.json.Find("tasks")->items()) {
      for (const auto& op : t.Find("operators")->items()) {
        if (op.Find("name")->text() != "j" || op.Find("counters") == nullptr) continue;
        const codec::JsonValue* c = op.Find("counters")->Find(name);
        return c == nullptr ? -1 : c->AsInt64().value_or(-1);
      }
    }
    return -1;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (counter("keys") < 40 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(counter("keys"), 40);
  EXPECT_GT(counter("spilled_keys"), 0);
  EXPECT_FALSE(std::filesystem::is_empty(dir_->path() + "/data/pipeline-state"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a checkpoint after the last event
  ASSERT_EQ(server_->Stop(), 0) << server_->Output();
  ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  Connect();
  std::string payments = "[";
  for (int i = 0; i < 40; ++i) payments += fmt::format(R"({}{{"id":"o{}","ok":true}})", i ? "," : "", i);
  Produce("payments", payments + "]");
  auto events = WaitForEvents("paid", 40);
  ASSERT_EQ(events.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    const codec::JsonValue* v = events[i].Find("value");
    EXPECT_EQ(v->Find("o")->Find("id")->text(), fmt::format("o{}", i));
    EXPECT_EQ(v->Find("p")->Find("id")->text(), fmt::format("o{}", i));
  }
  EXPECT_GT(counter("unspills"), 0);  // keys restored to disk came back for their payments
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(WaitForEvents("paid", 41, 0, 100).size(), 40u);
}

TEST_F(PipelineTest, CliDeploysListsAndDescribes) {
  CreateTopic("orders");
  CreateTopic("big");
  std::string file = dir_->path() + "/p.yaml";
  std::ofstream(file) << kBigOrders;
  std::vector<std::string> env = {"SLUICE_SERVER=" + server_->url()};
  auto r = RunCommand({SluiceBinary(), "pipeline", "deploy", file}, "", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployed pipeline big-orders version 1\n");
  r = RunCommand({SluiceBinary(), "pipeline", "list"}, "", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("big-orders"), std::string::npos) << r.out;
  r = RunCommand({SluiceBinary(), "pipeline", "describe", "big-orders"}, "", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("OPERATOR"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("big"), std::string::npos) << r.out;
  std::ofstream(file) << "name: x\nsources: []\n";
  r = RunCommand({SluiceBinary(), "pipeline", "validate", file}, "", env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("at least one source"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::e2e

namespace sluice::e2e {
namespace {

// Outputs that cannot be appended (here: the disk is nearly full) are retried, not dropped, and
// the retries do not flood the log: one warning per 30 s for the same kind of error.
TEST_F(PipelineTest, OutputsRefusedForAFullDiskAreRetriedAndLoggedSparingly) {
  CreateTopic("orders");
  CreateTopic("big");
  ASSERT_EQ(Deploy(kBigOrders).status, 201);
  Produce("orders", R"([{"id":"a","amount":150}])");
  ASSERT_EQ(WaitForEvents("big", 1).size(), 1u);
  // Input that the pipeline will meet only once the disk is "full".
  ASSERT_EQ(Call(*client_, "POST", "/v1/pipelines/big-orders/pause").status, 200);
  Produce("orders", R"([{"id":"b","amount":200},{"id":"c","amount":300}])");
  ASSERT_EQ(server_->Stop(), 0) << server_->Output();

  const std::string data = dir_->path() + "/data";
  {
    ServerProcess full(data, dir_->path() + "/full.log",
                       {"--grpc-listen", "", "--set", "store.min_free_bytes=4611686018427387904"});
    ASSERT_TRUE(full.Start().ok()) << full.Output();
    auto c = std::move(gateway::HttpClient::Create(full.url())).value();
    ASSERT_EQ(Call(*c, "POST", "/v1/pipelines/big-orders/resume").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // ~6 retried cycles
    const std::string log = full.Output();
    size_t warnings = 0;
    for (size_t at = log.find("pipeline big-orders task 0: "); at != std::string::npos;
         at = log.find("pipeline big-orders task 0: ", at + 1)) {
      ++warnings;
    }
    EXPECT_EQ(warnings, 1u) << log;
    EXPECT_NE(log.find("disk is nearly full"), std::string::npos) << log;
    auto big = Call(*c, "GET", "/v1/topics/big/partitions/0/events?offset=0");
    EXPECT_EQ(big.json.Find("events")->items().size(), 1u) << big.body;
    EXPECT_EQ(full.Stop(), 0) << full.Output();
  }
  // Space again: the outputs held back arrive.
  ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  Connect();
  auto events = WaitForEvents("big", 3);
  ASSERT_GE(events.size(), 3u);
  EXPECT_NE(events.back().Find("value")->ToJson().find("\"id\":\"c\""), std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
