#include "stream/lookup_cache.h"

#include <gtest/gtest.h>

namespace sluice::stream {
namespace {

TEST(LookupCacheTest, EntriesExpireAfterTheirTtl) {
  LookupCache c(10, 100);
  c.Put("a", true, "row", 1000);
  ASSERT_NE(c.Get("a", 1099), nullptr);
  EXPECT_EQ(c.Get("a", 1099)->bytes, "row");
  EXPECT_EQ(c.Get("a", 1100), nullptr);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.expirations(), 1u);
  EXPECT_EQ(c.bytes(), 0u);
}

TEST(LookupCacheTest, NegativeResultsAreCachedToo) {
  LookupCache c(10, 100);
  c.Put("missing", false, "", 0);
  const auto* e = c.Get("missing", 50);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->found);
}

TEST(LookupCacheTest, TheLeastRecentlyUsedEntryIsEvictedWhenFull) {
  LookupCache c(2, 1000);
  c.Put("a", true, "1", 0);
  c.Put("b", true, "2", 0);
  ASSERT_NE(c.Get("a", 1), nullptr);  // b is now the least recently used
  c.Put("c", true, "3", 2);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.evictions(), 1u);
  EXPECT_EQ(c.Get("b", 3), nullptr);
  EXPECT_NE(c.Get("a", 3), nullptr);
  EXPECT_NE(c.Get("c", 3), nullptr);
}

TEST(LookupCacheTest, PutReplacesAnEntryAndRestartsItsTtl) {
  LookupCache c(2, 100);
  c.Put("a", true, "old", 0);
  c.Put("a", true, "new", 50);
  EXPECT_EQ(c.size(), 1u);
  ASSERT_NE(c.Get("a", 120), nullptr);
  EXPECT_EQ(c.Get("a", 120)->bytes, "new");
}

TEST(LookupCacheTest, ZeroCapacityOrTtlCachesNothing) {
  LookupCache none(0, 100);
  none.Put("a", true, "x", 0);
  EXPECT_EQ(none.Get("a", 1), nullptr);
  LookupCache no_ttl(10, 0);
  no_ttl.Put("a", true, "x", 0);
  EXPECT_EQ(no_ttl.Get("a", 0), nullptr);
}

}  // namespace
}  // namespace sluice::stream
