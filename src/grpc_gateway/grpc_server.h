// GrpcServer: the gRPC listener of the Event Gateway — sluice.v1.Gateway (Publish,
// PublishStream, Subscribe; proto/sluice/v1/gateway.proto) and grpc.health.v1.Health.
// No gRPC header here: gRPC stays inside this component (see README.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace sluice::runtime {
class Shards;
}
namespace sluice::gateway {
class Publisher;
class Security;
}  // namespace sluice::gateway

namespace sluice::grpc_gateway {

struct GrpcServerOptions {
  std::string listen = "127.0.0.1:9090";  // host:port or [v6]:port; port 0 picks a free one
  std::string tls_cert_file;              // PEM; TLS when both are set
  std::string tls_key_file;
  // How often the certificate and key files are re-read (new connections get a renewed pair).
  int64_t tls_refresh_s = 60;
  int64_t max_message_bytes = 16LL * 1024 * 1024;  // larger requests: RESOURCE_EXHAUSTED
  int32_t max_inflight_per_stream = 32;            // PublishStream messages handled at once
  int32_t max_producers = 10000;                   // producer ids whose sequences are kept
  int64_t max_event_bytes = 1024 * 1024;           // key + value + headers of one event
  int32_t max_events_per_message = 10000;
  // Dedup memory: sequences kept per producer and bytes of stored answers over all producers.
  int32_t sequence_window = 64;
  int64_t max_stored_result_bytes = 64LL * 1024 * 1024;
};

// Lifecycle: Start (listening, health SERVING) → Stop (health NOT_SERVING, then calls are
// given up to two seconds and cancelled; idempotent). The Publisher, Security (may be null:
// auth off) and Shards outlive the server, and the Publisher's log stays open until Stop
// returns. Thread-safe: gRPC's own threads run the calls; every publish and read runs on a
// shard (posted there), never on a gRPC thread.
class GrpcServer {
 public:
  // Errors: kInvalidArgument (bad listen address), kUnavailable (cannot bind), kNotFound /
  // kInvalidArgument (TLS files).
  static Result<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                   gateway::Publisher& publisher,
                                                   const gateway::Security* security,
                                                   runtime::Shards& shards);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const;
  bool tls() const;
  void Stop();

  struct Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::grpc_gateway
