// End-to-end tests of the enrich operator through the real `sluice serve`: a lookup table
// materialised from a compacted topic (updates, tombstones, catch-up before events, a restart
// from the checkpoint), and lookups in a real PostgreSQL server started by the test (typed
// columns, cache hits, TTL expiry, query errors and a lost server going to the error output).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

class EnrichTest : public ::testing::Test {
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

  void CreateTopic(const std::string& name, int partitions = 1, bool compact = false) {
    auto r = Call(*client_, "POST", "/v1/topics",
                  fmt::format(R"({{"name":"{}","partitions":{}{}}})", name, partitions,
                              compact ? R"(,"config":{"cleanup_policy":"compact"})" : ""));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void Produce(const std::string& topic, const std::string& body, bool envelope = false) {
    auto r = Call(*client_, "POST",
                  "/v1/topics/" + topic + "/events" + (envelope ? "?envelope=true" : ""), body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // Every event of partition 0 of `topic`, waiting until there are at least `n`.
  std::vector<codec::JsonValue> WaitForEvents(const std::string& topic, size_t n,
                                              int timeout_ms = 15000) {
    std::vector<codec::JsonValue> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    do {
      auto r = Call(*client_, "GET",
                    fmt::format("/v1/topics/{}/partitions/0/events?offset=0&max=1000", topic));
      if (r.status == 200) {
        out = r.json.Find("events")->items();
        if (out.size() >= n) return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }
  // Counter `name` of operator `op` of the pipeline's task 0 (-1 when absent).
  int64_t OperatorCounter(const std::string& pipeline, const std::string& op,
                          const std::string& name) {
    auto r = Call(*client_, "GET", "/v1/pipelines/" + pipeline);
    if (r.status != 200) return -1;
    const auto* tasks = r.json.Find("tasks");
    if (tasks == nullptr || tasks->items().empty()) return -1;
    for (const auto& o : tasks->items()[0].Find("operators")->items()) {
      if (o.Find("name")->text() != op) continue;
      const auto* counters = o.Find("counters");
      const auto* c = counters ? counters->Find(name) : nullptr;
      return c ? c->AsInt64().value_or(-1) : -1;
    }
    return -1;
  }
  bool WaitForCounter(const std::string& pipeline, const std::string& op, const std::string& name,
                      int64_t at_least) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (OperatorCounter(pipeline, op, name) >= at_least) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Waits until the status of the pipeline's task 0 shows partition 0 of source topic `topic`
  // read up to `offset`. The status is published once per cycle, after the cycle's outputs are
  // appended, so counters read after this reflect every event before `offset`.
  bool WaitForPosition(const std::string& pipeline, const std::string& topic, int64_t offset) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Call(*client_, "GET", "/v1/pipelines/" + pipeline);
      const auto* tasks = r.status == 200 ? r.json.Find("tasks") : nullptr;
      if (tasks != nullptr && !tasks->items().empty()) {
        for (const auto& s : tasks->items()[0].Find("sources")->items()) {
          if (s.Find("topic")->text() == topic && s.Find("partition")->AsInt64() == 0 &&
              s.Find("position")->AsInt64().value_or(-1) >= offset) {
            return true;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  static std::string ValueOf(const codec::JsonValue& event) { return event.Find("value")->ToJson(); }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<gateway::HttpClient> client_;
};

// ----------------------------------------------------------------------------- topic table

TEST_F(EnrichTest, TopicTableEnrichesWithTheLatestRowPerKeyAndSurvivesARestart) {
  CreateTopic("users", 2, /*compact=*/true);
  CreateTopic("orders");
  CreateTopic("enriched");
  Produce("users",
          R"([{"key":"u1","value":{"name":"Ann"}},{"key":"u2","value":{"name":"Bob"}},
              {"key":"u3","value":{"name":"Cy"}},{"key":"u3","value":null}])",
          /*envelope=*/true);
  // Orders already waiting when the pipeline starts still see the whole table: events are held
  // until the table has read its topic's contents at start.
  Produce("orders", R"([{"id":1,"user":"u1"},{"id":2,"user":"u3"},{"id":3,"user":"u2"}])");
  auto r = Call(*client_, "POST", "/v1/pipelines", R"(name: enrich-users
checkpoint_interval: 100ms
sources:
  - {name: orders, topic: orders, start: earliest}
operators:
  - {name: with_user, type: enrich, input: orders, on: user, as: u, mode: left, lookup: {topic: users}}
outputs:
  - {name: out, input: with_user, topic: enriched}
)",
                "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body;
  auto events = WaitForEvents("enriched", 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(ValueOf(events[0]), R"({"id":1,"user":"u1","u":{"name":"Ann"}})");
  EXPECT_EQ(ValueOf(events[1]), R"({"id":2,"user":"u3","u":null})");
  EXPECT_EQ(ValueOf(events[2]), R"({"id":3,"user":"u2","u":{"name":"Bob"}})");
  ASSERT_TRUE(WaitForPosition("enrich-users", "orders", 3));
  EXPECT_EQ(OperatorCounter("enrich-users", "with_user", "table_keys"), 2);

  // An update, and a deletion: wait until the table has applied them (lookups are in
  // processing time), then look up.
  Produce("users", R"([{"key":"u1","value":{"name":"Anna"}},{"key":"u2","value":null}])", true);
  ASSERT_TRUE(WaitForCounter("enrich-users", "with_user", "table_deletes", 2));
  Produce("orders", R"([{"id":4,"user":"u1"},{"id":5,"user":"u2"}])");
  events = WaitForEvents("enriched", 5);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(ValueOf(events[3]), R"({"id":4,"user":"u1","u":{"name":"Anna"}})");
  EXPECT_EQ(ValueOf(events[4]), R"({"id":5,"user":"u2","u":null})");

  // After a restart the table comes back from the checkpoint; nothing is repeated.
  ASSERT_EQ(server_->Stop(), 0) << server_->Output();
  Status st = server_->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  Connect();
  Produce("orders", R"([{"id":6,"user":"u1"}])");
  events = WaitForEvents("enriched", 6);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(ValueOf(events[5]), R"({"id":6,"user":"u1","u":{"name":"Anna"}})");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(WaitForEvents("enriched", 7, 200).size(), 6u);
}

// ----------------------------------------------------------------------------- PostgreSQL

// A PostgreSQL server in a temporary directory on a free loopback port, trust authentication.
// As root it runs as the `postgres` user (initdb refuses root).
class PostgresServer {
 public:
  static std::string BinDir() {
    for (const char* v : {"15", "16", "17", "14", "13"}) {
      std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (::access((dir + "/initdb").c_str(), X_OK) == 0 &&
          ::access((dir + "/pg_ctl").c_str(), X_OK) == 0 &&
          ::access((dir + "/psql").c_str(), X_OK) == 0) {
        return dir;
      }
    }
    return {};
  }

  PostgresServer() : bin_(BinDir()) {}
  ~PostgresServer() {
    if (started_) Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Errors: what failed, with the tool's output.
  Status Start() {
    char tmpl[] = "/tmp/sluice-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return Internal("mkdtemp failed");
    dir_ = tmpl;
    if (::geteuid() == 0) {
      auto chown = RunCommand({"/bin/chown", "postgres:postgres", dir_});
      if (chown.exit_code != 0) return Internal("chown: {}", chown.err);
    }
    port_ = FreePort();
    auto init = RunCommand(AsOwner({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8", "--no-sync"}));
    if (init.exit_code != 0) return Internal("initdb: {}{}", init.out, init.err);
    auto start = RunCommand(AsOwner(
        {bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-t", "60",
         "-o",
         fmt::format("-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' "
                     "-c fsync=off",
                     port_),
         "start"}));
    if (start.exit_code != 0) return Internal("pg_ctl start: {}{}", start.out, start.err);
    started_ = true;
    return Status::Ok();
  }
  void Stop() {
    (void)RunCommand(AsOwner({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"}));
    started_ = false;
  }
  std::string Dsn() const {
    return fmt::format("host=127.0.0.1 port={} dbname=postgres user=postgres", port_);
  }
  // Runs SQL with psql; stops at the first error.
  CommandResult Sql(const std::string& sql) {
    return RunCommand({bin_ + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", Dsn(), "-c", sql});
  }

 private:
  std::vector<std::string> AsOwner(std::vector<std::string> argv) const {
    if (::geteuid() != 0) return argv;
    std::vector<std::string> out = {"/sbin/runuser", "-u", "postgres", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  std::string bin_;
  std::string dir_;
  uint16_t port_ = 0;
  bool started_ = false;
};

TEST_F(EnrichTest, PostgresLookupEnrichesWithTypedRowsCachesThemAndReportsQueryErrors) {
  if (PostgresServer::BinDir().empty()) {
    GTEST_SKIP() << "PostgreSQL server binaries (initdb, pg_ctl, psql under "
                    "/usr/lib/postgresql/<version>/bin) are not installed: scripts/bootstrap "
                    "installs the Debian package postgresql";
  }
  PostgresServer pg;
  Status st = pg.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto sql = pg.Sql(R"(
    CREATE TABLE customers (id int PRIMARY KEY, name text, tier varchar(10), credit float8,
                            active bool, prefs jsonb, since timestamptz, note text);
    INSERT INTO customers VALUES
      (1, 'Ann', 'gold', 12.5, true, '{"lang": "en"}', '2024-01-02 05:04:05.678+02', NULL),
      (2, 'Bob', 'basic', 0, false, '[1, 2]', '1970-01-01 00:00:01+00', 'x'),
      (3, 'Cy', 'basic', 1, true, NULL, NULL, NULL),
      (13, 'Unlucky', 'none', 0, false, NULL, NULL, NULL);)");
  ASSERT_EQ(sql.exit_code, 0) << sql.out << sql.err;

  CreateTopic("orders");
  CreateTopic("enriched");
  // ratio: 10 / (id - 13) fails for customer 13 (division by zero).
  auto r = Call(*client_, "POST", "/v1/pipelines", fmt::format(R"(name: enrich-pg
delivery: at_least_once
sources:
  - {{name: orders, topic: orders, start: earliest}}
operators:
  - name: with_customer
    type: enrich
    input: orders
    on: customer_id
    as: customer
    mode: left
    lookup:
      postgres:
        dsn: "{}"
        query: "SELECT name, tier, credit, active, prefs, since, note, 10 / (id - 13) AS ratio FROM customers WHERE id = $1"
        cache_ttl: 6s
        cache_size: 1000
        timeout: 5s
outputs:
  - {{name: out, input: with_customer, topic: enriched}}
)",
                                                               pg.Dsn()),
                "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body;
  Produce("orders", R"([{"o":1,"customer_id":1},{"o":2,"customer_id":2},{"o":3,"customer_id":999},
                        {"o":4,"customer_id":13},{"o":5,"customer_id":"abc"},{"o":6,"customer_id":1}])");
  auto events = WaitForEvents("enriched", 4);
  ASSERT_EQ(events.size(), 4u);
  // 2024-01-02 05:04:05.678+02 = 1704164645678 ms.
  EXPECT_EQ(ValueOf(events[0]),
            R"({"o":1,"customer_id":1,"customer":{"name":"Ann","tier":"gold","credit":12.5,)"
            R"("active":true,"prefs":{"lang":"en"},"since":1704164645678,"note":null,"ratio":0}})");
  EXPECT_EQ(ValueOf(events[1]),
            R"({"o":2,"customer_id":2,"customer":{"name":"Bob","tier":"basic","credit":0,)"
            R"("active":false,"prefs":[1,2],"since":1000,"note":"x","ratio":0}})");
  EXPECT_EQ(ValueOf(events[2]), R"({"o":3,"customer_id":999,"customer":null})");
  EXPECT_EQ(events[3].Find("value")->Find("o")->AsInt64(), 6);

  // Query errors go to the error output with PostgreSQL's reason.
  auto errors = WaitForEvents("enrich-pg.errors", 2);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(ValueOf(errors[0]), R"({"o":4,"customer_id":13})");
  std::string reason0 = errors[0].Find("headers")->Find("sluice-error-reason")->text();
  EXPECT_NE(reason0.find("division by zero"), std::string::npos) << reason0;
  std::string reason1 = errors[1].Find("headers")->Find("sluice-error-reason")->text();
  EXPECT_NE(reason1.find("invalid input syntax for type integer"), std::string::npos) << reason1;
  EXPECT_EQ(errors[1].Find("headers")->Find("sluice-operator")->text(), "with_customer");

  // Order 6 (customer 1 again) did not query: 5 distinct keys, 5 queries.
  ASSERT_TRUE(WaitForPosition("enrich-pg", "orders", 6));
  EXPECT_EQ(OperatorCounter("enrich-pg", "with_customer", "queries"), 5);
  EXPECT_GE(OperatorCounter("enrich-pg", "with_customer", "cache_hits"), 1);
  EXPECT_EQ(OperatorCounter("enrich-pg", "with_customer", "query_errors"), 2);

  // Within the TTL a changed row is still served from the cache; after it, read again.
  sql = pg.Sql("UPDATE customers SET name = 'Anna' WHERE id = 1");
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  int64_t hits = OperatorCounter("enrich-pg", "with_customer", "cache_hits");
  Produce("orders", R"([{"o":7,"customer_id":1}])");
  events = WaitForEvents("enriched", 5);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[4].Find("value")->Find("customer")->Find("name")->text(), "Ann");
  ASSERT_TRUE(WaitForPosition("enrich-pg", "orders", 7));
  EXPECT_EQ(OperatorCounter("enrich-pg", "with_customer", "cache_hits"), hits + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(6500));
  Produce("orders", R"([{"o":8,"customer_id":1}])");
  events = WaitForEvents("enriched", 6);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[5].Find("value")->Find("customer")->Find("name")->text(), "Anna");
  ASSERT_TRUE(WaitForPosition("enrich-pg", "orders", 8));
  EXPECT_GE(OperatorCounter("enrich-pg", "with_customer", "cache_expirations"), 1);

  // The server goes away: lookups fail to the error output (customer 2's entry has expired
  // too; the second key of the trip fails at once with the first one's reason) and the pipeline
  // runs on.
  pg.Stop();
  Produce("orders", R"([{"o":9,"customer_id":3},{"o":10,"customer_id":2}])");
  errors = WaitForEvents("enrich-pg.errors", 4);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(ValueOf(errors[2]), R"({"o":9,"customer_id":3})");
  EXPECT_EQ(ValueOf(errors[3]), R"({"o":10,"customer_id":2})");
  for (size_t i = 2; i < 4; ++i) {
    std::string reason = errors[i].Find("headers")->Find("sluice-error-reason")->text();
    EXPECT_NE(reason.find("postgres"), std::string::npos) << reason;
  }
  auto d = Call(*client_, "GET", "/v1/pipelines/enrich-pg");
  EXPECT_EQ(d.json.Find("state")->text(), "running");
}

}  // namespace
}  // namespace sluice::e2e
