// Byte encodings used by API keys: hex for stored hashes, base64url for presented keys,
// SHA-256 and a constant-time comparison (all OpenSSL-backed).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sluice::auth_rbac::internal {

using Sha256Digest = std::array<uint8_t, 32>;

std::string HexEncode(std::span<const uint8_t> bytes);
// Decodes hex (either case); nullopt on odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);
// Unpadded base64url (RFC 4648 §5).
std::string Base64UrlEncode(std::span<const uint8_t> bytes);

Sha256Digest Sha256(std::string_view data);

// True when `stored` is "sha256:" followed by exactly 64 hex digits.
bool IsStoredSha256(std::string_view stored);
// Digest from a validated "sha256:<hex>" string. REQUIRES: IsStoredSha256(stored).
Sha256Digest ParseStoredSha256(std::string_view stored);

// Compares two equal-length byte strings in time independent of where they differ
// (CRYPTO_memcmp). Different lengths compare unequal (length is not secret here: all digests
// are 32 bytes).
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace sluice::auth_rbac::internal
