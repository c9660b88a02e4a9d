// JwtVerifier: checks JWT bearer tokens (JWS compact form, HS256/RS256/ES256) against a
// rotatable key set and the configured issuer/audience/time rules, with a verified-token cache so
// the signature is not paid on every request.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt/claims.h"
#include "auth/jwt/jwt_key.h"
#include "base/status.h"

namespace sluice::auth_jwt {

namespace internal {
class VerifiedTokenCache;
}

struct JwtVerifierOptions {
  // When set, "iss" must equal it.
  std::optional<std::string> issuer;
  // When non-empty, "aud" (string or array) must contain at least one of these.
  std::vector<std::string> audiences;
  // Tolerance for exp/nbf, in seconds, for clocks that disagree.
  int64_t clock_skew_s = 60;
  // Reject tokens without "exp" (a token that never expires cannot be revoked by time).
  bool require_exp = true;
  // Longest token accepted, before any decoding.
  size_t max_token_bytes = 8192;
  // Verified-token cache: entries, and how long a hit is trusted at most (also bounded by exp).
  // 0 entries disables the cache.
  size_t cache_capacity = 10000;
  int64_t cache_ttl_s = 300;
};

// Thread-safe: Verify and ReplaceKeys may be called concurrently from any thread. Owned by
// whoever authenticates requests (one per process, shared by the listeners).
//
// Invariants:
//  1. keys_ is replaced as a whole (a shared_ptr<const> snapshot); a verification uses one
//     snapshot from start to end.
//  2. Each snapshot has a generation; cache entries carry the generation they were verified
//     under and only hit under the same generation, so a rotation invalidates every entry even
//     if a verification that started before it inserts afterwards.
class JwtVerifier {
 public:
  JwtVerifier(JwtKeySet keys, JwtVerifierOptions options);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // Verifies `token` at `now_s` (Unix seconds). Returns the claims, shared with the cache.
  // Errors: kUnauthenticated with what was wrong: "malformed token: ...", "unsupported alg
  // 'none'", "unknown kid 'x'", "bad signature", "token expired at T (now N, skew S s)",
  // "token not valid before T ...", "issuer 'x' not accepted", "audience not accepted", ...
  Result<std::shared_ptr<const Claims>> Verify(std::string_view token, int64_t now_s) const;

  // Atomically replaces the trusted keys (rotation, JWKS refresh) and empties the cache.
  void ReplaceKeys(JwtKeySet keys);

  // Signature checks performed (cache misses that reached the crypto). For tests and metrics.
  uint64_t signature_checks() const { return signature_checks_.load(std::memory_order_relaxed); }
  uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

 private:
  struct KeySnapshot {
    JwtKeySet keys;
    uint64_t generation = 0;
  };

  std::shared_ptr<const KeySnapshot> Snapshot() const;
  Result<std::shared_ptr<const Claims>> VerifyUncached(std::string_view token, int64_t now_s,
                                                       const KeySnapshot& snapshot) const;

  const JwtVerifierOptions options_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const KeySnapshot> keys_;  // guarded by keys_mu_
  uint64_t next_generation_ = 1;             // guarded by keys_mu_
  std::unique_ptr<internal::VerifiedTokenCache> cache_;
  mutable std::atomic<uint64_t> signature_checks_{0};
  mutable std::atomic<uint64_t> cache_hits_{0};
};

}  // namespace sluice::auth_jwt
