// Base64url (RFC 4648 section 5) without padding, as JWS compact serialization uses it.
// Decoding is strict: no padding, no whitespace, and unused trailing bits must be zero, so every
// byte string has exactly one accepted encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::auth_jwt::internal {

// Encodes bytes as unpadded base64url.
std::string Base64UrlEncode(std::string_view bytes);

// Decodes unpadded base64url; nullopt when a character is outside the alphabet, the length is
// impossible (n % 4 == 1) or the trailing bits are not zero.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace sluice::auth_jwt::internal
