// JwtKey and JwtKeySet: the verification keys a JwtVerifier trusts (HS256 secrets, RS256 RSA
// public keys, ES256 P-256 public keys), built from config values or from a JWKS document.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; kept out of this header on purpose.

namespace sluice::auth_jwt {

// The JWS algorithms Sluice accepts. Each needs its own key type: a key is never used for an
// algorithm of another family (an RSA public key is never an HMAC secret).
enum class JwtAlg { kHs256, kRs256, kEs256 };

std::string_view JwtAlgName(JwtAlg alg);

// One verification key. Immutable after construction and cheap to copy (the OpenSSL key is
// shared). Thread-safe for concurrent verification.
class JwtKey {
 public:
  JwtKey() = default;

  // HS256 shared secret. Errors: kInvalidArgument when shorter than 32 bytes (RFC 7518 3.2).
  static Result<JwtKey> Hmac(std::string secret, std::string kid = {});
  // RS256 public key from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block.
  // Errors: kInvalidArgument when not parseable, not RSA, or under 2048 bits.
  static Result<JwtKey> RsaPem(std::string_view pem, std::string kid = {});
  // ES256 public key from a PEM "PUBLIC KEY" block. Errors: not parseable, not EC P-256.
  static Result<JwtKey> EcPem(std::string_view pem, std::string kid = {});
  // From raw JWK components (big-endian bytes, already base64url-decoded).
  static Result<JwtKey> RsaComponents(std::string_view n, std::string_view e, std::string kid);
  static Result<JwtKey> EcComponents(std::string_view x, std::string_view y, std::string kid);

  JwtAlg alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  // HS256 only: the secret bytes.
  const std::string& secret() const { return secret_; }
  // RS256/ES256 only: the public key (null for HS256).
  evp_pkey_st* pkey() const { return pkey_.get(); }

 private:
  static Result<JwtKey> FromPkey(evp_pkey_st* pkey, JwtAlg alg, std::string kid);

  JwtAlg alg_ = JwtAlg::kHs256;
  std::string kid_;
  std::string secret_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// An immutable-once-built list of keys. A verifier holds one behind a shared_ptr<const>.
class JwtKeySet {
 public:
  void Add(JwtKey key) { keys_.push_back(std::move(key)); }
  const std::vector<JwtKey>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }

  // Parses a JWKS document (RFC 7517): {"keys": [...]} with RSA (n, e), EC P-256 (crv, x, y) and
  // oct (k, for HS256) keys, values base64url. Keys whose "use" is not "sig", whose "alg" is not
  // one we accept, or whose "kty" is unknown are skipped (RFC 7517 says to ignore them).
  // Errors: kInvalidArgument for malformed JSON, a missing "keys" array, or bad key material.
  static Result<JwtKeySet> ParseJwks(std::string_view json);

 private:
  std::vector<JwtKey> keys_;
};

}  // namespace sluice::auth_jwt
