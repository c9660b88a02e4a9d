// JWT verification: parsing the compact form, choosing the key, checking the signature with
// OpenSSL, then the time, issuer and audience rules; plus the verified-token cache in front.
#include "auth/jwt/jwt_verifier.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "auth/jwt/internal/base64url.h"
#include "auth/jwt/internal/verified_token_cache.h"
#include "codec/json_parser.h"

namespace sluice::auth_jwt {
namespace {

template <typename... Args>
Status Unauthenticated(fmt::format_string<Args...> fmt, Args&&... args) {
  return Status(ErrorCode::kUnauthenticated, fmt::format(fmt, std::forward<Args>(args)...));
}

// simdjson-backed parsers keep buffers between calls; one per thread keeps verification free of
// those allocations. Each thread's parser is private to it, so this is not shared mutable state.
codec::JsonParser& ThreadParser() {
  thread_local codec::JsonParser parser;
  return parser;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool VerifyHmac(const JwtKey& key, std::string_view input, std::string_view sig) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.secret().data(), static_cast<int>(key.secret().size()),
           Bytes(input), input.size(), mac, &mac_len) == nullptr) {
    return false;
  }
  return sig.size() == mac_len && CRYPTO_memcmp(mac, sig.data(), mac_len) == 0;
}

bool VerifyDigestSignature(EVP_PKEY* pkey, std::string_view input, const unsigned char* sig,
                           size_t sig_len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, sig_len, Bytes(input), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// ES256 signatures are JOSE raw r||s (32 + 32 bytes); OpenSSL wants DER.
bool VerifyEs256(EVP_PKEY* pkey, std::string_view input, std::string_view sig) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(Bytes(sig), 32, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(sig) + 32, 32, nullptr);
  if (ecdsa == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(ecdsa);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(ecdsa, &der);
  ECDSA_SIG_free(ecdsa);  // owns r and s now
  if (der_len <= 0) return false;
  bool ok = VerifyDigestSignature(pkey, input, der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return ok;
}

bool VerifyWith(const JwtKey& key, std::string_view input, std::string_view sig) {
  switch (key.alg()) {
    case JwtAlg::kHs256:
      return VerifyHmac(key, input, sig);
    case JwtAlg::kRs256:
      return VerifyDigestSignature(key.pkey(), input, Bytes(sig), sig.size());
    case JwtAlg::kEs256:
      return VerifyEs256(key.pkey(), input, sig);
  }
  return false;
}

std::optional<JwtAlg> ParseAlg(std::string_view name) {
  if (name == "HS256") return JwtAlg::kHs256;
  if (name == "RS256") return JwtAlg::kRs256;
  if (name == "ES256") return JwtAlg::kEs256;
  return std::nullopt;
}

// A NumericDate claim: absent → nullopt; present and not a finite number → error.
Result<std::optional<int64_t>> NumericDate(const codec::JsonValue& payload,
                                           std::string_view name) {
  const codec::JsonValue* v = payload.Find(name);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number()) {
    if (auto i = v->AsInt64()) return std::optional<int64_t>(*i);
    auto d = v->AsDouble();
    if (d && std::isfinite(*d) && std::fabs(*d) < 1e15) {
      return std::optional<int64_t>(static_cast<int64_t>(std::floor(*d)));
    }
  }
  return Unauthenticated("claim '{}' is not a NumericDate", name);
}

Result<std::string> OptionalStringClaim(const codec::JsonValue& payload, std::string_view name) {
  const codec::JsonValue* v = payload.Find(name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return Unauthenticated("claim '{}' is not a string", name);
  return v->text();
}

}  // namespace

JwtVerifier::JwtVerifier(JwtKeySet keys, JwtVerifierOptions options)
    : options_(std::move(options)),
      cache_(std::make_unique<internal::VerifiedTokenCache>(options_.cache_capacity)) {
  ReplaceKeys(std::move(keys));
}

JwtVerifier::~JwtVerifier() = default;

void JwtVerifier::ReplaceKeys(JwtKeySet keys) {
  auto snapshot = std::make_shared<KeySnapshot>();
  snapshot->keys = std::move(keys);
  {
    std::lock_guard lock(keys_mu_);
    snapshot->generation = next_generation_++;
    keys_ = std::move(snapshot);
  }
  // Entries of older generations can no longer hit (invariant 2); clearing frees their memory.
  cache_->Clear();
}

std::shared_ptr<const JwtVerifier::KeySnapshot> JwtVerifier::Snapshot() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

Result<std::shared_ptr<const Claims>> JwtVerifier::Verify(std::string_view token,
                                                          int64_t now_s) const {
  if (token.size() > options_.max_token_bytes) {
    return Unauthenticated("malformed token: longer than {} bytes", options_.max_token_bytes);
  }
  std::shared_ptr<const KeySnapshot> snapshot = Snapshot();
  std::string cache_key;
  if (options_.cache_capacity > 0) {
    cache_key = internal::VerifiedTokenCache::KeyOf(token);
    if (auto hit = cache_->Lookup(cache_key, snapshot->generation, now_s)) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return hit;
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<const Claims> claims,
                          VerifyUncached(token, now_s, *snapshot));
  if (options_.cache_capacity > 0) {
    int64_t valid_until = now_s + options_.cache_ttl_s;
    if (claims->expires_at) valid_until = std::min(valid_until, *claims->expires_at);
    if (valid_until > now_s) {
      cache_->Insert(std::move(cache_key), snapshot->generation, valid_until, claims);
    }
  }
  return claims;
}

Result<std::shared_ptr<const Claims>> JwtVerifier::VerifyUncached(
    std::string_view token, int64_t now_s, const KeySnapshot& snapshot) const {
  // 1. Structure: header.payload.signature, each base64url.
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("malformed token: expected three '.'-separated parts");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = token.substr(dot2 + 1);
  auto header_json = internal::Base64UrlDecode(header_b64);
  auto payload_json = internal::Base64UrlDecode(payload_b64);
  auto sig = internal::Base64UrlDecode(sig_b64);
  if (!header_json || !payload_json || !sig) {
    return Unauthenticated("malformed token: a part is not base64url");
  }

  // 2. Header: alg (an accepted one), optional kid, no critical extensions.
  codec::JsonParser& parser = ThreadParser();
  auto header = parser.Parse(*header_json);
  if (!header.ok() || !header->is_object()) {
    return Unauthenticated("malformed token: header is not a JSON object");
  }
  const codec::JsonValue* alg_v = header->Find("alg");
  if (alg_v == nullptr || !alg_v->is_string()) {
    return Unauthenticated("malformed token: header has no \"alg\"");
  }
  std::optional<JwtAlg> alg = ParseAlg(alg_v->text());
  if (!alg) return Unauthenticated("unsupported alg '{}'", alg_v->text());
  if (header->Find("crit") != nullptr) {
    return Unauthenticated("unsupported critical header extension");
  }
  const codec::JsonValue* kid_v = header->Find("kid");
  if (kid_v != nullptr && !kid_v->is_string()) {
    return Unauthenticated("malformed token: \"kid\" is not a string");
  }

  // 3. Key choice and signature. A kid names exactly one key; that key's own type decides
  // whether the alg fits, so an RS256 key is never fed to HMAC (alg confusion).
  std::string_view signing_input = token.substr(0, dot2);
  bool verified = false;
  if (kid_v != nullptr) {
    const JwtKey* key = nullptr;
    for (const JwtKey& k : snapshot.keys.keys()) {
      if (k.kid() == kid_v->text()) {
        key = &k;
        break;
      }
    }
    if (key == nullptr) return Unauthenticated("unknown kid '{}'", kid_v->text());
    if (key->alg() != *alg) {
      return Unauthenticated("key '{}' is for {}, token says {}", key->kid(),
                             JwtAlgName(key->alg()), JwtAlgName(*alg));
    }
    signature_checks_.fetch_add(1, std::memory_order_relaxed);
    verified = VerifyWith(*key, signing_input, *sig);
  } else {
    bool any_key = false;
    for (const JwtKey& k : snapshot.keys.keys()) {
      if (k.alg() != *alg) continue;
      any_key = true;
      signature_checks_.fetch_add(1, std::memory_order_relaxed);
      if (VerifyWith(k, signing_input, *sig)) {
        verified = true;
        break;
      }
    }
    if (!any_key) return Unauthenticated("no key configured for alg {}", JwtAlgName(*alg));
  }
  if (!verified) return Unauthenticated("bad signature");

  // 4. Claims. Only after the signature: nothing unauthenticated is interpreted beyond the header.
  auto payload = parser.Parse(*payload_json);
  if (!payload.ok() || !payload->is_object()) {
    return Unauthenticated("malformed token: payload is not a JSON object");
  }
  auto claims = std::make_shared<Claims>();
  claims->alg = std::string(JwtAlgName(*alg));
  if (kid_v != nullptr) claims->kid = kid_v->text();
  SLUICE_ASSIGN_OR_RETURN(claims->expires_at, NumericDate(*payload, "exp"));
  SLUICE_ASSIGN_OR_RETURN(claims->not_before, NumericDate(*payload, "nbf"));
  SLUICE_ASSIGN_OR_RETURN(claims->issued_at, NumericDate(*payload, "iat"));
  SLUICE_ASSIGN_OR_RETURN(claims->subject, OptionalStringClaim(*payload, "sub"));
  SLUICE_ASSIGN_OR_RETURN(claims->issuer, OptionalStringClaim(*payload, "iss"));
  if (const codec::JsonValue* aud = payload->Find("aud")) {
    if (aud->is_string()) {
      claims->audiences.push_back(aud->text());
    } else if (aud->is_array()) {
      for (const codec::JsonValue& a : aud->items()) {
        if (!a.is_string()) return Unauthenticated("claim 'aud' has a non-string member");
        claims->audiences.push_back(a.text());
      }
    } else {
      return Unauthenticated("claim 'aud' is neither a string nor an array");
    }
  }

  // 5. Time, issuer, audience.
  const int64_t skew = options_.clock_skew_s;
  if (claims->expires_at) {
    if (now_s >= *claims->expires_at + skew) {
      return Unauthenticated("token expired at {} (now {}, skew {}s)", *claims->expires_at, now_s,
                             skew);
    }
  } else if (options_.require_exp) {
    return Unauthenticated("token has no 'exp' claim");
  }
  if (claims->not_before && now_s + skew < *claims->not_before) {
    return Unauthenticated("token not valid before {} (now {}, skew {}s)", *claims->not_before,
                           now_s, skew);
  }
  if (options_.issuer && claims->issuer != *options_.issuer) {
    if (payload->Find("iss") == nullptr) return Unauthenticated("token has no 'iss' claim");
    return Unauthenticated("issuer '{}' not accepted", claims->issuer);
  }
  if (!options_.audiences.empty()) {
    if (claims->audiences.empty()) return Unauthenticated("token has no 'aud' claim");
    bool match = std::any_of(claims->audiences.begin(), claims->audiences.end(),
                             [&](const std::string& a) {
                               return std::find(options_.audiences.begin(),
                                                options_.audiences.end(),
                                                a) != options_.audiences.end();
                             });
    if (!match) {
      return Unauthenticated("audience [{}] not accepted", fmt::join(claims->audiences, ", "));
    }
  }
  claims->raw = std::move(payload).value();
  return std::shared_ptr<const Claims>(std::move(claims));
}

}  // namespace sluice::auth_jwt
