// Tests for JwtVerifier, JwtKey/JwtKeySet (PEM, JWKS) and the verified-token cache. Keys are
// generated at test start; tokens are signed here with OpenSSL directly (test_signer.h).
#include "auth/jwt/jwt_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/jwt/internal/base64url.h"
#include "auth/jwt/test_signer.h"

namespace sluice::auth_jwt {
namespace {

using testing::AssembleToken;
using testing::MakeHmacToken;
using testing::MakeToken;
using testing::TestKeyPair;

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256-secret";

std::string Payload(int64_t exp = kNow + 3600, std::string extra = "") {
  return fmt::format(R"({{"sub":"alice","iss":"https://idp.example","aud":"sluice",)"
                     R"("iat":{},"exp":{}{}}})",
                     kNow - 10, exp, extra);
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new TestKeyPair(TestKeyPair::Rsa());
    rsa2_ = new TestKeyPair(TestKeyPair::Rsa());
    ec_ = new TestKeyPair(TestKeyPair::Ec());
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete rsa2_;
    delete ec_;
  }

  static JwtKeySet AllKeys() {
    JwtKeySet keys;
    keys.Add(JwtKey::Hmac(kSecret, "hs").value());
    keys.Add(JwtKey::RsaPem(rsa_->PublicPem(), "rs").value());
    keys.Add(JwtKey::EcPem(ec_->PublicPem(), "es").value());
    return keys;
  }

  static JwtVerifierOptions Options() {
    JwtVerifierOptions o;
    o.issuer = "https://idp.example";
    o.audiences = {"sluice"};
    o.clock_skew_s = 30;
    return o;
  }

  static std::string ErrorOf(const Result<std::shared_ptr<const Claims>>& r) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << r.status().ToString();
    return r.status().message();
  }

  static TestKeyPair* rsa_;
  static TestKeyPair* rsa2_;
  static TestKeyPair* ec_;
};

TestKeyPair* JwtVerifierTest::rsa_ = nullptr;
TestKeyPair* JwtVerifierTest::rsa2_ = nullptr;
TestKeyPair* JwtVerifierTest::ec_ = nullptr;

TEST(Base64UrlTest, RoundTripsAndRejectsNonCanonicalText) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    auto back = internal::Base64UrlDecode(internal::Base64UrlEncode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(internal::Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(internal::Base64UrlDecode("Zm+v").has_value());   // base64, not base64url
  EXPECT_FALSE(internal::Base64UrlDecode("Z").has_value());      // impossible length
  EXPECT_FALSE(internal::Base64UrlDecode("Zh").has_value());     // non-zero trailing bits
}

TEST_F(JwtVerifierTest, AcceptsValidTokensForAllThreeAlgorithms) {
  JwtVerifier v(AllKeys(), Options());
  std::string payload = Payload(kNow + 3600, R"(,"roles":["producer"])");
  std::vector<std::string> tokens = {
      MakeHmacToken(R"({"alg":"HS256","typ":"JWT","kid":"hs"})", payload, kSecret),
      MakeToken(R"({"alg":"RS256","kid":"rs"})", payload, *rsa_),
      MakeToken(R"({"alg":"ES256","kid":"es"})", payload, *ec_),
  };
  for (const std::string& t : tokens) {
    auto r = v.Verify(t, kNow);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Claims& c = **r;
    EXPECT_EQ(c.subject, "alice");
    EXPECT_EQ(c.issuer, "https://idp.example");
    EXPECT_EQ(c.audiences, std::vector<std::string>{"sluice"});
    EXPECT_EQ(c.expires_at, kNow + 3600);
    EXPECT_EQ(c.issued_at, kNow - 10);
    EXPECT_FALSE(c.not_before.has_value());
    const codec::JsonValue* roles = c.raw.Find("roles");
    ASSERT_NE(roles, nullptr);
    ASSERT_EQ(roles->items().size(), 1u);
    EXPECT_EQ(roles->items()[0].text(), "producer");
  }
}

TEST_F(JwtVerifierTest, AcceptsTokensWithoutKidByTryingKeysOfTheAlg) {
  JwtVerifier v(AllKeys(), Options());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"RS256"})", Payload(), *rsa_), kNow).ok());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"ES256"})", Payload(), *ec_), kNow).ok());
  EXPECT_TRUE(v.Verify(MakeHmacToken(R"({"alg":"HS256"})", Payload(), kSecret), kNow).ok());
}

