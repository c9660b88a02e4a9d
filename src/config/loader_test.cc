#include "config/loader.h"

#include <gtest/gtest.h>

#include <fstream>

namespace sluice::config {
namespace {

using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

class LoaderTest : public ::testing::Test {
 protected:
  // Writes `text` to a file in the test's temp dir and returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = ::testing::TempDir() + "sluice_config_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
    std::ofstream(path) << text;
    return path;
  }
  static Result<ServerConfig> Load(const Args& args, const Env& env = {}) {
    return LoadServerConfig(args, env);
  }
  static std::string Error(const Args& args, const Env& env = {}) {
    auto r = LoadServerConfig(args, env);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    return r.status().message();
  }
};

TEST_F(LoaderTest, NothingGivenYieldsDefaults) {
  auto r = Load({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, ServerConfig{});
}

TEST_F(LoaderTest, FileSetsEveryKey) {
  std::string path = WriteFile("all.yaml", R"(
data_dir: /var/lib/sluice
log_backend: kafka://k1:9092,k2:9092
shards: 8
blocking_threads: 2
insecure: true
http:
  listen: 0.0.0.0:9000
  max_request_bytes: 2000
  max_event_bytes: 1000
  max_events_per_request: 5
  max_connections: 7
  request_timeout_ms: 100
log: {level: debug, format: json}
store:
  default_durability: interval
  flush_interval_ms: 50
  segment_bytes: 4096
  retention_ms: -1
  housekeeping_interval_ms: 10
  checkpoint_interval_ms: 20
kafka:
  properties:
    security.protocol: SSL
    linger.ms: 5
)");
  auto r = Load({"--config", path});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServerConfig& c = *r;
  EXPECT_EQ(c.data_dir, "/var/lib/sluice");
  EXPECT_EQ(c.log_backend, "kafka://k1:9092,k2:9092");
  EXPECT_EQ(c.shards, 8u);
  EXPECT_EQ(c.blocking_threads, 2u);
  EXPECT_TRUE(c.insecure);
  EXPECT_EQ(c.http_listen, "0.0.0.0:9000");
  EXPECT_EQ(c.max_request_bytes, 2000);
  EXPECT_EQ(c.max_event_bytes, 1000);
  EXPECT_EQ(c.max_events_per_request, 5);
  EXPECT_EQ(c.max_connections, 7);
  EXPECT_EQ(c.request_timeout_ms, 100);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.default_durability, "interval");
  EXPECT_EQ(c.flush_interval_ms, 50);
  EXPECT_EQ(c.segment_bytes, 4096);
  EXPECT_EQ(c.retention_ms, -1);
  EXPECT_EQ(c.housekeeping_interval_ms, 10);
  EXPECT_EQ(c.checkpoint_interval_ms, 20);
  EXPECT_EQ(c.kafka_properties,
            (std::map<std::string, std::string>{{"linger.ms", "5"}, {"security.protocol", "SSL"}}));
}

TEST_F(LoaderTest, LaterSourcesWin) {
  std::string path = WriteFile("c.yaml",
                               "data_dir: /from/file\nshards: 2\nlog: {level: debug}\n"
                               "http: {listen: 'file:1'}\n");
  Env env = {{"SLUICE_DATA_DIR", "/from/env"},
             {"SLUICE_SHARDS", "3"},
             {"SLUICE_STORE_FLUSH_INTERVAL_MS", "7"},
             {"HOME", "/root"}};
  auto r = Load({"--data-dir", "/from/flag", "--config=" + path, "--set",
                 "store.flush_interval_ms=9", "--log-level=warn"},
                env);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_dir, "/from/flag");  // flag > env > file
  EXPECT_EQ(r->shards, 3u);              // env > file
  EXPECT_EQ(r->http_listen, "file:1");   // file > default
  EXPECT_EQ(r->flush_interval_ms, 9);    // --set > env
  EXPECT_EQ(r->log_level, "warn");
  EXPECT_EQ(r->log_format, "human");  // default
}

