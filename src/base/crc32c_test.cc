#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(Crc32cTest, MatchesKnownVectors) {
  // RFC 3720 B.4 test vectors and the classic check value.
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62A8AB43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c::Value(inc), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendEqualsWholeValue) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t split : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    uint32_t a = crc32c::Extend(0, data.data(), split);
    uint32_t b = crc32c::Extend(a, data.data() + split, data.size() - split);
    EXPECT_EQ(b, crc32c::Value(data)) << split;
  }
}

}  // namespace
}  // namespace sluice
