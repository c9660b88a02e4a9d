// A compact binary form of model::Value for keys and state: used as hash-map keys (equal values
// of the same type encode to equal bytes), in window and dedup state, and in checkpoints.
// Layout: docs/formats/value-encoding.md.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::stream {

// Appends v's encoding. Integral doubles encode as ints, so 1 and 1.0 are the same key.
void EncodeValue(const model::Value& v, std::string& out);
// Decodes one value from the front of `in` (advancing it) into `arena`.
// Errors: kDataLoss on truncated or malformed bytes (never reads past `in`).
Result<model::Value> DecodeValue(std::string_view& in, model::Arena& arena);

}  // namespace sluice::stream