TEST_F(LoaderTest, FlagsApplyInOrderAndSetReachesEveryKey) {
  auto r = Load({"--shards", "1", "--set", "shards=5", "--insecure", "--log", "kafka://h:1",
                 "--http-listen", "[::1]:81", "--log-format", "json", "--set",
                 "kafka.properties.client.id=me", "--set", "http.max_connections=3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shards, 5u);
  EXPECT_TRUE(r->insecure);
  EXPECT_EQ(r->log_backend, "kafka://h:1");
  EXPECT_EQ(r->http_listen, "[::1]:81");
  EXPECT_EQ(r->log_format, "json");
  EXPECT_EQ(r->kafka_properties.at("client.id"), "me");
  EXPECT_EQ(r->max_connections, 3);
  EXPECT_FALSE(Load({"--insecure=false"})->insecure);
}

TEST_F(LoaderTest, EnvironmentNamesFollowTheYamlPath) {
  Env env = {{"SLUICE_HTTP_LISTEN", "h:2"},
             {"SLUICE_LOG_LEVEL", "error"},
             {"SLUICE_LOG_BACKEND", "kafka://b:9092"},
             {"SLUICE_INSECURE", "yes"},
             {"SLUICE_STORE_DEFAULT_DURABILITY", "never"},
             {"SLUICE_HTTP_MAX_EVENTS_PER_REQUEST", "12"},
             {"SLUICE_KAFKA_PROPERTIES_SECURITY_PROTOCOL", "SASL_SSL"}};
  auto r = Load({}, env);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http_listen, "h:2");
  EXPECT_EQ(r->log_level, "error");
  EXPECT_EQ(r->log_backend, "kafka://b:9092");
  EXPECT_TRUE(r->insecure);
  EXPECT_EQ(r->default_durability, "never");
  EXPECT_EQ(r->max_events_per_request, 12);
  EXPECT_EQ(r->kafka_properties.at("security.protocol"), "SASL_SSL");
}

TEST_F(LoaderTest, ConfigFileCanComeFromTheEnvironment) {
  std::string path = WriteFile("env.yaml", "shards: 6\n");
  auto r = Load({}, {{"SLUICE_CONFIG", path}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shards, 6u);
}

TEST_F(LoaderTest, UnknownEnvironmentVariablesAreWarningsNotErrors) {
  std::vector<std::string> warnings;
  auto r =
      LoadServerConfig({}, {{"SLUICE_PORT", "tcp://10.0.0.1:8080"}, {"PATH", "/bin"}}, &warnings);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(warnings, std::vector<std::string>{
                          "ignoring environment variable SLUICE_PORT: not a config key"});
}

TEST_F(LoaderTest, BadValueInFileNamesFileKeyAndReason) {
  std::string path = WriteFile("x.yaml", "http:\n  max_event_bytes: abc\n");
  EXPECT_EQ(Error({"--config", path}),
            "config file " + path + ": http.max_event_bytes: 'abc' is not an integer");
}

TEST_F(LoaderTest, UnknownKeysInFileAreErrorsListingKnownKeys) {
  std::string path = WriteFile("x.yaml", "htp:\n  listen: a:1\n");
  EXPECT_EQ(Error({"--config", path}),
            "unknown key 'htp' in " + path +
                " (known: data_dir, log_backend, shards, blocking_threads, insecure, http, registry, "
                "auth, limits, grpc, log, "
                "store, kafka)");
  path = WriteFile("y.yaml", "http:\n  lsten: a:1\n");
  EXPECT_EQ(Error({"--config", path}),
            "unknown key 'http.lsten' in " + path +
                " (known: listen, max_request_bytes, max_event_bytes, max_events_per_request, "
                "max_connections, request_timeout_ms, max_inflight_bytes, idempotency_ttl_ms, "
                "batch_sends, tls_cert_file, tls_key_file)");
  path = WriteFile("z.yaml", "kafka:\n  props: {a: b}\n");
  EXPECT_EQ(Error({"--config", path}),
            "unknown key 'kafka.props' in " + path + " (known: group_session_timeout_ms, "
            "group_heartbeat_interval_ms, admin_api, properties)");
}

TEST_F(LoaderTest, MalformedFilesAreReportedWithThePosition) {
  std::string path = WriteFile("bad.yaml", "http:\n  listen: [a\n");
  std::string msg = Error({"--config", path});
  EXPECT_TRUE(msg.starts_with("config file " + path + ": line ")) << msg;
  path = WriteFile("list.yaml", "- a\n- b\n");
  EXPECT_EQ(Error({"--config", path}),
            "config file " + path + ": the top level must be a map of keys");
  path = WriteFile("shape.yaml", "http: 5\n");
  EXPECT_EQ(Error({"--config", path}), "config file " + path + ": http: expected a map of keys");
  path = WriteFile("scalar.yaml", "shards: [1, 2]\n");
  EXPECT_EQ(Error({"--config", path}),
            "config file " + path + ": shards: expected a single value, got a list");
  path = WriteFile("null.yaml", "data_dir:\n");
  EXPECT_EQ(Error({"--config", path}), "config file " + path + ": data_dir: has no value");
  path = WriteFile("dup.yaml", "shards: 1\nshards: 2\n");
  EXPECT_EQ(Error({"--config", path}), "config file " + path + ": shards: key given twice");
}

TEST_F(LoaderTest, TlsFilesComeInPairsCheckedOnceEverySourceIsApplied) {
  for (std::string section : {"http", "registry", "grpc"}) {
    auto r = Load({"--set", section + ".tls_cert_file=/c.pem", "--set",
                   section + ".tls_key_file=/k.pem"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Error({"--set", section + ".tls_cert_file=/c.pem"}),
              section + ".tls_key_file: " + section + ".tls_cert_file and " + section +
                  ".tls_key_file must be set together (" + section +
                  ".tls_key_file from default; " + section + ".tls_cert_file from --set " +
                  section + ".tls_cert_file)");
  }
  auto r = Load({"--set", "http.tls_cert_file=/c.pem", "--set", "http.tls_key_file=/k.pem"});
  EXPECT_EQ(r->http_tls_cert_file, "/c.pem");
  EXPECT_EQ(r->http_tls_key_file, "/k.pem");
}

TEST_F(LoaderTest, EmptyFileYieldsDefaults) {
  std::string path = WriteFile("empty.yaml", "");
  auto r = Load({"--config", path});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, ServerConfig{});
}

TEST_F(LoaderTest, MissingFileIsAnError) {
  EXPECT_EQ(Error({"--config", "/nonexistent/sluice.yaml"}),
            "config file /nonexistent/sluice.yaml: cannot read: No such file or directory");
}

TEST_F(LoaderTest, BadFlagValuesNameTheFlag) {
  EXPECT_EQ(Error({"--shards", "300"}), "--shards: must be between 0 and 256 (got 300)");
  EXPECT_EQ(Error({"--shards=-1"}), "--shards: must be between 0 and 256 (got -1)");
  EXPECT_EQ(Error({"--shards", "many"}), "--shards: 'many' is not an integer");
  EXPECT_EQ(Error({"--http-listen", "h:0"}), "--http-listen: 'h:0': port '0' is not in 1..65535");
  EXPECT_EQ(Error({"--log-level", "loud"}),
            "--log-level: unknown log level 'loud' (known: trace, debug, info, warn, error, off)");
  EXPECT_EQ(Error({"--insecure=maybe"}),
            "--insecure: 'maybe' is not a boolean (use true or false)");
  EXPECT_EQ(Error({"--set", "store.segment_bytes=0"}),
            "--set store.segment_bytes: must be positive (got 0)");
  EXPECT_EQ(Error({"--set", "http.max_connections=99999999999"}),
            "--set http.max_connections: must be positive (got 99999999999)");
  EXPECT_EQ(Error({"--set", "store.retention_ms=99999999999999999999"}),
            "--set store.retention_ms: '99999999999999999999' is out of range");
}

TEST_F(LoaderTest, BadEnvironmentValuesNameTheVariable) {
  EXPECT_EQ(Error({}, {{"SLUICE_STORE_DEFAULT_DURABILITY", "maybe"}}),
            "environment SLUICE_STORE_DEFAULT_DURABILITY: unknown durability 'maybe' (known: "
            "always, interval, never)");
}

TEST_F(LoaderTest, MalformedCommandLinesAreErrors) {
  EXPECT_EQ(Error({"--shards"}), "--shards: missing value");
  EXPECT_EQ(Error({"serve"}), "unexpected argument 'serve' (flags start with --)");
  EXPECT_EQ(Error({"--port", "1"}),
            "unknown flag '--port' (known: --config, --set, --data-dir, --log, --shards, "
            "--insecure, --http-listen, --registry-listen, --auth, --auth-policy, --grpc-listen, "
            "--log-level, --log-format)");
  EXPECT_EQ(Error({"--set", "nokey"}), "--set: 'nokey' is not key.path=value");
  EXPECT_TRUE(Error({"--set", "htp.listen=a:1"})
                  .starts_with("--set: unknown key 'htp.listen' (known: data_dir, "));
  EXPECT_EQ(Error({"--config", "a.yaml", "--config", "b.yaml"}), "--config: given twice");
}

TEST_F(LoaderTest, CrossKeyErrorsSayWhereEachKeyCameFrom) {
  std::string path = WriteFile("x.yaml", "http:\n  max_request_bytes: 1000\n");
  EXPECT_EQ(Error({"--config", path}, {{"SLUICE_HTTP_MAX_EVENT_BYTES", "2000"}}),
            "http.max_event_bytes: 2000 must not exceed http.max_request_bytes (1000) "
            "(http.max_event_bytes from environment SLUICE_HTTP_MAX_EVENT_BYTES; "
            "http.max_request_bytes from config file " +
                path + ": http.max_request_bytes)");
}

TEST_F(LoaderTest, ToYamlOutputLoadsBackToTheSameConfig) {
  ServerConfig c;
  c.data_dir = "/tmp/a dir: with colon";
  c.log_backend = "kafka://a:1,b:2";
  c.kafka_properties = {{"sasl.password", "p@ss: \"word\""}, {"linger.ms", "5"}};
  c.shards = 3;
  c.insecure = true;
  c.retention_ms = -1;
  c.log_format = "json";
  std::string path = WriteFile("round.yaml", c.ToYaml());
  auto r = Load({"--config", path});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, c);
}

TEST_F(LoaderTest, ProcessEnvironmentReadsTheRealEnvironment) {
  ::setenv("SLUICE_TEST_PROBE", "v=1", 1);
  auto env = ProcessEnvironment();
  EXPECT_EQ(env.at("SLUICE_TEST_PROBE"), "v=1");
  ::unsetenv("SLUICE_TEST_PROBE");
}

}  // namespace
}  // namespace sluice::config
