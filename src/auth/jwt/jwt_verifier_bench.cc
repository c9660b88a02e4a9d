// Micro-benchmarks: verifications/s per algorithm, uncached (every call checks the signature)
// and cached (the verified-token cache answers).
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "auth/jwt/jwt_verifier.h"
#include "auth/jwt/test_signer.h"

namespace sluice::auth_jwt {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256-secret";

struct Fixture {
  testing::TestKeyPair rsa = testing::TestKeyPair::Rsa();
  testing::TestKeyPair ec = testing::TestKeyPair::Ec();
  std::string payload = fmt::format(
      R"({{"sub":"alice","iss":"https://idp.example","aud":"sluice","exp":{},)"
      R"("roles":["producer","consumer"],"scope":"topic:orders.* topic:payments.*"}})",
      kNow + 3600);

  JwtKeySet Keys() const {
    JwtKeySet keys;
    keys.Add(JwtKey::Hmac(kSecret, "hs").value());
    keys.Add(JwtKey::RsaPem(rsa.PublicPem(), "rs").value());
    keys.Add(JwtKey::EcPem(ec.PublicPem(), "es").value());
    return keys;
  }
  std::string Token(JwtAlg alg) const {
    switch (alg) {
      case JwtAlg::kHs256:
        return testing::MakeHmacToken(R"({"alg":"HS256","kid":"hs"})", payload, kSecret);
      case JwtAlg::kRs256:
        return testing::MakeToken(R"({"alg":"RS256","kid":"rs"})", payload, rsa);
      case JwtAlg::kEs256:
        return testing::MakeToken(R"({"alg":"ES256","kid":"es"})", payload, ec);
    }
    return {};
  }
};

const Fixture& GetFixture() {
  static const Fixture fixture;
  return fixture;
}

void BM_Verify(benchmark::State& state, JwtAlg alg, bool cached) {
  const Fixture& f = GetFixture();
  JwtVerifierOptions options;
  options.issuer = "https://idp.example";
  options.audiences = {"sluice"};
  options.cache_capacity = cached ? 10000 : 0;
  JwtVerifier verifier(f.Keys(), options);
  std::string token = f.Token(alg);
  for (auto _ : state) {
    auto r = verifier.Verify(token, kNow);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Verify, HS256_uncached, JwtAlg::kHs256, false);
BENCHMARK_CAPTURE(BM_Verify, RS256_uncached, JwtAlg::kRs256, false);
BENCHMARK_CAPTURE(BM_Verify, ES256_uncached, JwtAlg::kEs256, false);
BENCHMARK_CAPTURE(BM_Verify, HS256_cached, JwtAlg::kHs256, true);
BENCHMARK_CAPTURE(BM_Verify, RS256_cached, JwtAlg::kRs256, true);
BENCHMARK_CAPTURE(BM_Verify, ES256_cached, JwtAlg::kEs256, true);

}  // namespace
}  // namespace sluice::auth_jwt

BENCHMARK_MAIN();