TEST_F(JwtVerifierTest, RejectsTamperedPayload) {
  JwtVerifier v(AllKeys(), Options());
  for (const std::string& token :
       {MakeToken(R"({"alg":"RS256"})", Payload(), *rsa_),
        MakeToken(R"({"alg":"ES256"})", Payload(), *ec_),
        MakeHmacToken(R"({"alg":"HS256"})", Payload(), kSecret)}) {
    size_t d1 = token.find('.');
    size_t d2 = token.find('.', d1 + 1);
    std::string forged = token.substr(0, d1 + 1) +
                         internal::Base64UrlEncode(Payload(kNow + 3600, R"(,"roles":["admin"])")) +
                         token.substr(d2);
    EXPECT_EQ(ErrorOf(v.Verify(forged, kNow)), "bad signature");
  }
}

TEST_F(JwtVerifierTest, RejectsTamperedSignature) {
  JwtVerifier v(AllKeys(), Options());
  for (std::string token : {MakeToken(R"({"alg":"RS256"})", Payload(), *rsa_),
                            MakeToken(R"({"alg":"ES256"})", Payload(), *ec_),
                            MakeHmacToken(R"({"alg":"HS256"})", Payload(), kSecret)}) {
    size_t d2 = token.rfind('.');
    std::string sig = *internal::Base64UrlDecode(token.substr(d2 + 1));
    sig[sig.size() / 2] ^= 0x01;
    std::string forged = token.substr(0, d2 + 1) + internal::Base64UrlEncode(sig);
    EXPECT_EQ(ErrorOf(v.Verify(forged, kNow)), "bad signature");
    // A truncated signature too.
    std::string truncated = token.substr(0, d2 + 1) + internal::Base64UrlEncode(sig.substr(1));
    EXPECT_EQ(ErrorOf(v.Verify(truncated, kNow)), "bad signature");
  }
}

TEST_F(JwtVerifierTest, RejectsAlgNoneAndUnknownAlgs) {
  JwtVerifier v(AllKeys(), Options());
  EXPECT_EQ(ErrorOf(v.Verify(AssembleToken(R"({"alg":"none"})", Payload(), ""), kNow)),
            "unsupported alg 'none'");
  EXPECT_EQ(ErrorOf(v.Verify(AssembleToken(R"({"alg":"None"})", Payload(), ""), kNow)),
            "unsupported alg 'None'");
  EXPECT_EQ(ErrorOf(v.Verify(MakeHmacToken(R"({"alg":"HS512"})", Payload(), kSecret), kNow)),
            "unsupported alg 'HS512'");
}

TEST_F(JwtVerifierTest, RejectsAlgConfusionWithRsaPublicKeyAsHmacSecret) {
  // The classic attack: sign HS256 with the server's RSA public key PEM as the shared secret.
  std::string pem = rsa_->PublicPem();
  JwtKeySet rsa_only;
  rsa_only.Add(JwtKey::RsaPem(pem, "rs").value());
  JwtVerifier v(std::move(rsa_only), Options());
  EXPECT_EQ(ErrorOf(v.Verify(MakeHmacToken(R"({"alg":"HS256","kid":"rs"})", Payload(), pem),
                             kNow)),
            "key 'rs' is for RS256, token says HS256");
  EXPECT_EQ(ErrorOf(v.Verify(MakeHmacToken(R"({"alg":"HS256"})", Payload(), pem), kNow)),
            "no key configured for alg HS256");
  // Also with both families configured: the HMAC path only ever uses HMAC secrets.
  JwtVerifier both(AllKeys(), Options());
  EXPECT_EQ(ErrorOf(both.Verify(MakeHmacToken(R"({"alg":"HS256"})", Payload(), pem), kNow)),
            "bad signature");
}

TEST_F(JwtVerifierTest, RejectsMalformedTokens) {
  JwtVerifier v(AllKeys(), Options());
  EXPECT_NE(ErrorOf(v.Verify("", kNow)).find("three"), std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify("a.b", kNow)).find("three"), std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify("a.b.c.d", kNow)).find("three"), std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify("a*.b.c", kNow)).find("base64url"), std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify(AssembleToken("[1]", Payload(), "x"), kNow)).find("header"),
            std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify(MakeHmacToken(R"({"alg":"HS256"})", "[]", kSecret), kNow))
                .find("payload"),
            std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify(MakeHmacToken(R"({"alg":"HS256","crit":["b64"]})", Payload(),
                                           kSecret),
                             kNow))
                .find("critical"),
            std::string::npos);
  EXPECT_NE(ErrorOf(v.Verify(std::string(9000, 'a'), kNow)).find("longer"), std::string::npos);
}

