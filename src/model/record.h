// Records as producers hand them in and as readers see them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/ids.h"

namespace sluice::model {

// Header and ProduceRecord have constructors (not aggregates): see TopicPartition in ids.h.
struct Header {
  Header() = default;
  Header(std::string k, std::optional<std::string> v) : key(std::move(k)), value(std::move(v)) {}
  std::string key;
  std::optional<std::string> value;  // nullopt = null header value
  bool operator==(const Header&) const = default;
};

// One event to append. A missing value is a tombstone (compacted topics delete the key).
struct ProduceRecord {
  ProduceRecord() = default;
  ProduceRecord(std::optional<std::string> k, std::optional<std::string> v,
                std::vector<Header> h = {}, TimestampMs ts = kNoTimestamp)
      : key(std::move(k)), value(std::move(v)), headers(std::move(h)), timestamp(ts) {}
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  TimestampMs timestamp = kNoTimestamp;  // kNoTimestamp: the broker's time at append
};

struct HeaderView {
  std::string_view key;
  std::optional<std::string_view> value;
};

// A record decoded from a batch; views point into the batch's bytes.
struct RecordView {
  Offset offset;
  TimestampMs timestamp = kNoTimestamp;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<HeaderView> headers;
};

}  // namespace sluice::model
