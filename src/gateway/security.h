// Security: authentication (JWT bearer tokens, API keys) and authorization (RBAC) shared by
// every listener — HTTP, WebSocket (at the handshake), gRPC and the schema registry. One per
// process. When disabled every caller is the anonymous principal and everything is allowed
// (allowed only while every listener is on loopback; `sluice serve` enforces that).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwt/jwt_verifier.h"
#include "auth/rbac/action.h"
#include "auth/rbac/api_key_store.h"
#include "auth/rbac/authorizer.h"
#include "auth/rbac/policy.h"
#include "base/status.h"

namespace sluice::gateway {

// Who is calling. Immutable once built; shared by the requests that presented the same
// credentials (cached per token / key).
struct Principal {
  std::string name;                      // "alice", "svc-billing"; "anonymous" when auth is off
  std::vector<std::string> token_roles;  // roles carried by the JWT (auth.jwt.roles_claim)
  std::string method;                    // "jwt", "api-key" or "none"
  int64_t expires_at_s = INT64_MAX;      // token expiry (cache entries never outlive it)
};

struct SecurityOptions {
  bool enabled = false;
  auth_rbac::Policy policy;        // roles, principals, API keys
  auth_jwt::JwtKeySet jwt_keys;    // may be empty: then only API keys authenticate
  auth_jwt::JwtVerifierOptions jwt;
  std::string principal_claim = "sub";
  std::string roles_claim = "roles";  // a string or an array of strings in the token
  size_t principal_cache_capacity = 16 * 1024;
};

// Thread-safe: every method may be called from any shard; keys and policy can be replaced at
// run time (JWKS refresh, policy reload) and take effect for the next request.
class Security {
 public:
  explicit Security(SecurityOptions options);
  ~Security();
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  bool enabled() const { return enabled_; }

  // Who presented these credentials. `authorization` is the Authorization header value:
  // "Bearer <jwt>", or "Basic base64(user:key)" whose password is an API key (what Confluent
  // clients send); `api_key` is the X-API-Key header (or gRPC metadata). With auth disabled:
  // the anonymous principal. Errors: kUnauthenticated saying what is missing or wrong.
  Result<std::shared_ptr<const Principal>> Authenticate(std::string_view authorization,
                                                        std::string_view api_key,
                                                        int64_t now_s) const;

  // OK when `principal` may do `action` on `resource` ("topic:orders"). Always OK when
  // disabled. Errors: kPermissionDenied naming principal, action and resource.
  Status Authorize(const Principal& principal, auth_rbac::Action action,
                   std::string_view resource) const;

  // Hot replacement (JWKS refresh / rotation, policy reload). Cached principals are dropped.
  void ReplaceJwtKeys(auth_jwt::JwtKeySet keys);
  void ReplacePolicy(auth_rbac::Policy policy);

  // The principal used when auth is off.
  static std::shared_ptr<const Principal> Anonymous();

  uint64_t jwt_signature_checks() const;
  // Changes whenever keys or policy are replaced: memos of principals or decisions taken under
  // another generation must not be used.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  struct CacheEntry {
    std::shared_ptr<const Principal> principal;
    int64_t valid_until_s = 0;
    uint64_t generation = 0;
  };
  struct CacheShard {
    std::mutex mu;
    std::unordered_map<std::string, CacheEntry> entries;
  };
  static constexpr size_t kShards = 16;

  Result<std::shared_ptr<const Principal>> FromJwt(std::string_view token, int64_t now_s) const;
  Result<std::shared_ptr<const Principal>> FromApiKey(std::string_view key) const;
  std::shared_ptr<const Principal> CacheGet(const std::string& key, int64_t now_s) const;
  void CachePut(std::string key, std::shared_ptr<const Principal> p, int64_t valid_until_s,
                uint64_t generation) const;

  const bool enabled_;
  const std::string principal_claim_;
  const std::string roles_claim_;
  const size_t shard_capacity_;
  std::unique_ptr<auth_jwt::JwtVerifier> verifier_;
  auth_rbac::Authorizer authorizer_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const auth_rbac::ApiKeyStore> api_keys_;  // guarded by keys_mu_
  std::atomic<uint64_t> generation_{1};  // bumped on every replacement; stale cache entries miss
  mutable std::array<CacheShard, kShards> cache_;
};

}  // namespace sluice::gateway
