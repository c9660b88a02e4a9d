// ServerProcess: runs the real `sluice serve` binary on a free loopback port with its own data
// directory, for end-to-end tests. Also a tiny JSON-over-HTTP helper around gateway::HttpClient.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/json_value.h"
#include "gateway/http_client.h"

namespace sluice::e2e {

// Path of the sluice binary under test (compile definition SLUICE_BINARY).
const char* SluiceBinary();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A free TCP port on 127.0.0.1 (bound and released; tiny race accepted in tests).
uint16_t FreePort();

class ServerProcess {
 public:
  // extra: more flags for `sluice serve` (e.g. {"--set", "http.max_event_bytes=1024"}).
  ServerProcess(std::string data_dir, std::string log_file, std::vector<std::string> extra = {});
  ~ServerProcess();

  // Starts the binary on a free port (the same port again on restarts) and waits until
  // /health/ready answers 200. Errors: the process exited or did not become ready in time.
  Status Start(int timeout_ms = 30000);
  // Sends sig and waits for the process; returns the raw wait status.
  int Signal(int sig);
  // Sends sig without waiting (SIGHUP).
  void Notify(int sig);
  // SIGTERM and wait; returns the exit code (or 128+signal).
  int Stop();
  bool running() const { return pid_ > 0; }
  // The listeners speak TLS (the test passes the http.tls_* settings in extra): URLs become
  // https:// and the readiness probe trusts ca_file.
  void UseTls(std::string ca_file) { ca_file_ = std::move(ca_file); }
  const std::string& ca_file() const { return ca_file_; }
  std::string scheme() const { return ca_file_.empty() ? "http" : "https"; }
  std::string url() const { return scheme() + "://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  // The schema registry's URL when the server picked its port (no --registry-listen in extra).
  uint16_t registry_port() const { return registry_port_; }
  std::string registry_url() const {
    return scheme() + "://127.0.0.1:" + std::to_string(registry_port_);
  }
  // The gRPC listener's port when the server picked it (no --grpc-listen in extra).
  uint16_t grpc_port() const { return grpc_port_; }
  std::string grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  // Everything the server wrote to stdout and stderr so far.
  std::string Output() const;

 private:
  Status StartOnce(int timeout_ms);

  std::string data_dir_, log_file_;
  std::string ca_file_;
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
  uint16_t registry_port_ = 0;
  uint16_t grpc_port_ = 0;
  pid_t pid_ = -1;
};

// Runs a command (argv[0] is the binary), feeding `input` to stdin; captures stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::vector<std::string>& env = {});

// Sends a request and parses the body as JSON when there is one.
struct JsonResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
  std::string content_type;
  std::string body;
  codec::JsonValue json;
};
JsonResponse Call(gateway::HttpClient& client, const std::string& method,
                  const std::string& target, const std::string& body = "",
                  const std::string& content_type = "application/json", int64_t timeout_ms = 30000);

}  // namespace sluice::e2e
