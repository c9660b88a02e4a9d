// TestSigner: test- and benchmark-only helper that generates keys and signs JWTs with OpenSSL,
// independently of the verifier's code paths (only base64url is shared).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt/jwt_key.h"

namespace sluice::auth_jwt::testing {

// A private key (RSA 2048 or EC P-256) generated at construction. Not thread-safe to sign with
// concurrently; tests use it from one thread.
class TestKeyPair {
 public:
  static TestKeyPair Rsa();
  static TestKeyPair Ec();

  JwtAlg alg() const { return alg_; }
  std::string PublicPem() const;
  // JWK members, base64url: RSA "n", "e"; EC "x", "y".
  std::string JwkMember(std::string_view name) const;
  // Signature over `input` in JOSE form (ES256: raw r||s).
  std::string Sign(std::string_view input) const;

 private:
  JwtAlg alg_ = JwtAlg::kRs256;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// base64url(header).base64url(payload).base64url(signature).
std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                      const TestKeyPair& key);
std::string MakeHmacToken(std::string_view header_json, std::string_view payload_json,
                          std::string_view secret);
// Header and payload as given, signature as given (for "none", tampering, ...).
std::string AssembleToken(std::string_view header_json, std::string_view payload_json,
                          std::string_view signature);
std::string HmacSha256(std::string_view secret, std::string_view input);

}  // namespace sluice::auth_jwt::testing
