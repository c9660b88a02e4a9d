// ServerProcess and helpers for end-to-end tests.
#include "e2e/server_process.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "codec/json_parser.h"

namespace sluice::e2e {

const char* SluiceBinary() { return SLUICE_BINARY; }

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/sluice-e2e-XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

ServerProcess::ServerProcess(std::string data_dir, std::string log_file,
                             std::vector<std::string> extra)
    : data_dir_(std::move(data_dir)), log_file_(std::move(log_file)), extra_(std::move(extra)) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Signal(SIGKILL);
}

Status ServerProcess::Start(int timeout_ms) {
  // FreePort() only finds a port that was free a moment ago; under a parallel ctest another
  // process can take it first. The registry's port is ours to choose, so on "address in use"
  // for it pick another and try again (the main port stays fixed: restarts reuse it).
  // The same holds for the gRPC port.
  const bool own_registry_port =
      std::find(extra_.begin(), extra_.end(), "--registry-listen") == extra_.end();
  const bool own_grpc_port =
      std::find(extra_.begin(), extra_.end(), "--grpc-listen") == extra_.end();
  for (int attempt = 0;; ++attempt) {
    const size_t before = Output().size();
    Status st = StartOnce(timeout_ms);
    if (st.ok() || attempt == 4) return st;
    const std::string out = Output().substr(before);
    if (own_registry_port && out.find("schema registry: cannot listen") != std::string::npos) {
      registry_port_ = FreePort();
    } else if (own_grpc_port && out.find("grpc: cannot listen") != std::string::npos) {
      grpc_port_ = FreePort();
    } else {
      return st;
    }
  }
}

Status ServerProcess::StartOnce(int timeout_ms) {
  if (port_ == 0) port_ = FreePort();
  std::vector<std::string> argv = {SluiceBinary(), "serve", "--data-dir", data_dir_,
                                   "--http-listen", "127.0.0.1:" + std::to_string(port_),
                                   "--shards", "2"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  // The schema registry's default port (8081) would collide between servers run in parallel:
  // give it a free port of its own unless the test chose one.
  if (std::find(extra_.begin(), extra_.end(), "--registry-listen") == extra_.end()) {
    if (registry_port_ == 0) registry_port_ = FreePort();
    argv.push_back("--registry-listen");
    argv.push_back("127.0.0.1:" + std::to_string(registry_port_));
  }
  // Same for gRPC's default port (9090).
  if (std::find(extra_.begin(), extra_.end(), "--grpc-listen") == extra_.end()) {
    if (grpc_port_ == 0) grpc_port_ = FreePort();
    argv.push_back("--grpc-listen");
    argv.push_back("127.0.0.1:" + std::to_string(grpc_port_));
  }
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  pid_ = pid;
  gateway::HttpClientOptions client_options;
  client_options.ca_file = ca_file_;
  auto client = gateway::HttpClient::Create(url(), client_options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("sluice serve exited early (status {}):\n{}", status, Output());
    }
    auto r = (*client)->Request("GET", "/health/ready", "", "", 1000);
    if (r.ok() && r->status == 200) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Internal("sluice serve not ready after {} ms:\n{}", timeout_ms, Output());
}

int ServerProcess::Signal(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void ServerProcess::Notify(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int ServerProcess::Stop() {
  int status = Signal(SIGTERM);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string ServerProcess::Output() const {
  std::ifstream f(log_file_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         const std::vector<std::string>& env) {
  TempDir tmp;
  std::string in_path = tmp.path() + "/in", out_path = tmp.path() + "/out",
              err_path = tmp.path() + "/err";
  {
    std::ofstream(in_path) << input;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::stringstream o, e;
  o << std::ifstream(out_path).rdbuf();
  e << std::ifstream(err_path).rdbuf();
  r.out = o.str();
  r.err = e.str();
  return r;
}

JsonResponse Call(gateway::HttpClient& client, const std::string& method,
                  const std::string& target, const std::string& body,
                  const std::string& content_type, int64_t timeout_ms) {
  JsonResponse out;
  auto r = client.Request(method, target, body, content_type, timeout_ms);
  if (!r.ok()) {
    out.status = -1;
    out.body = r.status().ToString();
    return out;
  }
  out.status = r->status;
  out.content_type = r->content_type;
  out.body = r->body;
  out.headers = r->headers;
  if (!out.body.empty() && out.content_type.find("json") != std::string::npos) {
    codec::JsonParser p;
    auto v = p.Parse(out.body);
    if (v.ok()) out.json = std::move(v).value();
  }
  return out;
}

}  // namespace sluice::e2e
