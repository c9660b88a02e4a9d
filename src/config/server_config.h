// ServerConfig: every setting of `sluice serve`, with its defaults, validation and YAML form.
// Loading (file < environment < flags) is in config/loader.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sluice::config {

// Plain settings; copyable. Field names follow the YAML keys (see README.md for the layout).
struct ServerConfig {
  std::string data_dir = "./data";
  std::string http_listen = "127.0.0.1:8080";           // http.listen
  // registry.listen: the Schema Registry's listener; empty disables the registry.
  std::string registry_listen = "127.0.0.1:8081";
  // registry.tls_*: PEM files for TLS on the registry listener; when neither is set the
  // registry uses http.tls_cert_file / http.tls_key_file (so one certificate covers both).
  std::string registry_tls_cert_file;
  std::string registry_tls_key_file;
  // grpc.*: the gRPC listener (docs/grpc.md); empty grpc.listen disables it.
  std::string grpc_listen = "127.0.0.1:9090";
  std::string grpc_tls_cert_file;  // PEM; TLS is on when both files are set
  std::string grpc_tls_key_file;
  int64_t grpc_max_message_bytes = 16LL * 1024 * 1024;  // largest request message accepted
  int32_t grpc_max_inflight_per_stream = 32;            // PublishStream messages being handled
  int32_t grpc_max_producers = 10000;                   // producer ids whose sequences are kept
  std::string log_backend = "embedded";                 // or "kafka://HOST:PORT[,HOST:PORT]"
  // kafka.admin_api: use the admin API (create/delete/alter topics, describe configs). Off for
  // clusters without it, such as librdkafka's mock cluster: topic admin then answers 501.
  bool kafka_admin_api = true;
  // kafka.group_session_timeout_ms / group_heartbeat_interval_ms: the pipeline task group's
  // membership; a killed instance's tasks move to the others after the session timeout.
  int32_t kafka_group_session_timeout_ms = 10000;
  int32_t kafka_group_heartbeat_interval_ms = 1000;
  std::map<std::string, std::string> kafka_properties;  // kafka.properties: extra librdkafka ones
  uint32_t shards = 0;                                  // 0 = number of cores
  uint32_t blocking_threads = 4;
  std::string log_level = "info";    // log.level
  std::string log_format = "human";  // log.format
  bool insecure = false;             // allow binding a non-loopback address without auth

  // http.*
  int64_t max_request_bytes = 16LL * 1024 * 1024;
  int64_t max_event_bytes = 1LL * 1024 * 1024;
  int32_t max_events_per_request = 10000;
  int32_t max_connections = 10000;
  int64_t request_timeout_ms = 30000;
  // http.batch_sends: a shard's responses of one event-loop turn leave in one io_uring system
  // call (plain HTTP; sendmsg each where io_uring is unavailable or this is false).
  bool http_batch_sends = true;
  // http.tls_*: PEM certificate chain and private key; the HTTP listener (and WebSocket)
  // speaks TLS 1.2/1.3 when both are set (docs/security.md).
  std::string http_tls_cert_file;
  std::string http_tls_key_file;

  // auth.*: authentication and RBAC on every listener (docs/security.md).
  bool auth_enabled = false;
  std::string auth_policy_file;          // roles, principals, API key hashes (YAML)
  std::string auth_jwks_file;            // auth.jwt.jwks_file: trusted JWT keys (JWKS JSON)
  std::string auth_jwks_url;             // auth.jwt.jwks_url: http(s):// JWKS endpoint, polled
  std::string auth_jwks_ca_file;         // auth.jwt.jwks_ca_file: CAs for an https URL ('' = system)
  std::string auth_hs256_secret_file;    // auth.jwt.hs256_secret_file: shared secret for HS256
  std::string auth_issuer;               // auth.jwt.issuer: required "iss" when set
  std::string auth_audience;             // auth.jwt.audience: accepted "aud" values, comma-separated
  int64_t auth_clock_skew_s = 60;        // auth.jwt.clock_skew_s
  std::string auth_principal_claim = "sub";  // auth.jwt.principal_claim
  std::string auth_roles_claim = "roles";    // auth.jwt.roles_claim
  int64_t auth_reload_interval_ms = 30000;  // auth.reload_interval_ms: re-read files, refetch URL

  // limits.*: token buckets (0 = unlimited; burst 0 = one second's worth). Per principal (per
  // client address while auth is off) and per topic; overrides per name in a YAML file.
  int64_t limit_principal_events_per_s = 0;
  int64_t limit_principal_burst_events = 0;
  int64_t limit_principal_bytes_per_s = 0;
  int64_t limit_principal_burst_bytes = 0;
  int64_t limit_topic_events_per_s = 0;
  int64_t limit_topic_burst_events = 0;
  int64_t limit_topic_bytes_per_s = 0;
  int64_t limit_topic_burst_bytes = 0;
  std::string limit_overrides_file;
  // Bytes being appended at once across every front end before new requests get 503.
  int64_t max_inflight_bytes = 256LL * 1024 * 1024;  // http.max_inflight_bytes
  int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;    // http.idempotency_ttl_ms

  // store.*: defaults for new topics and housekeeping.
  std::string default_durability = "always";  // always | interval | never
  int64_t flush_interval_ms = 100;
  int64_t segment_bytes = 256LL * 1024 * 1024;
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // -1: keep forever
  int64_t housekeeping_interval_ms = 5000;
  int64_t checkpoint_interval_ms = 1000;
  // Zero-fill budget of `preallocate` topics, all partitions together; 0: unpaced.
  int64_t preallocate_bytes_per_second = 32LL * 1024 * 1024;
  int64_t delete_bytes_per_second = 256LL * 1024 * 1024;
  // Client appends get 503 below this many free bytes; -1: min(1 GiB, 5% of the disk); 0: off.
  int64_t min_free_bytes = -1;

  // OK, or kInvalidArgument naming the first bad key and why ("http.listen: port 0 is not in
  // 1..65535").
  Status Validate() const;
  // The whole config in the YAML layout LoadServerConfig reads (for --print-config).
  std::string ToYaml() const;

  // True when log_backend is "kafka://...".
  bool UsesKafka() const;
  // The broker list of a kafka:// backend ("h1:9092,h2:9092"), for bootstrap.servers;
  // empty for the embedded backend.
  std::string KafkaBootstrapServers() const;

  bool operator==(const ServerConfig&) const = default;
};

struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// Parses "host:port" or "[v6addr]:port" with port 1..65535 and a non-empty host.
// Errors: kInvalidArgument with the reason (no key name: callers add it).
Result<HostPort> ParseHostPort(std::string_view s);

}  // namespace sluice::config
