#include "config/server_config.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(ServerConfigTest, DefaultsMatchTheDocumentedValuesAndAreValid) {
  ServerConfig c;
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.http_listen, "127.0.0.1:8080");
  EXPECT_EQ(c.log_backend, "embedded");
  EXPECT_EQ(c.shards, 0u);
  EXPECT_EQ(c.blocking_threads, 4u);
  EXPECT_EQ(c.max_request_bytes, 16 << 20);
  EXPECT_EQ(c.max_event_bytes, 1 << 20);
  EXPECT_EQ(c.segment_bytes, 256LL << 20);
  EXPECT_EQ(c.retention_ms, 604'800'000);
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_FALSE(c.UsesKafka());
  EXPECT_EQ(c.KafkaBootstrapServers(), "");
}

Status ValidateWith(void (*change)(ServerConfig&)) {
  ServerConfig c;
  change(c);
  return c.Validate();
}

TEST(ServerConfigTest, ValidateNamesTheKeyAndTheReason) {
  auto msg = [](void (*change)(ServerConfig&)) { return ValidateWith(change).message(); };
  EXPECT_EQ(msg([](ServerConfig& c) { c.http_listen = "localhost:0"; }),
            "http.listen: 'localhost:0': port '0' is not in 1..65535");
  EXPECT_EQ(msg([](ServerConfig& c) { c.http_listen = "localhost"; }),
            "http.listen: 'localhost' is not host:port");
  EXPECT_EQ(msg([](ServerConfig& c) { c.default_durability = "sometimes"; }),
            "store.default_durability: unknown durability 'sometimes' (known: always, interval, "
            "never)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.segment_bytes = 0; }),
            "store.segment_bytes: must be positive (got 0)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.retention_ms = 0; }),
            "store.retention_ms: must be positive, or -1 to keep forever (got 0)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.shards = 300; }),
            "shards: must be between 0 and 256 (got 300)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.log_level = "loud"; }),
            "log.level: unknown log level 'loud' (known: trace, debug, info, warn, error, off)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.log_format = "xml"; }),
            "log.format: unknown log format 'xml' (known: human, json)");
  EXPECT_EQ(msg([](ServerConfig& c) { c.log_backend = "redis://x:1"; }),
            "log_backend: must be 'embedded' or 'kafka://HOST:PORT[,HOST:PORT...]' (got "
            "'redis://x:1')");
  EXPECT_EQ(msg([](ServerConfig& c) { c.log_backend = "kafka://a:9092,b"; }),
            "log_backend: broker 'b': 'b' is not host:port");
  EXPECT_EQ(msg([](ServerConfig& c) { c.max_event_bytes = c.max_request_bytes + 1; }),
            "http.max_event_bytes: 16777217 must not exceed http.max_request_bytes (16777216)");
  EXPECT_EQ(ValidateWith([](ServerConfig& c) { c.data_dir = ""; }).code(),
            ErrorCode::kInvalidArgument);
}

TEST(ServerConfigTest, RetentionMinusOneMeansKeepForever) {
  EXPECT_TRUE(ValidateWith([](ServerConfig& c) { c.retention_ms = -1; }).ok());
}

TEST(ServerConfigTest, KafkaBackendExposesItsBrokers) {
  ServerConfig c;
  c.log_backend = "kafka://k1:9092,[::1]:9093";
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_TRUE(c.UsesKafka());
  EXPECT_EQ(c.KafkaBootstrapServers(), "k1:9092,[::1]:9093");
}

TEST(ServerConfigTest, ParseHostPortAcceptsNamesIpv4AndBracketedIpv6) {
  EXPECT_EQ(*ParseHostPort("localhost:80"), (HostPort{"localhost", 80}));
  EXPECT_EQ(*ParseHostPort("0.0.0.0:65535"), (HostPort{"0.0.0.0", 65535}));
  EXPECT_EQ(*ParseHostPort("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_FALSE(ParseHostPort("::1:8080").ok());
  EXPECT_FALSE(ParseHostPort(":8080").ok());
  EXPECT_FALSE(ParseHostPort("h:65536").ok());
  EXPECT_FALSE(ParseHostPort("h:8o").ok());
  EXPECT_FALSE(ParseHostPort("h:").ok());
  EXPECT_FALSE(ParseHostPort("[::1]8080").ok());
}

TEST(ServerConfigTest, ToYamlWritesTheFileLayout) {
  ServerConfig c;
  c.kafka_properties["security.protocol"] = "SSL";
  EXPECT_EQ(c.ToYaml(),
            "data_dir: \"./data\"\n"
            "log_backend: \"embedded\"\n"
            "shards: 0\n"
            "blocking_threads: 4\n"
            "insecure: false\n"
            "http:\n"
            "  listen: \"127.0.0.1:8080\"\n"
            "  max_request_bytes: 16777216\n"
            "  max_event_bytes: 1048576\n"
            "  max_events_per_request: 10000\n"
            "  max_connections: 10000\n"
            "  request_timeout_ms: 30000\n"
            "  max_inflight_bytes: 268435456\n"
            "  idempotency_ttl_ms: 86400000\n"
            "  batch_sends: true\n"
            "  tls_cert_file: \"\"\n"
            "  tls_key_file: \"\"\n"
            "registry:\n"
            "  listen: \"127.0.0.1:8081\"\n"
            "  tls_cert_file: \"\"\n"
            "  tls_key_file: \"\"\n"
            "auth:\n"
            "  enabled: false\n"
            "  policy_file: \"\"\n"
            "  reload_interval_ms: 30000\n"
            "  jwt:\n"
            "    jwks_file: \"\"\n"
            "    jwks_url: \"\"\n"
            "    jwks_ca_file: \"\"\n"
            "    hs256_secret_file: \"\"\n"
            "    issuer: \"\"\n"
            "    audience: \"\"\n"
            "    clock_skew_s: 60\n"
            "    principal_claim: \"sub\"\n"
            "    roles_claim: \"roles\"\n"
            "limits:\n"
            "  principal:\n"
            "    events_per_s: 0\n"
            "    burst_events: 0\n"
            "    bytes_per_s: 0\n"
            "    burst_bytes: 0\n"
            "  topic:\n"
            "    events_per_s: 0\n"
            "    burst_events: 0\n"
            "    bytes_per_s: 0\n"
            "    burst_bytes: 0\n"
            "  overrides_file: \"\"\n"
            "grpc:\n"
            "  listen: \"127.0.0.1:9090\"\n"
            "  tls_cert_file: \"\"\n"
            "  tls_key_file: \"\"\n"
            "  max_message_bytes: 16777216\n"
            "  max_inflight_per_stream: 32\n"
            "  max_producers: 10000\n"
            "log:\n"
            "  level: \"info\"\n"
            "  format: \"human\"\n"
            "store:\n"
            "  default_durability: \"always\"\n"
            "  flush_interval_ms: 100\n"
            "  segment_bytes: 268435456\n"
            "  retention_ms: 604800000\n"
            "  housekeeping_interval_ms: 5000\n"
            "  checkpoint_interval_ms: 1000\n"
            "  preallocate_bytes_per_second: 33554432\n"
            "  delete_bytes_per_second: 268435456\n"
            "  min_free_bytes: -1\n"
            "kafka:\n"
            "  group_session_timeout_ms: 10000\n"
            "  group_heartbeat_interval_ms: 1000\n"
            "  admin_api: true\n"
            "  properties:\n"
            "    security.protocol: \"SSL\"\n");
}

}  // namespace
}  // namespace sluice::config
