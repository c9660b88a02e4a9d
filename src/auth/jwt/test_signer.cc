// Key generation and JWT signing for tests and benchmarks.
#include "auth/jwt/test_signer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/jwt/internal/base64url.h"
#include "base/check.h"

namespace sluice::auth_jwt::testing {
namespace {

std::shared_ptr<evp_pkey_st> Wrap(EVP_PKEY* p) {
  SLUICE_CHECK(p != nullptr, "key generation failed");
  return std::shared_ptr<evp_pkey_st>(p, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  SLUICE_CHECK(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, "no param {}", name);
  int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

}  // namespace

TestKeyPair TestKeyPair::Rsa() {
  TestKeyPair k;
  k.alg_ = JwtAlg::kRs256;
  k.pkey_ = Wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  return k;
}

TestKeyPair TestKeyPair::Ec() {
  TestKeyPair k;
  k.alg_ = JwtAlg::kEs256;
  k.pkey_ = Wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return k;
}

std::string TestKeyPair::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  SLUICE_CHECK(PEM_write_bio_PUBKEY(bio, pkey_.get()) == 1, "PEM write failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string TestKeyPair::JwkMember(std::string_view name) const {
  std::string raw;
  if (name == "n") raw = BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0);
  if (name == "e") raw = BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  if (name == "x") raw = BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32);
  if (name == "y") raw = BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  SLUICE_CHECK(!raw.empty(), "unknown JWK member {}", name);
  return internal::Base64UrlEncode(raw);
}

std::string TestKeyPair::Sign(std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  SLUICE_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey_.get()) == 1, "init");
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  SLUICE_CHECK(EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1, "sign size");
  std::string sig(len, '\0');
  SLUICE_CHECK(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                              input.size()) == 1,
               "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg_ != JwtAlg::kEs256) return sig;
  // DER ECDSA-Sig-Value -> JOSE r||s.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  SLUICE_CHECK(ecdsa != nullptr, "bad DER signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(ecdsa);
  return raw;
}

std::string HmacSha256(std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string AssembleToken(std::string_view header_json, std::string_view payload_json,
                          std::string_view signature) {
  return internal::Base64UrlEncode(header_json) + "." + internal::Base64UrlEncode(payload_json) +
         "." + internal::Base64UrlEncode(signature);
}

std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                      const TestKeyPair& key) {
  std::string input =
      internal::Base64UrlEncode(header_json) + "." + internal::Base64UrlEncode(payload_json);
  return input + "." + internal::Base64UrlEncode(key.Sign(input));
}

std::string MakeHmacToken(std::string_view header_json, std::string_view payload_json,
                          std::string_view secret) {
  std::string input =
      internal::Base64UrlEncode(header_json) + "." + internal::Base64UrlEncode(payload_json);
  return input + "." + internal::Base64UrlEncode(HmacSha256(secret, input));
}

}  // namespace sluice::auth_jwt::testing
