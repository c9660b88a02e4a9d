// End-to-end test of pipeline scale-out on Kafka: two `sluice serve --log kafka://...`
// processes share pipelines through the `_pipeline_tasks` consumer group of librdkafka's mock
// cluster (run in this test process). A pipeline deployed through one instance runs on both,
// its tasks spread over them; when one instance is SIGKILLed the other takes its tasks over,
// restoring their state from `_checkpoints`, and no input event's result is lost. The mock has
// no transactions (and Kafka appends are not atomic), so the guarantee checked here is
// at-least-once without loss; exactly-once is checked on the embedded store
// (pipeline_crash_test).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kOrders = 600;
constexpr int kOrderPartitions = 4;
constexpr int kBigPartitions = 2;

constexpr const char* kBigOrders = R"(name: big-orders
parallelism: 2
sources:
  - {name: orders, topic: orders, start: earliest}
operators:
  - {name: big, type: filter, input: orders, condition: "amount >= 100"}
  - {name: shaped, type: map, input: big, fields: {id: id, amount: amount, vip: "amount >= 1000"}}
outputs:
  - {name: out, input: shaped, topic: big, key: id}
)";

// A keyed window with parallelism 1: its open panes are state that must move with the task.
constexpr const char* kClicks = R"(name: clicks
sources:
  - {name: c, topic: clicks, start: earliest, event_time: ts}
operators:
  - name: per_user
    type: window
    input: c
    key: user
    key_name: user
    window: {kind: tumbling, size: 10s}
    aggregates: {clicks: count(*)}
outputs:
  - {name: out, input: per_user, topic: clicks-per-user}
)";

int Amount(int i) { return i % 3 == 0 ? 50 : 100 + i * 3; }

class KafkaScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ASSERT_NE(handle_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    ASSERT_NE(cluster_, nullptr);
    // The mock has no admin API: every topic, internal ones included, is made here.
    const std::vector<std::pair<const char*, int>> topics = {
        {"orders", kOrderPartitions}, {"big", kBigPartitions}, {"clicks", 1},
        {"clicks-per-user", 1},       {"_schemas", 1},         {"_pipelines", 1},
        {"_checkpoints", 1},          {"_pipeline_tasks", 8}};
    for (const auto& [name, partitions] : topics) {
      ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name, partitions, 1),
                RD_KAFKA_RESP_ERR_NO_ERROR) << name;
    }
    for (int i = 0; i < 2; ++i) {
      servers_.push_back(std::make_unique<ServerProcess>(
          dir_.path() + fmt::format("/data{}", i), dir_.path() + fmt::format("/server{}.log", i),
          std::vector<std::string>{
              "--log", std::string("kafka://") + rd_kafka_mock_cluster_bootstraps(cluster_),
              "--set", "kafka.admin_api=false", "--set", "kafka.group_session_timeout_ms=3000",
              "--set", "kafka.group_heartbeat_interval_ms=300"}));
      Status st = servers_.back()->Start();
      ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << servers_.back()->Output();
      clients_.push_back(std::move(gateway::HttpClient::Create(servers_.back()->url())).value());
    }
  }
  void TearDown() override {
    clients_.clear();
    for (auto& s : servers_) {
      if (s->running()) {
        EXPECT_EQ(s->Stop(), 0) << s->Output();
      }
    }
    servers_.clear();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (handle_) rd_kafka_destroy(handle_);
  }

  JsonResponse Do(int server, const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::string& content_type = "application/json") {
    return Call(*clients_[server], method, target, body, content_type, 60000);
  }

  // Tasks of `pipeline` that run on `server` (not "elsewhere"); -1 when it cannot tell.
  int LocalTasks(int server, const std::string& pipeline) {
    auto d = Do(server, "GET", "/v1/pipelines/" + pipeline);
    if (d.status != 200 || d.json.Find("tasks") == nullptr) return -1;
    int n = 0;
    for (const auto& t : d.json.Find("tasks")->items()) {
      if (t.Find("state")->text() != "elsewhere") ++n;
    }
    return n;
  }

  // Waits until pred() holds; false after timeout_ms.
  template <typename Pred>
  bool WaitFor(Pred pred, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred();
  }

  // Every event of every partition of `topic`, read through `server`.
  std::vector<codec::JsonValue> ReadAll(int server, const std::string& topic, int partitions) {
    std::vector<codec::JsonValue> out;
    for (int p = 0; p < partitions; ++p) {
      int64_t offset = 0;
      for (;;) {
        auto r = Do(server, "GET",
                    fmt::format("/v1/topics/{}/partitions/{}/events?offset={}&max=1000", topic,
                                p, offset));
        if (r.status != 200 || r.json.Find("events") == nullptr) break;
        const auto& events = r.json.Find("events")->items();
        if (events.empty()) break;
        for (const auto& e : events) out.push_back(e);
        offset = *events.back().Find("offset")->AsInt64() + 1;
        if (offset >= r.json.Find("high_watermark")->AsInt64().value_or(0)) break;
      }
    }
    return out;
  }

  void ProduceOrders(gateway::HttpClient& client, int from, int to) {
    std::string body = "[";
    for (int i = from; i < to; ++i) {
      if (i > from) body += ",";
      body += fmt::format(R"({{"key":"o{}","value":{{"id":"o{}","amount":{}}}}})", i, i,
                          Amount(i));
    }
    body += "]";
    auto r = Call(client, "POST", "/v1/topics/orders/events?envelope=true", body,
                  "application/json", 60000);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Click j: user u(j % 4) at ts j * 250 ms.
  void ProduceClicks(int server, int from, int to) {
    std::string body = "[";
    for (int j = from; j < to; ++j) {
      if (j > from) body += ",";
      body += fmt::format(R"({{"user":"u{}","ts":{}}})", j % 4, j * 250);
    }
    body += "]";
    auto r = Do(server, "POST", "/v1/topics/clicks/events", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // The results big-orders must produce for orders [0, n): key -> value.
  static std::map<std::string, std::string> ExpectedOrders(int n) {
    std::map<std::string, std::string> expected;
    for (int i = 0; i < n; ++i) {
      if (Amount(i) < 100) continue;
      expected[fmt::format("o{}", i)] =
          fmt::format(R"({{"id":"o{}","amount":{},"vip":{}}})", i, Amount(i),
                      Amount(i) >= 1000 ? "true" : "false");
    }
    return expected;
  }

  std::string Logs() {
    std::string out;
    for (size_t i = 0; i < servers_.size(); ++i) {
      out += fmt::format("--- server {} ---\n{}\n", i, servers_[i]->Output());
    }
    return out;
  }

  TempDir dir_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  std::vector<std::unique_ptr<gateway::HttpClient>> clients_;
};

TEST_F(KafkaScaleOutTest, TasksSpreadAndMoveToTheSurvivorWithoutLoss) {
  // Deployed through instance 0; instance 1 learns of them from `_pipelines`.
  auto r = Do(0, "POST", "/v1/pipelines", kBigOrders, "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body << Logs();
  r = Do(0, "POST", "/v1/pipelines", kClicks, "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body << Logs();
  ASSERT_TRUE(WaitFor([&] { return Do(1, "GET", "/v1/pipelines/clicks").status == 200; }, 10000))
      << Logs();

  // One task of big-orders on each instance (round-robin over consecutive slots), and the
  // window's single task on one of them.
  ASSERT_TRUE(WaitFor(
      [&] {
        return LocalTasks(0, "big-orders") == 1 && LocalTasks(1, "big-orders") == 1 &&
               LocalTasks(0, "clicks") + LocalTasks(1, "clicks") == 1;
      },
      60000))
      << "big-orders " << LocalTasks(0, "big-orders") << "/" << LocalTasks(1, "big-orders")
      << ", clicks " << LocalTasks(0, "clicks") << "/" << LocalTasks(1, "clicks") << "\n"
      << Logs();
  const int victim = LocalTasks(0, "clicks") == 1 ? 0 : 1;
  const int survivor = 1 - victim;

  // The window's first 60 clicks (ts 0 .. 14750): window [0, 10 s) fires, [10 s, 20 s) stays
  // open in the victim's state.
  ProduceClicks(survivor, 0, 60);
  ASSERT_TRUE(WaitFor([&] { return ReadAll(survivor, "clicks-per-user", 1).size() >= 4; }, 30000))
      << Logs();

  // Orders flow in while the victim is killed: once its task has produced output, or at the
  // latest halfway through the orders.
  std::atomic<int> produced{0};
  std::thread producer([&] {
    auto client = std::move(gateway::HttpClient::Create(servers_[survivor]->url())).value();
    for (int i = 0; i < kOrders; i += 20) {
      ProduceOrders(*client, i, i + 20);
      produced.store(i + 20);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  WaitFor(
      [&] {
        return produced.load() >= kOrders / 2 ||
               ReadAll(survivor, "big", kBigPartitions).size() >= 20;
      },
      60000);
  const int produced_at_kill = produced.load();
  servers_[victim]->Signal(SIGKILL);
  producer.join();
  EXPECT_LT(produced_at_kill, kOrders) << "the kill should come mid-stream";
  ProduceClicks(survivor, 60, 120);
  // A far-future click moves the watermark past every window above.
  {
    auto c = Do(survivor, "POST", "/v1/topics/clicks/events", R"({"user":"end","ts":1000000})");
    ASSERT_EQ(c.status, 200) << c.body;
  }

  // The survivor runs every task once the group noticed (session timeout 3 s).
  ASSERT_TRUE(WaitFor(
      [&] { return LocalTasks(survivor, "big-orders") == 2 && LocalTasks(survivor, "clicks") == 1; },
      60000))
      << Logs();

  // Every order of 100 or more came out, with the mapped fields (at least once).
  const auto expected = ExpectedOrders(kOrders);
  std::map<std::string, std::string> got;
  size_t records = 0;
  WaitFor(
      [&] {
        got.clear();
        auto all = ReadAll(survivor, "big", kBigPartitions);
        records = all.size();
        for (const auto& e : all) got[e.Find("key")->text()] = e.Find("value")->ToJson();
        return got.size() >= expected.size();
      },
      90000);
  EXPECT_EQ(got.size(), expected.size()) << Logs();
  for (const auto& [id, value] : expected) {
    auto it = got.find(id);
    ASSERT_NE(it, got.end()) << "lost: " << id << "\n" << Logs();
    EXPECT_EQ(it->second, value);
  }
  EXPECT_GE(records, expected.size());

  // Every window's count is exact: the open window's panes moved with the task's checkpoint
  // (a task restarted empty from the checkpoint's positions would count fewer). Repeated
  // results (at-least-once) must carry the same count.
  std::map<std::pair<int64_t, std::string>, int64_t> want;
  for (int j = 0; j < 120; ++j) ++want[{(j * 250) / 10000 * 10000, fmt::format("u{}", j % 4)}];
  std::map<std::pair<int64_t, std::string>, std::set<int64_t>> windows;
  WaitFor(
      [&] {
        windows.clear();
        for (const auto& e : ReadAll(survivor, "clicks-per-user", 1)) {
          const auto* v = e.Find("value");
          windows[{*v->Find("window_start")->AsInt64(), v->Find("user")->text()}].insert(
              *v->Find("clicks")->AsInt64());
        }
        return windows.size() >= want.size();
      },
      60000);
  EXPECT_EQ(windows.size(), want.size()) << Logs();
  for (const auto& [key, count] : want) {
    auto it = windows.find(key);
    ASSERT_NE(it, windows.end()) << "window " << key.first << " " << key.second << " missing\n"
                                 << Logs();
    EXPECT_EQ(it->second, std::set<int64_t>{count}) << "window " << key.first << " " << key.second;
  }
}

TEST_F(KafkaScaleOutTest, ACleanStopHandsTasksOverWithoutRepeatingOutputs) {
  auto r = Do(1, "POST", "/v1/pipelines", kBigOrders, "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body << Logs();
  ASSERT_TRUE(WaitFor(
      [&] { return LocalTasks(0, "big-orders") == 1 && LocalTasks(1, "big-orders") == 1; },
      60000))
      << Logs();

  // Instance 1 stops (SIGTERM) while orders flow: its task takes a final checkpoint, appends
  // that checkpoint's outputs and leaves the group; instance 0 gets the slot at once and resumes
  // from that checkpoint. Nothing is lost and, the hand-over being clean, nothing repeated.
  std::atomic<int> produced{0};
  std::thread producer([&] {
    auto client = std::move(gateway::HttpClient::Create(servers_[0]->url())).value();
    for (int i = 0; i < kOrders; i += 20) {
      ProduceOrders(*client, i, i + 20);
      produced.store(i + 20);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  WaitFor([&] { return produced.load() >= kOrders / 3; }, 60000);
  const auto stop_started = Clock::now();
  EXPECT_EQ(servers_[1]->Stop(), 0) << servers_[1]->Output();
  producer.join();
  // Well within a session timeout (3 s) after the stop: the leave made the group rebalance.
  ASSERT_TRUE(WaitFor([&] { return LocalTasks(0, "big-orders") == 2; }, 60000)) << Logs();
  EXPECT_LT(Clock::now() - stop_started, std::chrono::seconds(20));

  const auto expected = ExpectedOrders(kOrders);
  std::vector<codec::JsonValue> all;
  WaitFor(
      [&] {
        all = ReadAll(0, "big", kBigPartitions);
        return all.size() >= expected.size();
      },
      60000);
  std::map<std::string, int> seen;
  for (const auto& e : all) {
    const std::string id = e.Find("key")->text();
    ++seen[id];
    auto it = expected.find(id);
    ASSERT_NE(it, expected.end()) << "unexpected " << id;
    EXPECT_EQ(e.Find("value")->ToJson(), it->second);
  }
  EXPECT_EQ(seen.size(), expected.size()) << Logs();
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id << " repeated";
}

}  // namespace
}  // namespace sluice::e2e
