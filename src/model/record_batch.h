// RecordBatch: Kafka's RecordBatch v2 (magic 2), the unit Sluice appends, stores and reads.
// The bytes on disk are exactly these bytes. Layout: docs/formats/record-batch.md.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/endian.h"
#include "base/status.h"
#include "model/record.h"

namespace sluice::model {

// Byte offsets of the header fields (all big-endian).
namespace batch_layout {
constexpr size_t kBaseOffset = 0;
constexpr size_t kBatchLength = 8;
constexpr size_t kLeaderEpoch = 12;
constexpr size_t kMagic = 16;
constexpr size_t kCrc = 17;
constexpr size_t kAttributes = 21;
constexpr size_t kLastOffsetDelta = 23;
constexpr size_t kBaseTimestamp = 27;
constexpr size_t kMaxTimestamp = 35;
constexpr size_t kProducerId = 43;
constexpr size_t kProducerEpoch = 51;
constexpr size_t kBaseSequence = 53;
constexpr size_t kRecordCount = 57;
constexpr size_t kHeaderSize = 61;
// BaseOffset + BatchLength: the part before the length-counted bytes.
constexpr size_t kLogOverhead = 12;
constexpr size_t kCrcStart = kAttributes;
}  // namespace batch_layout

constexpr int8_t kMagicV2 = 2;
constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kTimestampTypeLogAppend = 0x08;
constexpr int16_t kTransactionalFlag = 0x10;
constexpr int16_t kControlFlag = 0x20;

// Read-only view of one encoded batch. Does not own the bytes.
class RecordBatchView {
 public:
  RecordBatchView() = default;
  explicit RecordBatchView(std::string_view bytes) : b_(bytes) {}

  std::string_view bytes() const { return b_; }
  size_t size() const { return b_.size(); }
  Offset base_offset() const { return Offset(Get<int64_t>(batch_layout::kBaseOffset)); }
  int32_t batch_length() const { return Get<int32_t>(batch_layout::kBatchLength); }
  int8_t magic() const { return static_cast<int8_t>(b_[batch_layout::kMagic]); }
  uint32_t crc() const { return Get<uint32_t>(batch_layout::kCrc); }
  int16_t attributes() const { return Get<int16_t>(batch_layout::kAttributes); }
  int32_t last_offset_delta() const { return Get<int32_t>(batch_layout::kLastOffsetDelta); }
  Offset last_offset() const { return base_offset() + last_offset_delta(); }
  TimestampMs base_timestamp() const { return Get<int64_t>(batch_layout::kBaseTimestamp); }
  TimestampMs max_timestamp() const { return Get<int64_t>(batch_layout::kMaxTimestamp); }
  int64_t producer_id() const { return Get<int64_t>(batch_layout::kProducerId); }
  int16_t producer_epoch() const { return Get<int16_t>(batch_layout::kProducerEpoch); }
  int32_t base_sequence() const { return Get<int32_t>(batch_layout::kBaseSequence); }
  int32_t record_count() const { return Get<int32_t>(batch_layout::kRecordCount); }
  int compression() const { return attributes() & kCompressionMask; }

  // Checks framing (length, magic) and the CRC-32C. Does not parse records.
  Status VerifyHeaderAndCrc() const;
  // Full validation: header, CRC, and every record parses with offset deltas in range.
  Status Validate() const;

  // Decodes each record in order. Returns an error on malformed records (stops there).
  // Only uncompressed batches are decoded (compression arrives with the Kafka protocol).
  Status ForEachRecord(const std::function<void(const RecordView&)>& fn) const;

 private:
  template <typename T>
  T Get(size_t pos) const {
    return be::Load<T>(b_.data() + pos);
  }
  std::string_view b_;
};

// Reads the total size (header + records) of the batch starting at p from its first 12 bytes.
// REQUIRES: at least batch_layout::kLogOverhead bytes at p.
inline int64_t BatchTotalSize(const char* p) {
  return batch_layout::kLogOverhead + static_cast<int64_t>(be::Load<int32_t>(p + 8));
}

// Builds one uncompressed RecordBatch v2. Base offset is 0 until the log stamps it with
// SetBaseOffset (base offset and leader epoch are outside the CRC, so stamping is cheap).
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(TimestampMs now_ms, size_t reserve_bytes = 0);

  // Appends a record. A record timestamp of kNoTimestamp takes now_ms.
  void Add(const ProduceRecord& r);
  void Add(std::optional<std::string_view> key, std::optional<std::string_view> value,
           std::span<const Header> headers, TimestampMs ts);
  // The same with borrowed headers (no copy of them is made).
  void AddViews(std::optional<std::string_view> key, std::optional<std::string_view> value,
                std::span<const HeaderView> headers, TimestampMs ts) {
    AddRecord(count_, ts == kNoTimestamp ? now_ms_ : ts, key, value, headers);
  }
  // Adds a record with an explicit offset delta (used by compaction to keep original offsets).
  void AddWithDelta(int32_t offset_delta, const RecordView& r);
  // Makes room for `bytes` of records in the next batch (its buffer starts small after Finish).
  void Reserve(size_t bytes);
  int32_t count() const { return count_; }
  size_t size_bytes() const { return buf_.size(); }

  // Finishes the header and CRC. last_offset_delta defaults to count - 1.
  std::string Finish(int32_t last_offset_delta = -1);

 private:
  void AddRecord(int32_t offset_delta, TimestampMs ts, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, std::span<const HeaderView> headers);
  std::string buf_;
  std::string rec_;
  TimestampMs now_ms_;
  TimestampMs base_ts_ = kNoTimestamp;
  TimestampMs max_ts_ = kNoTimestamp;
  int32_t count_ = 0;
};

// Stamps the base offset of an encoded batch in place.
inline void SetBaseOffset(std::string& batch, Offset base) {
  be::Store<int64_t>(batch.data() + batch_layout::kBaseOffset, base.value());
}
inline void SetBaseOffset(char* batch, Offset base) {
  be::Store<int64_t>(batch + batch_layout::kBaseOffset, base.value());
}

}  // namespace sluice::model
