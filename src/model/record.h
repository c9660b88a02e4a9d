// Records as producers hand them in and as readers see them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/ids.h"

namespace sluice::model {

struct Header {
  std::string key;
  std::optional<std::string> value;  // nullopt = null header value
  bool operator==(const Header&) const = default;
};

// One event to append. A missing value is a tombstone (compacted topics delete the key).
struct ProduceRecord {
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
