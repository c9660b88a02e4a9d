// Tests for authorization decisions, token roles, the decision cache and hot reload.
#include "auth/rbac/authorizer.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice::auth_rbac {
namespace {

Policy Load(std::string_view yaml) {
  Result<Policy> p = Policy::FromYaml(yaml);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : Policy();
}

constexpr std::string_view kPolicy = R"(
roles:
  producer: [{resources: ["topic:orders.*"], actions: [produce]}]
  consumer: [{resources: ["topic:orders.*", "group:*"], actions: [consume]}]
  schema-reader: [{resources: ["subject:*"], actions: [schema-read]}]
  admin: [{resources: ["*"], actions: [produce, consume, admin, schema-read, schema-write]}]
principals:
  alice: [producer]
  bob: [producer, consumer]
  root: [admin]
)";

TEST(AuthorizerTest, AllowsWhatARoleGrants) {
  Authorizer auth(Load(kPolicy));
  EXPECT_TRUE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu").ok());
  EXPECT_TRUE(auth.Authorize("root", Action::kAdmin, "rule:fraud").ok());
  EXPECT_TRUE(auth.Authorize("root", Action::kSchemaWrite, "subject:orders-value").ok());
}

TEST(AuthorizerTest, DeniesByDefaultWithAClearMessage) {
  Authorizer auth(Load(kPolicy));
  Status st = auth.Authorize("alice", Action::kConsume, "topic:payments");
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "principal 'alice' may not consume topic:payments (roles: producer)");
  EXPECT_EQ(ErrorCodeToHttp(st.code()), 403);

  Status unknown = auth.Authorize("mallory", Action::kProduce, "topic:orders.eu");
  EXPECT_EQ(unknown.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(unknown.message(),
            "principal 'mallory' may not produce topic:orders.eu (roles: none)");

  Authorizer empty{Policy()};
  EXPECT_FALSE(empty.Authorize("root", Action::kAdmin, "topic:x").ok());
}

TEST(AuthorizerTest, UnionOfMultipleRoles) {
  Authorizer auth(Load(kPolicy));
  EXPECT_TRUE(auth.Authorize("bob", Action::kProduce, "topic:orders.us").ok());
  EXPECT_TRUE(auth.Authorize("bob", Action::kConsume, "group:billing").ok());
  Status st = auth.Authorize("bob", Action::kAdmin, "topic:orders.us");
  EXPECT_EQ(st.message(),
            "principal 'bob' may not admin topic:orders.us (roles: producer, consumer)");
}

TEST(AuthorizerTest, TokenRolesAddToConfiguredRoles) {
  Authorizer auth(Load(kPolicy));
  std::vector<std::string> claims{"schema-reader"};
  EXPECT_FALSE(auth.Authorize("alice", Action::kSchemaRead, "subject:orders-value").ok());
  EXPECT_TRUE(auth.Authorize("alice", Action::kSchemaRead, "subject:orders-value", claims).ok());
  // Configured roles still apply alongside token roles.
  EXPECT_TRUE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu", claims).ok());
  // A principal unknown to the config can act purely on token roles.
  EXPECT_TRUE(auth.Authorize("jwt-user", Action::kSchemaRead, "subject:x", claims).ok());
  // Unknown token roles grant nothing, and show up in the denial.
  std::vector<std::string> bogus{"superuser"};
  Status st = auth.Authorize("alice", Action::kAdmin, "topic:x", bogus);
  EXPECT_EQ(st.message(), "principal 'alice' may not admin topic:x (roles: producer, superuser)");
}

TEST(AuthorizerTest, CacheKeepsTokenRolesApart) {
  Authorizer auth(Load(kPolicy));
  std::vector<std::string> claims{"schema-reader"};
  // Same principal/action/resource, different token roles: must not share a cached decision.
  EXPECT_TRUE(auth.Authorize("alice", Action::kSchemaRead, "subject:s", claims).ok());
  EXPECT_FALSE(auth.Authorize("alice", Action::kSchemaRead, "subject:s").ok());
  EXPECT_TRUE(auth.Authorize("alice", Action::kSchemaRead, "subject:s", claims).ok());
}

TEST(AuthorizerTest, RepeatedDecisionsAreServedFromCache) {
  Authorizer auth(Load(kPolicy));
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu").ok());
    EXPECT_FALSE(auth.Authorize("alice", Action::kConsume, "topic:orders.eu").ok());
  }
  EXPECT_EQ(auth.cache_misses(), 2u);
  EXPECT_EQ(auth.cache_hits(), 18u);
  // A cached denial carries the same message as a computed one.
  EXPECT_EQ(auth.Authorize("alice", Action::kConsume, "topic:orders.eu").message(),
            "principal 'alice' may not consume topic:orders.eu (roles: producer)");
}

TEST(AuthorizerTest, CacheIsBounded) {
  Authorizer auth(Load(kPolicy), /*cache_capacity=*/32);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(auth.Authorize("alice", Action::kProduce, fmt::format("topic:orders.{}", i)).ok());
  }
  // Still correct after eviction churn.
  EXPECT_TRUE(auth.Authorize("alice", Action::kProduce, "topic:orders.1").ok());
  EXPECT_FALSE(auth.Authorize("alice", Action::kProduce, "topic:payments").ok());
}

TEST(AuthorizerTest, ReplaceInvalidatesCachedDecisions) {
  Authorizer auth(Load(kPolicy));
  ASSERT_TRUE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu").ok());
  ASSERT_FALSE(auth.Authorize("alice", Action::kConsume, "topic:orders.eu").ok());

  auth.Replace(Load(R"(
roles:
  consumer: [{resources: ["topic:orders.*"], actions: [consume]}]
principals:
  alice: [consumer]
)"));
  EXPECT_FALSE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu").ok());
  EXPECT_TRUE(auth.Authorize("alice", Action::kConsume, "topic:orders.eu").ok());
  EXPECT_EQ(auth.policy()->role_count(), 1u);
}

TEST(AuthorizerTest, ConcurrentAuthorizeAndReplaceSettleOnTheNewPolicy) {
  Authorizer auth(Load(kPolicy));
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        (void)auth.Authorize("alice", Action::kProduce, "topic:orders.eu");
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    auth.Replace(Load(i % 2 == 0 ? "roles: {}" : kPolicy));
  }
  auth.Replace(Load("roles: {}"));
  stop = true;
  for (auto& t : readers) t.join();
  // Whatever raced with the last Replace, its decision must not be served now.
  EXPECT_FALSE(auth.Authorize("alice", Action::kProduce, "topic:orders.eu").ok());
}

}  // namespace
}  // namespace sluice::auth_rbac
