#include "storage/topic_config.h"

#include <gtest/gtest.h>

namespace sluice::storage {
namespace {

TEST(TopicConfigTest, AcceptsKafkaAndSluiceSpellings) {
  TopicConfig c;
  ASSERT_TRUE(
      c.Apply({{"retention.ms", "5000"}, {"cleanup_policy", "compact"}, {"partitions", "3"}}).ok());
  EXPECT_EQ(c.retention_ms, 5000);
  EXPECT_EQ(c.cleanup_policy, CleanupPolicy::kCompact);
  EXPECT_EQ(c.partitions, 3);
}

TEST(TopicConfigTest, RejectsBadValuesAndChangesNothing) {
  TopicConfig c;
  Status st = c.Apply({{"retention_ms", "10"}, {"durability", "sometimes"}});
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("durability"), std::string::npos);
  EXPECT_EQ(c, TopicConfig{});
  EXPECT_NE(c.Apply({{"bogus", "1"}}).message().find("unknown topic config key 'bogus'"),
            std::string::npos);
  EXPECT_NE(c.Apply({{"segment_bytes", "12abc"}}).message().find("not an integer"),
            std::string::npos);
  EXPECT_FALSE(c.Apply({{"partitions", "0"}}).ok());
}

TEST(TopicConfigTest, ToMapRoundTrips) {
  TopicConfig c;
  ASSERT_TRUE(c.Apply({{"durability", "interval"}, {"flush_interval_ms", "7"}}).ok());
  TopicConfig d;
  ASSERT_TRUE(d.Apply(c.ToMap()).ok());
  EXPECT_EQ(c, d);
}

}  // namespace
}  // namespace sluice::storage
