// Tests for API key generation, hashing and authentication.
#include "auth/rbac/api_key_store.h"

#include <gtest/gtest.h>

#include <set>

namespace sluice::auth_rbac {
namespace {

std::vector<ApiKeyRecord> Records(const std::vector<std::pair<std::string, std::string>>& keys) {
  std::vector<ApiKeyRecord> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.push_back({fmt::format("k{}", i), keys[i].second, HashApiKey(keys[i].first)});
  }
  return out;
}

TEST(ApiKeyStoreTest, GeneratedKeyHasExpectedShapeAndHash) {
  Result<GeneratedApiKey> key = GenerateApiKey();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->key.starts_with("sk_"));
  EXPECT_EQ(key->key.size(), 3u + 43u);  // 32 bytes -> 43 unpadded base64url chars
  EXPECT_EQ(key->key.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
            std::string::npos);
  EXPECT_EQ(key->stored_hash, HashApiKey(key->key));
  EXPECT_TRUE(internal::IsStoredSha256(key->stored_hash));
  EXPECT_EQ(key->stored_hash.find(key->key), std::string::npos);  // the key is not stored
}

TEST(ApiKeyStoreTest, GeneratedKeysDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    Result<GeneratedApiKey> key = GenerateApiKey();
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(seen.insert(key->key).second);
  }
}

TEST(ApiKeyStoreTest, GenerationUsesInjectedRandomnessAndPropagatesFailure) {
  auto zeros = [](std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), uint8_t{0});
    return Status::Ok();
  };
  Result<GeneratedApiKey> key = GenerateApiKey(zeros);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->key, "sk_" + std::string(43, 'A'));

  auto failing = [](std::span<uint8_t>) { return Internal("no entropy"); };
  Result<GeneratedApiKey> bad = GenerateApiKey(failing);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "no entropy");
}

TEST(ApiKeyStoreTest, HashIsSha256Hex) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(HashApiKey("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeyStoreTest, AuthenticatesKnownKeys) {
  ApiKeyStore store(Records({{"sk_one", "svc-billing"}, {"sk_two", "alice"}}));
  Result<std::string> who = store.Authenticate("sk_two");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, "alice");
  EXPECT_EQ(*store.Authenticate("sk_one"), "svc-billing");
}

TEST(ApiKeyStoreTest, RejectsUnknownKeysWith401) {
  ApiKeyStore store(Records({{"sk_one", "svc-billing"}}));
  for (std::string_view bad : {"sk_onf", "sk_on", "sk_one ", "", "SK_ONE"}) {
    Result<std::string> who = store.Authenticate(bad);
    ASSERT_FALSE(who.ok()) << bad;
    EXPECT_EQ(who.status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(who.status().message(), "unknown API key");
    EXPECT_EQ(ErrorCodeToHttp(who.status().code()), 401);
  }
  // The stored hash itself is not a key.
  EXPECT_FALSE(store.Authenticate(HashApiKey("sk_one")).ok());
  ApiKeyStore empty({});
  EXPECT_FALSE(empty.Authenticate("sk_one").ok());
}

TEST(ApiKeyStoreTest, ComparesEveryRecordWithTheInjectedComparator) {
  int calls = 0;
  auto counting = [&calls](std::span<const uint8_t> a, std::span<const uint8_t> b) {
    ++calls;
    return internal::ConstantTimeEquals(a, b);
  };
  ApiKeyStore store(Records({{"sk_a", "a"}, {"sk_b", "b"}, {"sk_c", "c"}}), counting);
  // A match on the first record still compares against all three: no early exit.
  ASSERT_TRUE(store.Authenticate("sk_a").ok());
  EXPECT_EQ(calls, 3);
  calls = 0;
  ASSERT_FALSE(store.Authenticate("sk_zzz").ok());
  EXPECT_EQ(calls, 3);
}

TEST(ApiKeyStoreTest, DefaultComparatorIsConstantTimeEquals) {
  // The store is built with ConstantTimeEquals unless told otherwise; check its behaviour on
  // digests that differ only in the first or the last byte, and on length mismatch.
  internal::Sha256Digest a = internal::Sha256("x");
  internal::Sha256Digest first = a, last = a;
  first[0] ^= 1;
  last[31] ^= 0x80;
  EXPECT_TRUE(internal::ConstantTimeEquals(a, a));
  EXPECT_FALSE(internal::ConstantTimeEquals(a, first));
  EXPECT_FALSE(internal::ConstantTimeEquals(a, last));
  EXPECT_FALSE(internal::ConstantTimeEquals(a, std::span<const uint8_t>(a).first(31)));
}

TEST(ApiKeyStoreTest, BuildsFromPolicyRecords) {
  Result<GeneratedApiKey> key = GenerateApiKey();
  ASSERT_TRUE(key.ok());
  std::string yaml = "roles: {consumer: [{resources: ['topic:*'], actions: [consume]}]}\n"
                     "principals: {svc-billing: [consumer]}\n"
                     "api_keys: [{id: k1, principal: svc-billing, hash: '" +
                     key->stored_hash + "'}]";
  Result<Policy> policy = Policy::FromYaml(yaml);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  ApiKeyStore store(policy->api_keys());
  Result<std::string> who = store.Authenticate(key->key);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, "svc-billing");
}

TEST(EncodingTest, HexAndBase64Url) {
  const uint8_t bytes[] = {0x00, 0xff, 0x10, 0xab};
  EXPECT_EQ(internal::HexEncode(bytes), "00ff10ab");
  EXPECT_EQ(*internal::HexDecode("00FF10ab"), std::string("\x00\xff\x10\xab", 4));
  EXPECT_FALSE(internal::HexDecode("0").has_value());
  EXPECT_FALSE(internal::HexDecode("zz").has_value());
  const uint8_t foob[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(internal::Base64UrlEncode(std::span(foob, 1)), "Zg");
  EXPECT_EQ(internal::Base64UrlEncode(std::span(foob, 2)), "Zm8");
  EXPECT_EQ(internal::Base64UrlEncode(std::span(foob, 6)), "Zm9vYmFy");
  const uint8_t high[] = {0xfb, 0xff};
  EXPECT_EQ(internal::Base64UrlEncode(high), "-_8");
}

}  // namespace
}  // namespace sluice::auth_rbac
