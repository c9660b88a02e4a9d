// JSON <-> model::Value: decoding events into arena-backed Values (the stream processor's input
// form) and writing Values back out as compact JSON.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::codec {

class ValueJsonDecoderImpl;

// Reusable decoder (keeps simdjson's buffers). Not thread-safe: one per task/thread.
class ValueJsonDecoder {
 public:
  static constexpr int kMaxDepth = 64;
  ValueJsonDecoder();
  ~ValueJsonDecoder();
  ValueJsonDecoder(const ValueJsonDecoder&) = delete;
  ValueJsonDecoder& operator=(const ValueJsonDecoder&) = delete;

  // Decodes one JSON document into `arena`. Integers that fit int64 become kInt, other numbers
  // kDouble (so 2^64-1 becomes a double); strings are unescaped copies in the arena.
  // Errors: kInvalidArgument "invalid JSON: <reason>" (syntax, UTF-8, depth > 64).
  Result<model::Value> Decode(std::string_view json, model::Arena& arena);

 private:
  std::unique_ptr<ValueJsonDecoderImpl> impl_;
};

// Appends `v` as compact JSON. Timestamps are written as their millisecond number; non-finite
// doubles as null. Strings that are not valid UTF-8 get U+FFFD replacements.
void AppendValueJson(std::string& out, const model::Value& v);
std::string ValueToJson(const model::Value& v);

}  // namespace sluice::codec
