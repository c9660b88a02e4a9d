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

namespace sluice::storage {
namespace {

TEST(TopicNameTest, NamesTheOffendingCharacterReadably) {
  EXPECT_TRUE(ValidateTopicName("orders.v2_eu-1", false).ok());
  EXPECT_NE(ValidateTopicName("a b", false).message().find("has character ' '"),
            std::string::npos);
  // Non-ASCII and control bytes are named in hex, never echoed as half a UTF-8 sequence.
  Status utf8 = ValidateTopicName("caf\xC3\xA9", false);
  EXPECT_EQ(utf8.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(utf8.message().find("has byte 0xC3 at position 3 (names are ASCII)"),
            std::string::npos)
      << utf8.message();
  EXPECT_NE(ValidateTopicName("a\tb", false).message().find("byte 0x09 at position 1"),
            std::string::npos);
  EXPECT_FALSE(ValidateTopicName("_internal", false).ok());
  EXPECT_TRUE(ValidateTopicName("_internal", true).ok());
  EXPECT_FALSE(ValidateTopicName("..", true).ok());
  EXPECT_FALSE(ValidateTopicName(std::string(250, 'a'), false).ok());
}

}  // namespace
}  // namespace sluice::storage
