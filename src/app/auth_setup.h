// Builds the process's gateway::Security from the auth.* config (policy file, JWKS file/URL,
// HS256 secret file) and keeps it current: a background thread re-reads changed files and
// re-fetches the JWKS URL every auth.reload_interval_ms, replacing keys and policy in place.
#pragma once

#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "config/server_config.h"
#include "gateway/security.h"

namespace sluice::app {

class AuthSetup {
 public:
  // Errors: kInvalidArgument naming the file/key at fault (unreadable policy, bad JWKS, short
  // secret, no way to authenticate at all).
  static Result<std::unique_ptr<AuthSetup>> Create(const config::ServerConfig& cfg);
  ~AuthSetup();  // stops the reload thread

  gateway::Security& security() { return *security_; }

 private:
  explicit AuthSetup(const config::ServerConfig& cfg) : cfg_(cfg) {}
  // Reads every key source; errors name the source.
  Result<auth_jwt::JwtKeySet> LoadKeys(bool fetch_url);
  void ReloadLoop();
  void ReloadOnce();

  const config::ServerConfig cfg_;
  std::unique_ptr<gateway::Security> security_;
  timespec policy_mtime_{};
  timespec jwks_mtime_{};
  timespec secret_mtime_{};
  std::string last_jwks_url_body_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::app
