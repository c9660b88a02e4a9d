// HttpServer: the HTTP/1.1 front end (Asio C++20 coroutines, our own parser), plain or over TLS.
// One acceptor on shard 0 hands connections round-robin to every shard; each connection lives on
// its shard for its whole life (keep-alive), and the router's handler runs there. Beast and
// OpenSSL stay inside http_server.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "gateway/router.h"
#include "runtime/shards.h"

namespace sluice::metrics {
class Registry;
}

namespace sluice::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port (see HttpServer::port())
  // Largest request body; larger requests get 413 without their body being read.
  int64_t max_body_bytes = 16LL * 1024 * 1024;
  // Largest request head (request line + headers); larger gets 431.
  int32_t max_header_bytes = 64 * 1024;
  // Open connections beyond this get 503 and are closed.
  int32_t max_connections = 10000;
  // Time allowed to receive one request (head and body) and to send its response.
  int64_t request_timeout_ms = 30000;
  // How long a keep-alive connection may sit idle between requests.
  int64_t idle_timeout_ms = 60000;
  // TLS (1.2 and 1.3) when both are set: PEM files, the certificate chain (leaf first) and its
  // private key. A listener speaks either TLS or plain HTTP, never both.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Send the responses a shard finishes in one event-loop turn with one io_uring system call
  // instead of a sendmsg each (plain HTTP only; falls back to sendmsg where io_uring is not
  // available). Fewer system calls, and a client on the same machine is woken once per batch.
  bool batch_sends = true;
  // Request counters and latency histograms go here; may be null.
  metrics::Registry* metrics = nullptr;
};

class HttpServerImpl;

// Lifecycle: Start() (from a non-shard thread, shards running) binds and starts accepting;
// Stop() (idempotent, non-shard thread) closes the acceptor and every connection, waiting briefly
// for in-flight handlers. Must be stopped (by the owner) before the shards stop. Thread-safe.
class HttpServer {
 public:
  // Errors: kInvalidArgument (bad host; TLS files missing, unreadable, not PEM or not matching:
  // the message starts with the option's name, tls_cert_file or tls_key_file), kUnavailable
  // (address in use or bind failure).
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Router router,
                                                   runtime::Shards& shards);
  ~HttpServer();

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Whether the listener speaks TLS.
  bool tls() const;
  // Re-reads tls_cert_file / tls_key_file (certificate rotation): connections accepted from
  // now on use the new pair, open ones keep the old. On error (same errors as Start) the
  // current pair stays. No-op on a plain listener. Non-shard thread; not after Stop().
  Status ReloadTls();
  void Stop();

 private:
  explicit HttpServer(std::unique_ptr<HttpServerImpl> impl);
  std::unique_ptr<HttpServerImpl> impl_;
};

}  // namespace sluice::gateway
