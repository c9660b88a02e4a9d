// Checkpoint encoding: a format version, then varints and length-prefixed bytes (state_codec.h).
#include "stream/checkpoint.h"

#include <fmt/format.h>

#include "base/crc32c.h"
#include "model/record_batch.h"
#include "stream/state_codec.h"

namespace sluice::stream {

namespace {
// 2: each output is one encoded batch; 1 (still read): each output was a list of records.
constexpr uint64_t kFormatVersion = 2;
// A head starts with a zero byte; an encoded checkpoint starts with its format version (1).
constexpr std::string_view kHeadMagic("\0sluice-checkpoint-parts", 24);
}

std::string CheckpointPartKey(std::string_view key, int64_t id, uint32_t part) {
  // Two slots by the id's parity: writing checkpoint N+1 never overwrites a part of N, which
  // stays the checkpoint until N+1's head is written.
  return fmt::format("{}#{}.{}", key, id & 1, part);
}

std::vector<model::ProduceRecord> CheckpointRecords(std::string_view key, int64_t id,
                                                    std::string bytes, size_t part_bytes) {
  std::vector<model::ProduceRecord> out;
  if (part_bytes == 0 || bytes.size() <= part_bytes) {
    out.emplace_back(std::string(key), std::move(bytes));
    return out;
  }
  CheckpointHead head;
  head.id = id;
  head.size = bytes.size();
  head.crc = crc32c::Value(bytes);
  for (size_t at = 0; at < bytes.size(); at += part_bytes) {
    out.emplace_back(CheckpointPartKey(key, id, head.parts++),
                     bytes.substr(at, std::min(part_bytes, bytes.size() - at)));
  }
  std::string value(kHeadMagic);
  StateWriter w(value);
  w.I64(head.id);
  w.U64(head.parts);
  w.U64(head.size);
  w.U64(head.crc);
  out.emplace_back(std::string(key), std::move(value));
  return out;
}

bool IsCheckpointHead(std::string_view value) { return value.starts_with(kHeadMagic); }

Result<CheckpointHead> DecodeCheckpointHead(std::string_view value) {
  if (!IsCheckpointHead(value)) return DataLoss("not a checkpoint head");
  StateReader r(value.substr(kHeadMagic.size()));
  CheckpointHead h;
  h.id = r.I64();
  uint64_t parts = r.U64();
  h.size = r.U64();
  uint64_t crc = r.U64();
  SLUICE_RETURN_IF_ERROR(r.status("checkpoint head"));
  if (!r.done() || parts == 0 || parts > (1u << 20) || crc > 0xffffffffu) {
    return DataLoss("checkpoint head is malformed");
  }
  h.parts = static_cast<uint32_t>(parts);
  h.crc = static_cast<uint32_t>(crc);
  return h;
}

Status VerifyCheckpointParts(const CheckpointHead& head, std::string_view bytes) {
  if (bytes.size() != head.size) {
    return DataLoss("checkpoint {}: parts hold {} bytes, the head says {}", head.id, bytes.size(), head.size);
  }
  if (crc32c::Value(bytes) != head.crc) return DataLoss("checkpoint {}: CRC of its parts does not match", head.id);
  return Status::Ok();
}

std::string CheckpointKey(std::string_view pipeline, int32_t task) {
  return fmt::format("{}/{}", pipeline, task);
}

std::string EncodeCheckpoint(const Checkpoint& c) {
  std::string out;
  StateWriter w(out);
  w.U64(kFormatVersion);
  w.I64(c.id);
  w.I64(c.version);
  w.I64(c.created_ms);
  w.U64(c.positions.size());
  for (const auto& p : c.positions) {
    w.Bytes(p.topic);
    w.I64(p.partition);
    w.I64(p.next_offset);
    w.I64(p.max_event_time);
  }
  w.Bytes(c.state);
  w.U64(c.outputs.size());
  for (const auto& o : c.outputs) {
    w.Bytes(o.topic);
    w.I64(o.partition);
    w.I64(o.scan_from);
    w.U64(o.create_if_missing ? 1 : 0);
    w.Bytes(o.marker);
    w.Bytes(o.batch);
  }
  return out;
}

Result<Checkpoint> DecodeCheckpoint(std::string_view bytes) {
  StateReader r(bytes);
  uint64_t version = r.U64();
  if (r.ok() && version != kFormatVersion && version != 1) {
    return DataLoss("checkpoint format {} is not supported (expected {})", version, kFormatVersion);
  }
  Checkpoint c;
  c.id = r.I64();
  c.version = r.I64();
  c.created_ms = r.I64();
  uint64_t n = r.Count(4);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    CheckpointPosition p;
    p.topic = std::string(r.Bytes());
    p.partition = static_cast<int32_t>(r.I64());
    p.next_offset = r.I64();
    p.max_event_time = r.I64();
    c.positions.push_back(std::move(p));
  }
  c.state = std::string(r.Bytes());
  uint64_t outputs = r.Count(5);
  for (uint64_t i = 0; i < outputs && r.ok(); ++i) {
    CheckpointOutput o;
    o.topic = std::string(r.Bytes());
    o.partition = static_cast<int32_t>(r.I64());
    o.scan_from = r.I64();
    o.create_if_missing = r.U64() != 0;
    if (version >= 2) {
      o.marker = std::string(r.Bytes());
      o.batch = std::string(r.Bytes());
      if (r.ok() && (o.batch.size() < model::batch_layout::kHeaderSize ||
                     model::BatchTotalSize(o.batch.data()) != static_cast<int64_t>(o.batch.size()))) {
        return DataLoss("checkpoint: output {} is not one record batch", i);
      }
    } else {
      // Format 1: the records, the first with the marker as its last header. Built into the
      // batch they would have been appended as.
      model::RecordBatchBuilder builder(0);
      uint64_t records = r.Count(3);
      for (uint64_t j = 0; j < records && r.ok(); ++j) {
        model::ProduceRecord rec;
        uint64_t flags = r.U64();
        if (flags & 1) rec.key = std::string(r.Bytes());
        if (flags & 2) rec.value = std::string(r.Bytes());
        rec.timestamp = r.I64();
        uint64_t headers = r.Count(2);
        for (uint64_t h = 0; h < headers && r.ok(); ++h) {
          std::string key(r.Bytes());
          std::optional<std::string> value;
          if (r.U64() != 0) value = std::string(r.Bytes());
          rec.headers.emplace_back(std::move(key), std::move(value));
        }
        if (j == 0 && !rec.headers.empty() && rec.headers.back().key == kCheckpointHeader &&
            rec.headers.back().value) {
          o.marker = *rec.headers.back().value;
        }
        builder.Add(rec);
      }
      if (r.ok() && builder.count() == 0) return DataLoss("checkpoint: output {} is empty", i);
      if (r.ok()) o.batch = builder.Finish();
    }
    c.outputs.push_back(std::move(o));
  }
  SLUICE_RETURN_IF_ERROR(r.status("checkpoint"));
  if (!r.done()) return DataLoss("checkpoint: unexpected bytes after the end");
  return c;
}

}  // namespace sluice::stream
