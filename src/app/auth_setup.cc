// AuthSetup: auth.* config → gateway::Security, plus hot reload. See auth_setup.h.
#include "app/auth_setup.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "base/logging.h"
#include "gateway/http_client.h"

namespace sluice::app {

namespace {

Result<std::string> ReadFile(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("{}: cannot read {}", key, path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

timespec MTime(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return timespec{};
  return st.st_mtim;
}

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// "http(s)://host:port/path" → ("http(s)://host:port", "/path").
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  size_t scheme_end = url.find("://");
  size_t slash = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

Result<std::string> FetchUrl(const std::string& url, const std::string& ca_file) {
  auto [base, target] = SplitUrl(url);
  gateway::HttpClientOptions options;
  options.ca_file = ca_file;  // https: the server's certificate is checked against these CAs
  auto client = gateway::HttpClient::Create(base, options);
  if (!client.ok()) return client.status();
  auto r = (*client)->Request("GET", target, {}, "application/json", 5000);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Unavailable("GET {} answered HTTP {}", url, r->status);
  return std::move(r->body);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

Result<auth_rbac::Policy> LoadPolicy(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadFile(path, "auth.policy_file"));
  auto p = auth_rbac::Policy::FromYaml(text);
  if (!p.ok()) return InvalidArgument("auth.policy_file {}: {}", path, p.status().message());
  return p;
}

}  // namespace

Result<auth_jwt::JwtKeySet> AuthSetup::LoadKeys(bool fetch_url) {
  auth_jwt::JwtKeySet keys;
  if (!cfg_.auth_jwks_file.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, ReadFile(cfg_.auth_jwks_file, "auth.jwt.jwks_file"));
    auto set = auth_jwt::JwtKeySet::ParseJwks(text);
    if (!set.ok()) {
      return InvalidArgument("auth.jwt.jwks_file {}: {}", cfg_.auth_jwks_file,
                             set.status().message());
    }
    for (const auto& k : set->keys()) keys.Add(k);
  }
  if (!cfg_.auth_hs256_secret_file.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::string secret,
                            ReadFile(cfg_.auth_hs256_secret_file, "auth.jwt.hs256_secret_file"));
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    auto k = auth_jwt::JwtKey::Hmac(std::move(secret));
    if (!k.ok()) {
      return InvalidArgument("auth.jwt.hs256_secret_file {}: {}", cfg_.auth_hs256_secret_file,
                             k.status().message());
    }
    keys.Add(std::move(k).value());
  }
  if (!cfg_.auth_jwks_url.empty()) {
    std::string body = last_jwks_url_body_;
    if (fetch_url || body.empty()) {
      auto fetched = FetchUrl(cfg_.auth_jwks_url, cfg_.auth_jwks_ca_file);
      if (fetched.ok()) {
        body = std::move(fetched).value();
      } else if (body.empty()) {
        return Unavailable("auth.jwt.jwks_url {}: {}", cfg_.auth_jwks_url,
                           fetched.status().message());
      } else {
        // Keep the last good key set while the endpoint is down.
        logging::Get("auth").warn("JWKS refresh from {} failed, keeping the previous keys: {}",
                                  cfg_.auth_jwks_url, fetched.status().message());
      }
    }
    auto set = auth_jwt::JwtKeySet::ParseJwks(body);
    if (!set.ok()) {
      return InvalidArgument("auth.jwt.jwks_url {}: {}", cfg_.auth_jwks_url,
                             set.status().message());
    }
    last_jwks_url_body_ = std::move(body);
    for (const auto& k : set->keys()) keys.Add(k);
  }
  return keys;
}

Result<std::unique_ptr<AuthSetup>> AuthSetup::Create(const config::ServerConfig& cfg) {
  std::unique_ptr<AuthSetup> a(new AuthSetup(cfg));
  gateway::SecurityOptions o;
  o.enabled = cfg.auth_enabled;
  if (!cfg.auth_enabled) {
    a->security_ = std::make_unique<gateway::Security>(std::move(o));
    return a;
  }
  SLUICE_ASSIGN_OR_RETURN(o.policy, LoadPolicy(cfg.auth_policy_file));
  SLUICE_ASSIGN_OR_RETURN(o.jwt_keys, a->LoadKeys(true));
  if (o.jwt_keys.empty() && o.policy.api_keys().empty()) {
    return InvalidArgument(
        "auth.enabled: nobody could authenticate: configure JWT keys (auth.jwt.jwks_file, "
        "auth.jwt.jwks_url or auth.jwt.hs256_secret_file) or API keys in auth.policy_file");
  }
  if (!cfg.auth_issuer.empty()) o.jwt.issuer = cfg.auth_issuer;
  o.jwt.audiences = SplitComma(cfg.auth_audience);
  o.jwt.clock_skew_s = cfg.auth_clock_skew_s;
  o.principal_claim = cfg.auth_principal_claim;
  o.roles_claim = cfg.auth_roles_claim;
  a->policy_mtime_ = MTime(cfg.auth_policy_file);
  a->jwks_mtime_ = MTime(cfg.auth_jwks_file);
  a->secret_mtime_ = MTime(cfg.auth_hs256_secret_file);
  a->security_ = std::make_unique<gateway::Security>(std::move(o));
  a->thread_ = std::thread([p = a.get()] { p->ReloadLoop(); });
  return a;
}

AuthSetup::~AuthSetup() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuthSetup::ReloadLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(cfg_.auth_reload_interval_ms));
    if (stop_) break;
    lock.unlock();
    ReloadOnce();
    lock.lock();
  }
}

void AuthSetup::ReloadOnce() {
  auto& log = logging::Get("auth");
  timespec pm = MTime(cfg_.auth_policy_file);
  if (!SameTime(pm, policy_mtime_)) {
    auto p = LoadPolicy(cfg_.auth_policy_file);
    if (p.ok()) {
      security_->ReplacePolicy(std::move(p).value());
      log.info("reloaded the auth policy from {}", cfg_.auth_policy_file);
      policy_mtime_ = pm;
    } else {
      log.error("auth policy not reloaded (the previous one stays): {}", p.status().message());
    }
  }
  timespec jm = MTime(cfg_.auth_jwks_file);
  timespec sm = MTime(cfg_.auth_hs256_secret_file);
  bool files_changed = !SameTime(jm, jwks_mtime_) || !SameTime(sm, secret_mtime_);
  std::string before = last_jwks_url_body_;
  if (files_changed || !cfg_.auth_jwks_url.empty()) {
    auto keys = LoadKeys(true);
    if (!keys.ok()) {
      log.error("JWT keys not reloaded (the previous ones stay): {}", keys.status().message());
      return;
    }
    if (files_changed || last_jwks_url_body_ != before) {
      security_->ReplaceJwtKeys(std::move(keys).value());
      log.info("reloaded the JWT keys");
    }
    jwks_mtime_ = jm;
    secret_mtime_ = sm;
  }
}

}  // namespace sluice::app
