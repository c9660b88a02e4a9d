// Security: credentials → principal (cached), and RBAC decisions. See security.h.
#include "gateway/security.h"

#include <algorithm>
#include <functional>
#include <optional>

namespace sluice::gateway {

namespace {

// Standard base64 (RFC 4648 §4) with optional padding, as HTTP Basic credentials use it.
std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // a dangling sextet: impossible length
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// How long a verified API key stays cached (keys have no expiry of their own; a policy reload
// drops the cache anyway).
constexpr int64_t kApiKeyCacheS = 300;

}  // namespace

Security::Security(SecurityOptions options)
    : enabled_(options.enabled),
      principal_claim_(std::move(options.principal_claim)),
      roles_claim_(std::move(options.roles_claim)),
      shard_capacity_(std::max<size_t>(1, options.principal_cache_capacity / kShards)),
      verifier_(std::make_unique<auth_jwt::JwtVerifier>(std::move(options.jwt_keys), options.jwt)),
      authorizer_(options.policy),
      api_keys_(std::make_shared<const auth_rbac::ApiKeyStore>(options.policy.api_keys())) {}

Security::~Security() = default;

std::shared_ptr<const Principal> Security::Anonymous() {
  static const auto kAnonymous = std::make_shared<const Principal>(
      Principal{"anonymous", {}, "none", INT64_MAX});
  return kAnonymous;
}

uint64_t Security::jwt_signature_checks() const { return verifier_->signature_checks(); }

Result<std::shared_ptr<const Principal>> Security::Authenticate(std::string_view authorization,
                                                                std::string_view api_key,
                                                                int64_t now_s) const {
  if (!enabled_) return Anonymous();
  authorization = Trim(authorization);
  api_key = Trim(api_key);
  if (!api_key.empty()) return FromApiKey(api_key);
  if (authorization.empty()) {
    return Unauthenticated(
        "authentication required: send 'Authorization: Bearer <JWT>', or an API key in "
        "X-API-Key or as the password of HTTP Basic credentials");
  }
  if (StartsWithNoCase(authorization, "bearer ")) {
    return FromJwt(Trim(authorization.substr(7)), now_s);
  }
  if (StartsWithNoCase(authorization, "basic ")) {
    auto decoded = Base64Decode(Trim(authorization.substr(6)));
    if (!decoded) return Unauthenticated("malformed Basic credentials (not base64)");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return Unauthenticated("malformed Basic credentials (expected user:api-key)");
    }
    return FromApiKey(std::string_view(*decoded).substr(colon + 1));
  }
  if (StartsWithNoCase(authorization, "apikey ")) {
    return FromApiKey(Trim(authorization.substr(7)));
  }
  return Unauthenticated("unsupported Authorization scheme; use Bearer (JWT) or Basic (API key)");
}

std::shared_ptr<const Principal> Security::CacheGet(const std::string& key, int64_t now_s) const {
  CacheShard& shard = cache_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return nullptr;
  if (it->second.generation != generation_.load(std::memory_order_acquire) ||
      now_s >= it->second.valid_until_s) {
    shard.entries.erase(it);
    return nullptr;
  }
  return it->second.principal;
}

void Security::CachePut(std::string key, std::shared_ptr<const Principal> p,
                        int64_t valid_until_s, uint64_t generation) const {
  CacheShard& shard = cache_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  if (shard.entries.size() >= shard_capacity_) shard.entries.clear();  // crude but bounded
  shard.entries[std::move(key)] = CacheEntry{std::move(p), valid_until_s, generation};
}

Result<std::shared_ptr<const Principal>> Security::FromJwt(std::string_view token,
                                                           int64_t now_s) const {
  std::string key = "j:" + std::string(token);
  if (auto hit = CacheGet(key, now_s)) return hit;
  uint64_t generation = generation_.load(std::memory_order_acquire);
  auto claims = verifier_->Verify(token, now_s);
  if (!claims.ok()) return claims.status();
  auto p = std::make_shared<Principal>();
  p->method = "jwt";
  if (principal_claim_ == "sub") {
    p->name = (*claims)->subject;
  } else if (const auto* v = (*claims)->raw.Find(principal_claim_); v && v->is_string()) {
    p->name = v->text();
  }
  if (p->name.empty()) {
    return Unauthenticated("token has no '{}' claim naming the principal", principal_claim_);
  }
  if (const auto* roles = (*claims)->raw.Find(roles_claim_)) {
    if (roles->is_string()) {
      p->token_roles.push_back(roles->text());
    } else if (roles->is_array()) {
      for (const auto& r : roles->items()) {
        if (r.is_string()) p->token_roles.push_back(r.text());
      }
    }
  }
  // Cached at most until the token expires (the verifier's own cache bounds it the same way).
  int64_t until = (*claims)->expires_at ? *(*claims)->expires_at : now_s + 300;
  until = std::min(until, now_s + 300);
  p->expires_at_s = (*claims)->expires_at.value_or(INT64_MAX);
  std::shared_ptr<const Principal> out = std::move(p);
  CachePut(std::move(key), out, until, generation);
  return out;
}

Result<std::shared_ptr<const Principal>> Security::FromApiKey(std::string_view key) const {
  // API keys are hashed and compared with every stored digest; cache by the key itself so a
  // busy client does not pay SHA-256 per request. The cache lives only in memory.
  std::string cache_key = "k:" + std::string(key);
  int64_t now_s = 0;  // API-key entries expire by count of seconds since cached, see below
  {
    auto steady = std::chrono::steady_clock::now().time_since_epoch();
    now_s = std::chrono::duration_cast<std::chrono::seconds>(steady).count();
  }
  if (auto hit = CacheGet(cache_key, now_s)) return hit;
  uint64_t generation = generation_.load(std::memory_order_acquire);
  std::shared_ptr<const auth_rbac::ApiKeyStore> store;
  {
    std::lock_guard lock(keys_mu_);
    store = api_keys_;
  }
  auto name = store->Authenticate(key);
  if (!name.ok()) return name.status();
  auto p = std::make_shared<const Principal>(Principal{*name, {}, "api-key", INT64_MAX});
  CachePut(std::move(cache_key), p, now_s + kApiKeyCacheS, generation);
  return p;
}

Status Security::Authorize(const Principal& principal, auth_rbac::Action action,
                           std::string_view resource) const {
  if (!enabled_) return Status::Ok();
  return authorizer_.Authorize(principal.name, action, resource, principal.token_roles);
}

void Security::ReplaceJwtKeys(auth_jwt::JwtKeySet keys) {
  verifier_->ReplaceKeys(std::move(keys));
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Security::ReplacePolicy(auth_rbac::Policy policy) {
  auto store = std::make_shared<const auth_rbac::ApiKeyStore>(policy.api_keys());
  {
    std::lock_guard lock(keys_mu_);
    api_keys_ = std::move(store);
  }
  authorizer_.Replace(std::move(policy));
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace sluice::gateway
