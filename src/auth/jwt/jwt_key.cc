// Building verification keys from PEM, JWK components and JWKS documents with OpenSSL 3.
#include "auth/jwt/jwt_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>

#include "auth/jwt/internal/base64url.h"
#include "codec/json_parser.h"

namespace sluice::auth_jwt {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Result<PkeyPtr> ReadPublicPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Internal("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) {
    return InvalidArgument("not a PEM public key (expected a 'BEGIN PUBLIC KEY' block)");
  }
  return PkeyPtr(pkey);
}

// Builds a public key of `type` ("RSA" or "EC") from OpenSSL parameters.
Result<PkeyPtr> PkeyFromParams(const char* type, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (ctx == nullptr) return Internal("EVP_PKEY_CTX_new_from_name({}) failed", type);
  EVP_PKEY* pkey = nullptr;
  bool ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || pkey == nullptr) return InvalidArgument("invalid {} key parameters", type);
  return PkeyPtr(pkey);
}

std::optional<std::string> MemberString(const codec::JsonValue& obj, std::string_view name) {
  const codec::JsonValue* v = obj.Find(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->text();
}

Result<std::string> MemberBase64(const codec::JsonValue& obj, std::string_view name,
                                 std::string_view kid) {
  auto text = MemberString(obj, name);
  if (!text) return InvalidArgument("JWKS key '{}': missing string member '{}'", kid, name);
  auto bytes = internal::Base64UrlDecode(*text);
  if (!bytes || bytes->empty()) {
    return InvalidArgument("JWKS key '{}': '{}' is not base64url", kid, name);
  }
  return std::move(*bytes);
}

}  // namespace

std::string_view JwtAlgName(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kHs256:
      return "HS256";
    case JwtAlg::kRs256:
      return "RS256";
    case JwtAlg::kEs256:
      return "ES256";
  }
  return "?";
}

Result<JwtKey> JwtKey::Hmac(std::string secret, std::string kid) {
  if (secret.size() < 32) {
    return InvalidArgument("HS256 secret must be at least 32 bytes (got {})", secret.size());
  }
  JwtKey key;
  key.alg_ = JwtAlg::kHs256;
  key.kid_ = std::move(kid);
  key.secret_ = std::move(secret);
  return key;
}

Result<JwtKey> JwtKey::FromPkey(EVP_PKEY* raw, JwtAlg alg, std::string kid) {
  PkeyPtr pkey(raw);
  if (alg == JwtAlg::kRs256) {
    if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
      return InvalidArgument("RS256 key is not an RSA key");
    }
    int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < 2048) return InvalidArgument("RS256 key has {} bits; at least 2048 needed", bits);
  } else {
    if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC) {
      return InvalidArgument("ES256 key is not an EC key");
    }
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof(group), &len) != 1 ||
        (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0)) {
      return InvalidArgument("ES256 key is not on curve P-256 (got '{}')", group);
    }
  }
  JwtKey key;
  key.alg_ = alg;
  key.kid_ = std::move(kid);
  key.pkey_ = std::shared_ptr<EVP_PKEY>(pkey.release(), PkeyDeleter());
  return key;
}

Result<JwtKey> JwtKey::RsaPem(std::string_view pem, std::string kid) {
  SLUICE_ASSIGN_OR_RETURN(PkeyPtr pkey, ReadPublicPem(pem));
  return FromPkey(pkey.release(), JwtAlg::kRs256, std::move(kid));
}

Result<JwtKey> JwtKey::EcPem(std::string_view pem, std::string kid) {
  SLUICE_ASSIGN_OR_RETURN(PkeyPtr pkey, ReadPublicPem(pem));
  return FromPkey(pkey.release(), JwtAlg::kEs256, std::move(kid));
}

Result<JwtKey> JwtKey::RsaComponents(std::string_view n, std::string_view e, std::string kid) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && bld != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    params = OSSL_PARAM_BLD_to_param(bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (params == nullptr) return Internal("building RSA parameters failed");
  auto pkey = PkeyFromParams("RSA", params);
  OSSL_PARAM_free(params);
  if (!pkey.ok()) return pkey.status();
  return FromPkey(pkey->release(), JwtAlg::kRs256, std::move(kid));
}

Result<JwtKey> JwtKey::EcComponents(std::string_view x, std::string_view y, std::string kid) {
  if (x.size() != 32 || y.size() != 32) {
    return InvalidArgument("P-256 coordinates must be 32 bytes each (got {} and {})", x.size(),
                           y.size());
  }
  std::string point = "\x04";  // uncompressed SEC1 point
  point.append(x);
  point.append(y);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  SLUICE_ASSIGN_OR_RETURN(PkeyPtr pkey, PkeyFromParams("EC", params));
  // fromdata does not check that the point is on the curve; do it before trusting the key.
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr);
  bool on_curve = ctx != nullptr && EVP_PKEY_public_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!on_curve) return InvalidArgument("EC point is not on curve P-256");
  return FromPkey(pkey.release(), JwtAlg::kEs256, std::move(kid));
}

Result<JwtKeySet> JwtKeySet::ParseJwks(std::string_view json) {
  codec::JsonParser parser;
  auto doc = parser.Parse(json);
  if (!doc.ok()) return doc.status().WithContext("JWKS");
  const codec::JsonValue* keys = doc->Find("keys");
  if (keys == nullptr || !keys->is_array()) {
    return InvalidArgument("JWKS: expected an object with a \"keys\" array");
  }
  JwtKeySet set;
  for (const codec::JsonValue& jwk : keys->items()) {
    if (!jwk.is_object()) return InvalidArgument("JWKS: every key must be an object");
    std::string kid = MemberString(jwk, "kid").value_or("");
    auto use = MemberString(jwk, "use");
    if (use && *use != "sig") continue;
    auto kty = MemberString(jwk, "kty");
    if (!kty) return InvalidArgument("JWKS key '{}': missing \"kty\"", kid);
    auto alg = MemberString(jwk, "alg");
    if (*kty == "RSA") {
      if (alg && *alg != "RS256") continue;
      SLUICE_ASSIGN_OR_RETURN(std::string n, MemberBase64(jwk, "n", kid));
      SLUICE_ASSIGN_OR_RETURN(std::string e, MemberBase64(jwk, "e", kid));
      auto key = JwtKey::RsaComponents(n, e, kid);
      if (!key.ok()) return key.status().WithContext(fmt::format("JWKS key '{}'", kid));
      set.Add(std::move(key).value());
    } else if (*kty == "EC") {
      if (alg && *alg != "ES256") continue;
      auto crv = MemberString(jwk, "crv");
      if (!crv || *crv != "P-256") continue;  // other curves are not accepted algorithms
      SLUICE_ASSIGN_OR_RETURN(std::string x, MemberBase64(jwk, "x", kid));
      SLUICE_ASSIGN_OR_RETURN(std::string y, MemberBase64(jwk, "y", kid));
      auto key = JwtKey::EcComponents(x, y, kid);
      if (!key.ok()) return key.status().WithContext(fmt::format("JWKS key '{}'", kid));
      set.Add(std::move(key).value());
    } else if (*kty == "oct") {
      if (alg && *alg != "HS256") continue;
      SLUICE_ASSIGN_OR_RETURN(std::string k, MemberBase64(jwk, "k", kid));
      auto key = JwtKey::Hmac(std::move(k), kid);
      if (!key.ok()) return key.status().WithContext(fmt::format("JWKS key '{}'", kid));
      set.Add(std::move(key).value());
    }
    // Unknown kty: ignored, as RFC 7517 section 5 asks.
  }
  return set;
}

}  // namespace sluice::auth_jwt
