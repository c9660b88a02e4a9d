// Claims: what a verified JWT says about its bearer, shared immutably between the verifier's
// cache and every request that presented the same token.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/json_value.h"

namespace sluice::auth_jwt {

struct Claims {
  std::string subject;                 // "sub" (empty when absent)
  std::string issuer;                  // "iss" (empty when absent)
  std::vector<std::string> audiences;  // "aud", a string or an array, normalised to a list
  std::optional<int64_t> expires_at;   // "exp", Unix seconds
  std::optional<int64_t> not_before;   // "nbf", Unix seconds
  std::optional<int64_t> issued_at;    // "iat", Unix seconds
  std::string alg;                     // header "alg" that was verified
  std::string kid;                     // header "kid" (empty when absent)
  codec::JsonValue raw;                // the whole payload object (roles, scopes, ...)
};

}  // namespace sluice::auth_jwt