TEST_F(JwtVerifierTest, ChecksExpiryAndNotBeforeWithClockSkew) {
  JwtVerifierOptions o = Options();
  o.clock_skew_s = 30;
  o.cache_capacity = 0;  // each call re-evaluates the time rules
  JwtVerifier v(AllKeys(), o);
  const std::string h = R"({"alg":"HS256"})";
  std::string expired = MakeHmacToken(h, Payload(kNow - 100), kSecret);
  EXPECT_EQ(ErrorOf(v.Verify(expired, kNow)),
            fmt::format("token expired at {} (now {}, skew 30s)", kNow - 100, kNow));
  // Within the skew window after exp: still accepted; at exp + skew: rejected.
  std::string just_expired = MakeHmacToken(h, Payload(kNow - 10), kSecret);
  EXPECT_TRUE(v.Verify(just_expired, kNow).ok());
  EXPECT_FALSE(v.Verify(just_expired, kNow + 20).ok());

  std::string future = MakeHmacToken(h, Payload(kNow + 3600, fmt::format(R"(,"nbf":{})", kNow + 100)),
                                     kSecret);
  EXPECT_EQ(ErrorOf(v.Verify(future, kNow)),
            fmt::format("token not valid before {} (now {}, skew 30s)", kNow + 100, kNow));
  EXPECT_TRUE(v.Verify(future, kNow + 70).ok());  // 30 s skew
  EXPECT_FALSE(v.Verify(future, kNow + 69).ok());

  std::string no_exp = MakeHmacToken(h, R"({"sub":"a","iss":"https://idp.example","aud":"sluice"})",
                                     kSecret);
  EXPECT_EQ(ErrorOf(v.Verify(no_exp, kNow)), "token has no 'exp' claim");
  std::string bad_exp = MakeHmacToken(
      h, R"({"iss":"https://idp.example","aud":"sluice","exp":"tomorrow"})", kSecret);
  EXPECT_EQ(ErrorOf(v.Verify(bad_exp, kNow)), "claim 'exp' is not a NumericDate");
  std::string fractional = MakeHmacToken(
      h, fmt::format(R"({{"iss":"https://idp.example","aud":"sluice","exp":{}.5}})", kNow + 5),
      kSecret);
  auto r = v.Verify(fractional, kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->expires_at, kNow + 5);
}

TEST_F(JwtVerifierTest, ChecksIssuerAndAudience) {
  JwtVerifier v(AllKeys(), Options());
  const std::string h = R"({"alg":"HS256"})";
  std::string exp = fmt::format(R"("exp":{})", kNow + 60);
  auto token = [&](std::string claims) {
    return MakeHmacToken(h, "{" + claims + "," + exp + "}", kSecret);
  };
  EXPECT_EQ(ErrorOf(v.Verify(token(R"("iss":"evil","aud":"sluice")"), kNow)),
            "issuer 'evil' not accepted");
  EXPECT_EQ(ErrorOf(v.Verify(token(R"("aud":"sluice")"), kNow)), "token has no 'iss' claim");
  EXPECT_EQ(ErrorOf(v.Verify(token(R"("iss":"https://idp.example","aud":"other")"), kNow)),
            "audience [other] not accepted");
  EXPECT_EQ(ErrorOf(v.Verify(token(R"("iss":"https://idp.example","aud":["a","b"])"), kNow)),
            "audience [a, b] not accepted");
  EXPECT_EQ(ErrorOf(v.Verify(token(R"("iss":"https://idp.example")"), kNow)),
            "token has no 'aud' claim");
  auto ok = v.Verify(token(R"("iss":"https://idp.example","aud":["other","sluice"])"), kNow);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->audiences, (std::vector<std::string>{"other", "sluice"}));

  // Without configured iss/aud, neither is required.
  JwtVerifier lax(AllKeys(), JwtVerifierOptions{});
  EXPECT_TRUE(lax.Verify(token(R"("sub":"x")"), kNow).ok());
}

TEST_F(JwtVerifierTest, SelectsKeyByKidAndRejectsUnknownKid) {
  JwtKeySet keys;
  keys.Add(JwtKey::RsaPem(rsa_->PublicPem(), "old").value());
  keys.Add(JwtKey::RsaPem(rsa2_->PublicPem(), "new").value());
  JwtVerifier v(std::move(keys), Options());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"RS256","kid":"old"})", Payload(), *rsa_), kNow).ok());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"RS256","kid":"new"})", Payload(), *rsa2_), kNow).ok());
  // The kid names one key: signed by the other key, it fails even though that key is trusted.
  EXPECT_EQ(ErrorOf(v.Verify(MakeToken(R"({"alg":"RS256","kid":"new"})", Payload(), *rsa_), kNow)),
            "bad signature");
  EXPECT_EQ(ErrorOf(v.Verify(MakeToken(R"({"alg":"RS256","kid":"x"})", Payload(), *rsa_), kNow)),
            "unknown kid 'x'");
}

TEST_F(JwtVerifierTest, RejectsUnsuitableKeys) {
  EXPECT_FALSE(JwtKey::Hmac("short").ok());
  EXPECT_FALSE(JwtKey::RsaPem("not a pem").ok());
  EXPECT_FALSE(JwtKey::RsaPem(ec_->PublicPem()).ok());  // EC key as RSA
  EXPECT_FALSE(JwtKey::EcPem(rsa_->PublicPem()).ok());  // RSA key as EC
  std::string small_rsa_pem;
  {
    EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
    ASSERT_NE(small, nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, small);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    small_rsa_pem.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
    EVP_PKEY_free(small);
  }
  auto r = JwtKey::RsaPem(small_rsa_pem);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1024 bits"), std::string::npos);
}

TEST_F(JwtVerifierTest, ParsesJwksAndVerifiesThroughIt) {
  std::string jwks = fmt::format(
      R"({{"keys":[)"
      R"({{"kty":"RSA","kid":"r1","use":"sig","alg":"RS256","n":"{}","e":"{}"}},)"
      R"({{"kty":"EC","kid":"e1","crv":"P-256","x":"{}","y":"{}"}},)"
      R"({{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}},)"
      R"({{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AAAA"}},)"
      R"({{"kty":"oct","kid":"h1","k":"{}"}}]}})",
      rsa_->JwkMember("n"), rsa_->JwkMember("e"), ec_->JwkMember("x"), ec_->JwkMember("y"),
      internal::Base64UrlEncode(kSecret));
  auto set = JwtKeySet::ParseJwks(jwks);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->keys().size(), 3u);  // "enc" and the OKP key are skipped
  EXPECT_EQ(set->keys()[0].alg(), JwtAlg::kRs256);
  EXPECT_EQ(set->keys()[1].alg(), JwtAlg::kEs256);
  EXPECT_EQ(set->keys()[2].alg(), JwtAlg::kHs256);
  JwtVerifier v(std::move(set).value(), Options());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"RS256","kid":"r1"})", Payload(), *rsa_), kNow).ok());
  EXPECT_TRUE(v.Verify(MakeToken(R"({"alg":"ES256","kid":"e1"})", Payload(), *ec_), kNow).ok());
  EXPECT_TRUE(
      v.Verify(MakeHmacToken(R"({"alg":"HS256","kid":"h1"})", Payload(), kSecret), kNow).ok());
  EXPECT_EQ(ErrorOf(v.Verify(MakeToken(R"({"alg":"RS256","kid":"r1"})", Payload(), *rsa2_), kNow)),
            "bad signature");
}

TEST_F(JwtVerifierTest, RejectsBadJwks) {
  EXPECT_FALSE(JwtKeySet::ParseJwks("not json").ok());
  EXPECT_FALSE(JwtKeySet::ParseJwks(R"({"nokeys":[]})").ok());
  EXPECT_FALSE(JwtKeySet::ParseJwks(R"({"keys":[{"kid":"a"}]})").ok());
  EXPECT_FALSE(JwtKeySet::ParseJwks(R"({"keys":[{"kty":"RSA","kid":"a","e":"AQAB"}]})").ok());
  // A point that is not on the curve.
  std::string zeros = internal::Base64UrlEncode(std::string(32, '\x01'));
  auto r = JwtKeySet::ParseJwks(fmt::format(
      R"({{"keys":[{{"kty":"EC","kid":"bad","crv":"P-256","x":"{}","y":"{}"}}]}})", zeros, zeros));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("JWKS key 'bad'"), std::string::npos)
      << r.status().ToString();
}

TEST_F(JwtVerifierTest, RotationReplacesKeysAndClearsCache) {
  JwtKeySet old_keys;
  old_keys.Add(JwtKey::RsaPem(rsa_->PublicPem(), "k1").value());
  JwtVerifier v(std::move(old_keys), Options());
  std::string old_token = MakeToken(R"({"alg":"RS256","kid":"k1"})", Payload(), *rsa_);
  std::string new_token = MakeToken(R"({"alg":"RS256","kid":"k2"})", Payload(), *rsa2_);
  ASSERT_TRUE(v.Verify(old_token, kNow).ok());
  ASSERT_TRUE(v.Verify(old_token, kNow).ok());  // cached
  EXPECT_EQ(v.cache_hits(), 1u);
  EXPECT_EQ(ErrorOf(v.Verify(new_token, kNow)), "unknown kid 'k2'");

  JwtKeySet new_keys;
  new_keys.Add(JwtKey::RsaPem(rsa2_->PublicPem(), "k2").value());
  v.ReplaceKeys(std::move(new_keys));
  EXPECT_TRUE(v.Verify(new_token, kNow).ok());
  // The old token was cached, but the cache is cleared on rotation: it fails now.
  EXPECT_EQ(ErrorOf(v.Verify(old_token, kNow)), "unknown kid 'k1'");
}

TEST_F(JwtVerifierTest, CacheHitSkipsSignatureCheck) {
  JwtVerifier v(AllKeys(), Options());
  std::string token = MakeToken(R"({"alg":"ES256","kid":"es"})", Payload(), *ec_);
  auto first = v.Verify(token, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(v.signature_checks(), 1u);
  for (int i = 0; i < 10; ++i) {
    auto again = v.Verify(token, kNow + i);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), first->get());  // the same shared claims
  }
  EXPECT_EQ(v.signature_checks(), 1u);
  EXPECT_EQ(v.cache_hits(), 10u);
}

