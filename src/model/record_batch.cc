// RecordBatch v2 encoding, validation and record decoding.
#include "model/record_batch.h"

#include "base/crc32c.h"
#include "base/varint.h"

namespace sluice::model {
namespace bl = batch_layout;

namespace {

// Cursor over a record's bytes; every read checks bounds.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;

  int64_t Varint() {
    int64_t v = 0;
    if (!ok || !varint::DecodeSigned(p, end, &v)) ok = false;
    return v;
  }
  std::optional<std::string_view> Bytes() {
    int64_t len = Varint();
    if (!ok) return std::nullopt;
    if (len < 0) {
      if (len != -1) ok = false;
      return std::nullopt;
    }
    if (len > end - p) {
      ok = false;
      return std::nullopt;
    }
    std::string_view s(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    p += len;
    return s;
  }
};

}  // namespace

Status RecordBatchView::VerifyHeaderAndCrc() const {
  if (b_.size() < bl::kHeaderSize) {
    return DataLoss("batch of {} bytes is shorter than the 61-byte header", b_.size());
  }
  if (BatchTotalSize(b_.data()) != static_cast<int64_t>(b_.size())) {
    return DataLoss("batch length field {} does not match {} bytes", batch_length(), b_.size());
  }
  if (magic() != kMagicV2) return DataLoss("unsupported batch magic {}", magic());
  uint32_t actual = crc32c::Value(b_.data() + bl::kCrcStart, b_.size() - bl::kCrcStart);
  if (actual != crc()) {
    return DataLoss("batch CRC mismatch: stored {:08x}, computed {:08x}", crc(), actual);
  }
  return Status::Ok();
}

Status RecordBatchView::Validate() const {
  SLUICE_RETURN_IF_ERROR(VerifyHeaderAndCrc());
  if (record_count() < 0) return DataLoss("negative record count {}", record_count());
  if (last_offset_delta() < 0) return DataLoss("negative last offset delta");
  if (compression() != 0) return Status::Ok();  // records are opaque until decompressed
  int32_t seen = 0;
  int32_t prev_delta = -1;
  Status inner;
  Status st = ForEachRecord([&](const RecordView& r) {
    int64_t delta = r.offset - base_offset();
    if (delta <= prev_delta || delta > last_offset_delta()) {
      if (inner.ok()) inner = DataLoss("record offset delta {} out of order or range", delta);
    }
    prev_delta = static_cast<int32_t>(delta);
    ++seen;
  });
  SLUICE_RETURN_IF_ERROR(st);
  SLUICE_RETURN_IF_ERROR(inner);
  if (seen != record_count()) {
    return DataLoss("batch declares {} records but holds {}", record_count(), seen);
  }
  return Status::Ok();
}

Status RecordBatchView::ForEachRecord(const std::function<void(const RecordView&)>& fn) const {
  if (b_.size() < bl::kHeaderSize) return DataLoss("batch too short");
  if (compression() != 0) {
    return Unimplemented("compressed batches (codec {}) are not decoded yet", compression());
  }
  const auto* p = reinterpret_cast<const uint8_t*>(b_.data()) + bl::kHeaderSize;
  const auto* end = reinterpret_cast<const uint8_t*>(b_.data()) + b_.size();
  const int32_t n = record_count();
  const Offset base = base_offset();
  const TimestampMs base_ts = base_timestamp();
  RecordView rv;
  for (int32_t i = 0; i < n; ++i) {
    Reader len_reader{p, end};
    int64_t len = len_reader.Varint();
    if (!len_reader.ok || len < 0 || len > len_reader.end - len_reader.p) {
      return DataLoss("record {} length is malformed", i);
    }
    Reader r{len_reader.p, len_reader.p + len};
    if (r.p >= r.end) return DataLoss("record {} is empty", i);
    ++r.p;  // attributes (unused)
    int64_t ts_delta = r.Varint();
    int64_t off_delta = r.Varint();
    rv.key = r.Bytes();
    rv.value = r.Bytes();
    int64_t nh = r.Varint();
    if (!r.ok || nh < 0 || nh > r.end - r.p) return DataLoss("record {} is malformed", i);
    rv.headers.clear();
    for (int64_t h = 0; h < nh; ++h) {
      auto hk = r.Bytes();
      auto hv = r.Bytes();
      if (!r.ok || !hk) return DataLoss("record {} header {} is malformed", i, h);
      rv.headers.push_back(HeaderView{*hk, hv});
    }
    if (!r.ok || r.p != r.end) return DataLoss("record {} has trailing or missing bytes", i);
    rv.offset = base + off_delta;
    rv.timestamp = base_ts + ts_delta;
    fn(rv);
    p = r.end;
  }
  if (p != end) return DataLoss("batch has {} bytes after its last record", end - p);
  return Status::Ok();
}

RecordBatchBuilder::RecordBatchBuilder(TimestampMs now_ms, size_t reserve_bytes)
    : now_ms_(now_ms) {
  buf_.reserve(bl::kHeaderSize + reserve_bytes);
  buf_.resize(bl::kHeaderSize);
}

void RecordBatchBuilder::Reserve(size_t bytes) { buf_.reserve(bl::kHeaderSize + bytes); }

void RecordBatchBuilder::Add(const ProduceRecord& r) {
  std::optional<std::string_view> k, v;
  if (r.key) k = *r.key;
  if (r.value) v = *r.value;
  Add(k, v, r.headers, r.timestamp);
}

void RecordBatchBuilder::Add(std::optional<std::string_view> key,
                             std::optional<std::string_view> value,
                             std::span<const Header> headers, TimestampMs ts) {
  HeaderView hv_small[4];
  std::vector<HeaderView> hv_big;
  std::span<const HeaderView> hv;
  if (headers.size() <= 4) {
    for (size_t i = 0; i < headers.size(); ++i) {
      hv_small[i].key = headers[i].key;
      hv_small[i].value = headers[i].value ? std::optional<std::string_view>(*headers[i].value)
                                           : std::nullopt;
    }
    hv = std::span<const HeaderView>(hv_small, headers.size());
  } else {
    for (const auto& h : headers) {
      hv_big.push_back(HeaderView{h.key, h.value ? std::optional<std::string_view>(*h.value)
                                                 : std::nullopt});
    }
    hv = hv_big;
  }
  AddRecord(count_, ts == kNoTimestamp ? now_ms_ : ts, key, value, hv);
}

void RecordBatchBuilder::AddWithDelta(int32_t offset_delta, const RecordView& r) {
  AddRecord(offset_delta, r.timestamp, r.key, r.value, r.headers);
}

void RecordBatchBuilder::AddRecord(int32_t offset_delta, TimestampMs ts,
                                   std::optional<std::string_view> key,
                                   std::optional<std::string_view> value,
                                   std::span<const HeaderView> headers) {
  if (count_ == 0) base_ts_ = ts;
  if (ts > max_ts_) max_ts_ = ts;
  rec_.clear();
  rec_.push_back('\0');  // attributes
  varint::AppendSigned(rec_, ts - base_ts_);
  varint::AppendSigned(rec_, offset_delta);
  auto put_bytes = [this](std::optional<std::string_view> s) {
    if (!s) {
      varint::AppendSigned(rec_, -1);
    } else {
      varint::AppendSigned(rec_, static_cast<int64_t>(s->size()));
      rec_.append(*s);
    }
  };
  put_bytes(key);
  put_bytes(value);
  varint::AppendSigned(rec_, static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    put_bytes(h.key);
    put_bytes(h.value);
  }
  varint::AppendSigned(buf_, static_cast<int64_t>(rec_.size()));
  buf_.append(rec_);
  ++count_;
}

std::string RecordBatchBuilder::Finish(int32_t last_offset_delta) {
  char* h = buf_.data();
  be::Store<int64_t>(h + bl::kBaseOffset, 0);
  be::Store<int32_t>(h + bl::kBatchLength, static_cast<int32_t>(buf_.size() - bl::kLogOverhead));
  be::Store<int32_t>(h + bl::kLeaderEpoch, 0);
  h[bl::kMagic] = kMagicV2;
  be::Store<int16_t>(h + bl::kAttributes, 0);
  be::Store<int32_t>(h + bl::kLastOffsetDelta, last_offset_delta >= 0 ? last_offset_delta
                                                                      : count_ - 1);
  be::Store<int64_t>(h + bl::kBaseTimestamp, count_ ? base_ts_ : kNoTimestamp);
  be::Store<int64_t>(h + bl::kMaxTimestamp, count_ ? max_ts_ : kNoTimestamp);
  be::Store<int64_t>(h + bl::kProducerId, -1);
  be::Store<int16_t>(h + bl::kProducerEpoch, -1);
  be::Store<int32_t>(h + bl::kBaseSequence, -1);
  be::Store<int32_t>(h + bl::kRecordCount, count_);
  uint32_t crc = crc32c::Value(h + bl::kCrcStart, buf_.size() - bl::kCrcStart);
  be::Store<uint32_t>(h + bl::kCrc, crc);
  std::string out = std::move(buf_);
  buf_.clear();
  buf_.resize(bl::kHeaderSize);
  count_ = 0;
  base_ts_ = max_ts_ = kNoTimestamp;
  return out;
}

}  // namespace sluice::model
