// Strong ids and small value types shared by every component that touches the log.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "base/strong_id.h"

namespace sluice::model {

struct OffsetTag {};
struct PartitionIdTag {};
using Offset = StrongId<OffsetTag, int64_t>;
using PartitionId = StrongId<PartitionIdTag, int32_t>;

// Timestamps are milliseconds since the Unix epoch; -1 means "none".
using TimestampMs = int64_t;
constexpr TimestampMs kNoTimestamp = -1;

// Not an aggregate on purpose: GCC 12 destroys a braced aggregate temporary twice when it is
// written inside a co_await expression; a constructor call does not have that bug.
struct TopicPartition {
  TopicPartition() = default;
  TopicPartition(std::string t, PartitionId p) : topic(std::move(t)), partition(p) {}
  std::string topic;
  PartitionId partition;
  bool operator==(const TopicPartition&) const = default;
  auto operator<=>(const TopicPartition&) const = default;
};

}  // namespace sluice::model

template <>
struct std::hash<sluice::model::TopicPartition> {
  size_t operator()(const sluice::model::TopicPartition& tp) const noexcept {
    return std::hash<std::string>()(tp.topic) * 31 + std::hash<int32_t>()(tp.partition.value());
  }
};

template <>
struct fmt::formatter<sluice::model::TopicPartition> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const sluice::model::TopicPartition& tp, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "{}/{}", tp.topic, tp.partition.value());
  }
};
