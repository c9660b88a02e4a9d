// Tests for building policies in code and loading them from YAML.
#include "auth/rbac/policy.h"

#include <gtest/gtest.h>

#include <string>


namespace sluice::auth_rbac {
namespace {

constexpr std::string_view kSample = R"(
roles:
  producer:
    - resources: ["topic:orders.*"]
      actions: [produce]
  consumer:
    - resources: ["topic:orders.*", "topic:*-raw"]
      actions: [consume]
    - resources: ["group:*"]
      actions: [consume]
  admin:
    - resources: ["*"]
      actions: [produce, consume, admin, schema-read, schema-write]
principals:
  alice: [producer]
  svc-billing: [consumer]
  root: [admin]
api_keys:
  - id: k1
    principal: svc-billing
    hash: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
)";

void ExpectError(std::string_view yaml, std::string_view fragment) {
  Result<Policy> p = Policy::FromYaml(yaml);
  ASSERT_FALSE(p.ok()) << "expected an error containing: " << fragment;
  EXPECT_EQ(p.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(fragment), std::string::npos)
      << "message: " << p.status().message() << "\nexpected: " << fragment;
}

TEST(PolicyTest, LoadsSampleYaml) {
  Result<Policy> p = Policy::FromYaml(kSample);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->role_count(), 3u);
  ASSERT_EQ(p->RolesOf("alice").size(), 1u);
  EXPECT_EQ(p->RolesOf("alice")[0], "producer");
  EXPECT_TRUE(p->RolesOf("nobody").empty());
  ASSERT_EQ(p->api_keys().size(), 1u);
  EXPECT_EQ(p->api_keys()[0].principal, "svc-billing");
}

TEST(PolicyTest, EvaluatesRulesByActionAndResource) {
  Result<Policy> p = Policy::FromYaml(kSample);
  ASSERT_TRUE(p.ok());
  std::vector<std::string> consumer{"consumer"};
  EXPECT_TRUE(p->AnyRoleAllows(consumer, Action::kConsume, "topic:clicks-raw"));
  EXPECT_TRUE(p->AnyRoleAllows(consumer, Action::kConsume, "group:billing"));
  EXPECT_FALSE(p->AnyRoleAllows(consumer, Action::kProduce, "topic:orders.eu"));
  std::vector<std::string> unknown{"ghost"};
  EXPECT_FALSE(p->AnyRoleAllows(unknown, Action::kConsume, "topic:orders.eu"));
}

TEST(PolicyTest, EmptyDocumentDeniesEverything) {
  Result<Policy> p = Policy::FromYaml("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role_count(), 0u);
}

TEST(PolicyTest, AcceptsUnderscoreActionNames) {
  Result<Policy> p = Policy::FromYaml(
      "roles: {r: [{resources: ['subject:*'], actions: [schema_read, schema_write]}]}");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<std::string> r{"r"};
  EXPECT_TRUE(p->AnyRoleAllows(r, Action::kSchemaWrite, "subject:x-value"));
}

TEST(PolicyTest, BadPatternErrorNamesPathRoleAndRule) {
  ExpectError("roles: {producer: [{resources: ['topic:a'], actions: [produce]},"
              " {resources: ['topic:b', 'topc:orders'], actions: [produce]}]}",
              "roles.producer[1].resources[1]: role 'producer' rule 1: resource pattern "
              "'topc:orders' has unknown kind 'topc'");
  ExpectError("roles: {p: [{resources: ['topic:'], actions: [produce]}]}",
              "roles.p[0].resources[0]: role 'p' rule 0: resource pattern 'topic:' has an empty "
              "name");
}

TEST(PolicyTest, YamlErrorsNameTheKeyPath) {
  ExpectError("roles: {p: [{resources: ['topic:a'], actions: [publish]}]}",
              "roles.p[0].actions[0]: unknown action 'publish'");
  ExpectError("roles: {p: [{resources: ['topic:a']}]}", "roles.p[0].actions: missing");
  ExpectError("roles: {p: [{resources: 'topic:a', actions: [produce]}]}",
              "roles.p[0].resources: expected a list of strings");
  ExpectError("roles: {p: [{resources: ['topic:a'], actions: [produce], extra: 1}]}",
              "roles.p[0].extra: unknown key");
  ExpectError("roles: {p: []}", "roles.p: expected a non-empty list of rules");
  ExpectError("rolez: {}", "rolez: unknown key");
  ExpectError("roles: {p: [{resources: ['topic:a'], actions: [produce]}]}\n"
              "principals: {alice: [p, q]}",
              "principals.alice[1]: unknown role 'q'");
  ExpectError("roles: {p: [{resources: ['topic:a'], actions: [produce]}]}\n"
              "principals: {alice: [p]}\n"
              "api_keys: [{id: k1, principal: bob, hash: 'sha256:00'}]",
              "api_keys[0]: API key 'k1' names unknown principal 'bob'");
  ExpectError("roles: {p: [{resources: ['topic:a'], actions: [produce]}]}\n"
              "principals: {alice: [p]}\n"
              "api_keys: [{id: k1, principal: alice, hash: 'md5:00'}]",
              "api_keys[0]: API key 'k1': hash must be 'sha256:'");
  ExpectError("api_keys: [{principal: alice}]", "api_keys[0].id: missing");
  ExpectError("roles: [unclosed", "policy YAML:");
}

TEST(PolicyTest, DuplicateApiKeyIdIsRejected) {
  std::string hash = "sha256:" + std::string(64, 'a');
  std::string yaml = "roles: {p: [{resources: ['topic:a'], actions: [produce]}]}\n"
                     "principals: {alice: [p]}\n"
                     "api_keys: [{id: k1, principal: alice, hash: '" + hash + "'},"
                     " {id: k1, principal: alice, hash: '" + hash + "'}]";
  ExpectError(yaml, "api_keys[1]: duplicate API key id 'k1'");
}

TEST(PolicyTest, BuildingInCodeValidatesRules) {
  Policy policy;
  Status st = policy.AddRule("writer", RuleSpec{{"topic:ok", "bogus"}, {Action::kProduce}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("role 'writer' rule 0"), std::string::npos) << st.message();
  EXPECT_FALSE(policy.HasRole("writer"));  // a failed rule leaves no half-built role
  EXPECT_FALSE(policy.AddRule("writer", RuleSpec{{"topic:ok"}, {}}).ok());
  ASSERT_TRUE(policy.AddRule("writer", RuleSpec{{"topic:ok"}, {Action::kProduce}}).ok());
  std::vector<std::string> roles{"writer", "missing"};
  EXPECT_FALSE(policy.AssignRoles("alice", roles).ok());
}

}  // namespace
}  // namespace sluice::auth_rbac
