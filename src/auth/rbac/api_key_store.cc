// API key generation, hashing and constant-time authentication.
#include "auth/rbac/api_key_store.h"

#include <openssl/rand.h>

#include <climits>

namespace sluice::auth_rbac {

Status OpenSslRandomBytes(std::span<uint8_t> out) {
  if (out.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("too many random bytes");
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Internal("RAND_bytes failed");
  }
  return Status::Ok();
}

std::string HashApiKey(std::string_view key) {
  internal::Sha256Digest digest = internal::Sha256(key);
  return "sha256:" + internal::HexEncode(digest);
}

Result<GeneratedApiKey> GenerateApiKey(const RandomBytesFn& random) {
  std::array<uint8_t, 32> bytes{};
  SLUICE_RETURN_IF_ERROR(random(bytes));
  GeneratedApiKey out;
  out.key = "sk_" + internal::Base64UrlEncode(bytes);
  out.stored_hash = HashApiKey(out.key);
  return out;
}

ApiKeyStore::ApiKeyStore(const std::vector<ApiKeyRecord>& records, EqualsFn equals)
    : equals_(std::move(equals)) {
  entries_.reserve(records.size());
  for (const ApiKeyRecord& record : records) {
    entries_.push_back(Entry{internal::ParseStoredSha256(record.hash), record.principal});
  }
}

Result<std::string> ApiKeyStore::Authenticate(std::string_view presented_key) const {
  const internal::Sha256Digest digest = internal::Sha256(presented_key);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: the loop does the same work whether or where a match occurs.
    bool equal = equals_(digest, entry.digest);
    if (equal && found == nullptr) found = &entry;
  }
  if (found == nullptr) return Status(ErrorCode::kUnauthenticated, "unknown API key");
  return found->principal;
}

}  // namespace sluice::auth_rbac
