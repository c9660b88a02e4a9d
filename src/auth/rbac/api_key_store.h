// ApiKeyStore: authenticates presented API keys against stored SHA-256 hashes, and generates new
// keys (shown once) with the hash to store.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/rbac/internal/encoding.h"
#include "auth/rbac/policy.h"
#include "base/status.h"

namespace sluice::auth_rbac {

// Why plain SHA-256 and not bcrypt/scrypt/argon2: a slow KDF protects low-entropy secrets
// (passwords) against offline guessing after the hash store leaks. Our keys are 32 bytes from a
// CSPRNG (256 bits of entropy), so guessing a preimage is infeasible at any hash speed, and a
// salt adds nothing either (no precomputed table can cover 2^256 keys). A fast hash keeps
// authentication cheap on every request.

// A freshly generated key: `key` is shown to the operator once and never stored; `stored_hash`
// ("sha256:<hex>") goes into the policy's api_keys list.
struct GeneratedApiKey {
  std::string key;
  std::string stored_hash;
};

// Fills its argument with cryptographically random bytes (RAND_bytes in production, a fake in
// tests).
using RandomBytesFn = std::function<Status(std::span<uint8_t>)>;
// RAND_bytes from OpenSSL; kInternal when the CSPRNG fails.
Status OpenSslRandomBytes(std::span<uint8_t> out);

// "sk_" + base64url(32 random bytes), and its stored hash.
Result<GeneratedApiKey> GenerateApiKey(const RandomBytesFn& random = OpenSslRandomBytes);
// "sha256:<hex of SHA-256(key)>": the stored form of a key.
std::string HashApiKey(std::string_view key);

// Immutable after construction; Authenticate is thread-safe. Rebuilt from the new Policy on
// reload (cheap: one hex decode per key).
class ApiKeyStore {
 public:
  // Byte comparison used to match digests; constant-time by default. Injectable so tests can
  // observe that every record is compared (no early exit on a match).
  using EqualsFn = std::function<bool(std::span<const uint8_t>, std::span<const uint8_t>)>;

  // REQUIRES: every record's hash passed Policy::AddApiKey validation ("sha256:" + 64 hex).
  explicit ApiKeyStore(const std::vector<ApiKeyRecord>& records,
                       EqualsFn equals = internal::ConstantTimeEquals);

  // Principal name the key belongs to, or kUnauthenticated "unknown API key". The presented key
  // is hashed once and compared with every stored digest in constant time, without stopping at
  // the first match, so timing reveals neither which record matched nor how many bytes did.
  Result<std::string> Authenticate(std::string_view presented_key) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    internal::Sha256Digest digest;
    std::string principal;
  };
  std::vector<Entry> entries_;
  EqualsFn equals_;
};

}  // namespace sluice::auth_rbac