TEST_F(JwtVerifierTest, CacheEntryEndsAtExpiryOrTtl) {
  JwtVerifierOptions o = Options();
  o.clock_skew_s = 0;
  o.cache_ttl_s = 100;
  JwtVerifier v(AllKeys(), o);
  const std::string h = R"({"alg":"HS256"})";
  std::string short_lived = MakeHmacToken(h, Payload(kNow + 10), kSecret);
  ASSERT_TRUE(v.Verify(short_lived, kNow).ok());
  ASSERT_TRUE(v.Verify(short_lived, kNow + 9).ok());
  EXPECT_EQ(v.cache_hits(), 1u);
  EXPECT_EQ(ErrorOf(v.Verify(short_lived, kNow + 10)),
            fmt::format("token expired at {} (now {}, skew 0s)", kNow + 10, kNow + 10));

  std::string long_lived = MakeHmacToken(h, Payload(kNow + 10000), kSecret);
  ASSERT_TRUE(v.Verify(long_lived, kNow).ok());
  uint64_t checks = v.signature_checks();
  ASSERT_TRUE(v.Verify(long_lived, kNow + 99).ok());
  EXPECT_EQ(v.signature_checks(), checks);  // hit
  ASSERT_TRUE(v.Verify(long_lived, kNow + 100).ok());
  EXPECT_EQ(v.signature_checks(), checks + 1);  // ttl over: verified again
}

