// Record layout of the internal `_offsets` topic (docs/formats/offsets.md).
// Key:   u16 group length, group, u16 topic length, topic, i32 partition (big-endian).
// Value: i64 offset, then the commit metadata bytes. A null value deletes the entry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/endian.h"
#include "model/ids.h"

namespace sluice::storage::internal {

inline std::string EncodeOffsetKey(const std::string& group, const model::TopicPartition& tp) {
  std::string k(2 + group.size() + 2 + tp.topic.size() + 4, '\0');
  char* p = k.data();
  be::Store<uint16_t>(p, static_cast<uint16_t>(group.size()));
  std::memcpy(p + 2, group.data(), group.size());
  p += 2 + group.size();
  be::Store<uint16_t>(p, static_cast<uint16_t>(tp.topic.size()));
  std::memcpy(p + 2, tp.topic.data(), tp.topic.size());
  p += 2 + tp.topic.size();
  be::Store<int32_t>(p, tp.partition.value());
  return k;
}

inline std::optional<std::pair<std::string, model::TopicPartition>> DecodeOffsetKey(
    std::string_view k) {
  if (k.size() < 2) return std::nullopt;
  size_t gl = be::Load<uint16_t>(k.data());
  if (k.size() < 2 + gl + 2) return std::nullopt;
  std::string group(k.substr(2, gl));
  size_t tl = be::Load<uint16_t>(k.data() + 2 + gl);
  if (k.size() != 2 + gl + 2 + tl + 4) return std::nullopt;
  std::string topic(k.substr(4 + gl, tl));
  int32_t p = be::Load<int32_t>(k.data() + 4 + gl + tl);
  return std::make_pair(group, model::TopicPartition{topic, model::PartitionId(p)});
}

inline std::string EncodeOffsetValue(int64_t offset, const std::string& metadata) {
  std::string v(8, '\0');
  be::Store<int64_t>(v.data(), offset);
  v += metadata;
  return v;
}

inline std::optional<std::pair<int64_t, std::string>> DecodeOffsetValue(std::string_view v) {
  if (v.size() < 8) return std::nullopt;
  return std::make_pair(be::Load<int64_t>(v.data()), std::string(v.substr(8)));
}

}  // namespace sluice::storage::internal
