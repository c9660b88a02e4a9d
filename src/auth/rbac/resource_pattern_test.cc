// Tests for resource pattern parsing, validation and glob matching.
#include "auth/rbac/resource_pattern.h"

#include <gtest/gtest.h>

namespace sluice::auth_rbac {
namespace {

bool Match(std::string_view pattern, std::string_view resource) {
  Result<ResourcePattern> p = ResourcePattern::Parse(pattern);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() && p->Matches(resource);
}

TEST(GlobMatchTest, StarMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(GlobMatch("a*", "a"));
  EXPECT_TRUE(GlobMatch("a*", "abc"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*b", "b"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_TRUE(GlobMatch("**", "x"));
  EXPECT_FALSE(GlobMatch("a*b", "ab.c"));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_TRUE(GlobMatch("", ""));
}

TEST(GlobMatchTest, BacktracksPastEarlierCandidates) {
  EXPECT_TRUE(GlobMatch("*-raw", "a-raw-b-raw"));
  EXPECT_FALSE(GlobMatch("*-raw", "a-raw-b"));
  EXPECT_TRUE(GlobMatch("a*aab", "aaaaaab"));
}

TEST(GlobMatchTest, HostilePatternStaysFast) {
  std::string text(10000, 'a');
  EXPECT_FALSE(GlobMatch("a*a*a*a*a*a*a*a*b", text));
}

TEST(ResourcePatternTest, LiteralMatchesOnlyItself) {
  EXPECT_TRUE(Match("topic:orders", "topic:orders"));
  EXPECT_FALSE(Match("topic:orders", "topic:orders.eu"));
  EXPECT_FALSE(Match("topic:orders", "subject:orders"));
  EXPECT_FALSE(Match("topic:orders", "topic:order"));
}

TEST(ResourcePatternTest, TrailingStarIsPrefix) {
  EXPECT_TRUE(Match("topic:orders.*", "topic:orders.eu"));
  EXPECT_TRUE(Match("topic:orders.*", "topic:orders.eu.west"));
  EXPECT_TRUE(Match("topic:orders.*", "topic:orders."));
  EXPECT_FALSE(Match("topic:orders.*", "topic:orders"));
  EXPECT_FALSE(Match("topic:orders.*", "topic:ordersX"));
  EXPECT_FALSE(Match("topic:orders.*", "group:orders.eu"));
}

TEST(ResourcePatternTest, KindWildcardStaysInsideKind) {
  EXPECT_TRUE(Match("subject:*", "subject:orders-value"));
  EXPECT_FALSE(Match("subject:*", "topic:orders"));
  EXPECT_TRUE(Match("group:*", "group:g1"));
  EXPECT_TRUE(Match("rule:*", "rule:fraud"));
}

TEST(ResourcePatternTest, LeadingAndInnerStars) {
  EXPECT_TRUE(Match("topic:*-raw", "topic:clicks-raw"));
  EXPECT_FALSE(Match("topic:*-raw", "topic:clicks-raw2"));
  EXPECT_TRUE(Match("topic:a*z", "topic:az"));
  EXPECT_TRUE(Match("topic:a*.*z", "topic:ab.cz"));
}

TEST(ResourcePatternTest, StarAloneMatchesEveryKind) {
  EXPECT_TRUE(Match("*", "topic:x"));
  EXPECT_TRUE(Match("*", "subject:y"));
  EXPECT_TRUE(Match("*", "rule:z"));
}

TEST(ResourcePatternTest, RejectsUnknownKind) {
  Result<ResourcePattern> p = ResourcePattern::Parse("topc:orders");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("unknown kind 'topc'"), std::string::npos);
}

TEST(ResourcePatternTest, RejectsEmptyNameMissingKindAndKindWildcard) {
  EXPECT_NE(ResourcePattern::Parse("topic:").status().message().find("empty name"),
            std::string::npos);
  EXPECT_FALSE(ResourcePattern::Parse("orders").ok());
  EXPECT_FALSE(ResourcePattern::Parse("").ok());
  EXPECT_FALSE(ResourcePattern::Parse("*:orders").ok());
  EXPECT_FALSE(ResourcePattern::Parse(":orders").ok());
}

}  // namespace
}  // namespace sluice::auth_rbac