TEST_F(JwtVerifierTest, CacheIsBounded) {
  JwtVerifierOptions o = Options();
  o.cache_capacity = 64;
  JwtVerifier v(AllKeys(), o);
  const std::string h = R"({"alg":"HS256"})";
  std::vector<std::string> tokens;
  for (int i = 0; i < 1000; ++i) {
    tokens.push_back(MakeHmacToken(h, Payload(kNow + 1000 + i), kSecret));
    ASSERT_TRUE(v.Verify(tokens.back(), kNow).ok());
  }
  EXPECT_EQ(v.signature_checks(), 1000u);
  // The oldest were evicted; the newest one is still cached.
  ASSERT_TRUE(v.Verify(tokens.back(), kNow).ok());
  EXPECT_EQ(v.signature_checks(), 1000u);
  ASSERT_TRUE(v.Verify(tokens.front(), kNow).ok());
  EXPECT_EQ(v.signature_checks(), 1001u);
}

TEST_F(JwtVerifierTest, FailedVerificationsAreNotCached) {
  JwtVerifier v(AllKeys(), Options());
  std::string bad = MakeHmacToken(R"({"alg":"HS256"})", Payload(), "wrong-secret-wrong-secret-wrong!!");
  EXPECT_FALSE(v.Verify(bad, kNow).ok());
  EXPECT_FALSE(v.Verify(bad, kNow).ok());
  EXPECT_EQ(v.cache_hits(), 0u);
  EXPECT_EQ(v.signature_checks(), 2u);
}

TEST_F(JwtVerifierTest, VerifiesConcurrentlyWhileKeysRotate) {
  JwtVerifier v(AllKeys(), Options());
  std::string hs = MakeHmacToken(R"({"alg":"HS256","kid":"hs"})", Payload(), kSecret);
  std::string es = MakeToken(R"({"alg":"ES256","kid":"es"})", Payload(), *ec_);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string& token = t % 2 == 0 ? hs : es;
      while (!stop.load()) {
        if (!v.Verify(token, kNow).ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) v.ReplaceKeys(AllKeys());
  stop.store(true);
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace sluice::auth_jwt
