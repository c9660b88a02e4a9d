// Checkpoint encoding: a format version, then varints and length-prefixed bytes (state_codec.h).
#include "stream/checkpoint.h"

#include <fmt/format.h>

#include "stream/state_codec.h"

namespace sluice::stream {

namespace {
constexpr uint64_t kFormatVersion = 1;
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
    w.U64(o.records.size());
    for (const auto& r : o.records) {
      w.U64((r.key ? 1 : 0) | (r.value ? 2 : 0));
      if (r.key) w.Bytes(*r.key);
      if (r.value) w.Bytes(*r.value);
      w.I64(r.timestamp);
      w.U64(r.headers.size());
      for (const auto& h : r.headers) {
        w.Bytes(h.key);
        w.U64(h.value ? 1 : 0);
        if (h.value) w.Bytes(*h.value);
      }
    }
  }
  return out;
}

Result<Checkpoint> DecodeCheckpoint(std::string_view bytes) {
  StateReader r(bytes);
  uint64_t version = r.U64();
  if (r.ok() && version != kFormatVersion) {
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
      o.records.push_back(std::move(rec));
    }
    c.outputs.push_back(std::move(o));
  }
  SLUICE_RETURN_IF_ERROR(r.status("checkpoint"));
  if (!r.done()) return DataLoss("checkpoint: unexpected bytes after the end");
  return c;
}

}  // namespace sluice::stream
