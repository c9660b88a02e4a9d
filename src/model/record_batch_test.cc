#include "model/record_batch.h"

#include <gtest/gtest.h>

namespace sluice::model {
namespace {

std::string MakeBatch() {
  RecordBatchBuilder b(/*now_ms=*/1000);
  b.Add(ProduceRecord{"k1", "v1", {{"h", "x"}}, 1005});
  b.Add(ProduceRecord{std::nullopt, "v2", {}, kNoTimestamp});
  b.Add(ProduceRecord{"k3", std::nullopt, {{"n", std::nullopt}}, 990});
  return b.Finish();
}

TEST(RecordBatchTest, HeaderFieldsFollowKafkaV2) {
  std::string bytes = MakeBatch();
  SetBaseOffset(bytes, Offset(42));
  RecordBatchView v(bytes);
  ASSERT_TRUE(v.Validate().ok()) << v.Validate().ToString();
  EXPECT_EQ(v.magic(), 2);
  EXPECT_EQ(v.base_offset(), Offset(42));
  EXPECT_EQ(v.record_count(), 3);
  EXPECT_EQ(v.last_offset_delta(), 2);
  EXPECT_EQ(v.last_offset(), Offset(44));
  EXPECT_EQ(v.base_timestamp(), 1005);
  EXPECT_EQ(v.max_timestamp(), 1005);
  EXPECT_EQ(v.producer_id(), -1);
  EXPECT_EQ(v.producer_epoch(), -1);
  EXPECT_EQ(v.base_sequence(), -1);
  EXPECT_EQ(BatchTotalSize(bytes.data()), static_cast<int64_t>(bytes.size()));
}

TEST(RecordBatchTest, RecordsRoundTrip) {
  std::string bytes = MakeBatch();
  SetBaseOffset(bytes, Offset(7));
  std::vector<std::string> seen;
  ASSERT_TRUE(RecordBatchView(bytes)
                  .ForEachRecord([&](const RecordView& r) {
                    seen.push_back(fmt::format(
                        "{}@{} k={} v={} h={}", r.offset.value(), r.timestamp,
                        r.key ? std::string(*r.key) : "null",
                        r.value ? std::string(*r.value) : "null",
                        r.headers.empty() ? "-"
                                          : std::string(r.headers[0].key) + "=" +
                                                (r.headers[0].value
                                                     ? std::string(*r.headers[0].value)
                                                     : "null")));
                  })
                  .ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "7@1005 k=k1 v=v1 h=h=x");
  EXPECT_EQ(seen[1], "8@1000 k=null v=v2 h=-");
  EXPECT_EQ(seen[2], "9@990 k=k3 v=null h=n=null");
}

TEST(RecordBatchTest, BaseOffsetIsOutsideTheCrc) {
  std::string bytes = MakeBatch();
  uint32_t crc_before = RecordBatchView(bytes).crc();
  SetBaseOffset(bytes, Offset(123456));
  EXPECT_EQ(RecordBatchView(bytes).crc(), crc_before);
  EXPECT_TRUE(RecordBatchView(bytes).VerifyHeaderAndCrc().ok());
}

TEST(RecordBatchTest, EveryFlippedBitAfterTheCrcFieldIsDetected) {
  const std::string good = MakeBatch();
  for (size_t byte = batch_layout::kCrcStart; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      EXPECT_FALSE(RecordBatchView(bad).Validate().ok()) << byte << ":" << bit;
    }
  }
}

TEST(RecordBatchTest, TruncatedBatchIsRejected) {
  const std::string good = MakeBatch();
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(RecordBatchView(std::string_view(good.data(), n)).Validate().ok()) << n;
  }
}

}  // namespace
}  // namespace sluice::model
