#include "base/varint.h"

#include <gtest/gtest.h>

#include <limits>

namespace sluice {
namespace {

TEST(VarintTest, SignedRoundTripsExtremes) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    std::string s;
    varint::AppendSigned(s, v);
    EXPECT_EQ(s.size(), varint::SignedSize(v));
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    int64_t out = 0;
    ASSERT_TRUE(varint::DecodeSigned(p, p + s.size(), &out));
    EXPECT_EQ(out, v);
  }
}

TEST(VarintTest, ZigZagMatchesKafkaExamples) {
  // Kafka: -1 encodes as 0x01, 1 as 0x02, -2 as 0x03.
  std::string s;
  varint::AppendSigned(s, -1);
  varint::AppendSigned(s, 1);
  varint::AppendSigned(s, -2);
  EXPECT_EQ(s, std::string("\x01\x02\x03"));
}

TEST(VarintTest, TruncatedInputFailsWithoutOverread) {
  std::string s;
  varint::AppendUnsigned(s, 1u << 20);
  for (size_t n = 0; n < s.size(); ++n) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    uint64_t out;
    EXPECT_FALSE(varint::DecodeUnsigned(p, p + n, &out)) << n;
  }
}

}  // namespace
}  // namespace sluice
