// JsonParser: strict JSON input parsing (RFC 8259) on simdjson, with errors that say where
// (byte, line, column) and what was expected. Invalid UTF-8 is rejected.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/json_value.h"

namespace sluice::codec {

class JsonParserImpl;

// Reusable: keeps its simdjson buffers between calls (up to kRetainBytes of input; buffers for
// larger documents are released after the call), so a long-lived parser per thread avoids the
// large allocations a fresh simdjson parser makes. Not thread-safe: one per thread/request.
class JsonParser {
 public:
  static constexpr int kMaxDepth = 64;
  static constexpr size_t kRetainBytes = 1 << 20;
  JsonParser();
  ~JsonParser();
  JsonParser(const JsonParser&) = delete;
  JsonParser& operator=(const JsonParser&) = delete;

  // Parses exactly one JSON value (surrounding whitespace allowed).
  // Errors: kInvalidArgument "invalid JSON at byte N (line L, column C): <what was expected>",
  // "invalid UTF-8 at byte N", "JSON nested deeper than 64 levels".
  Result<JsonValue> Parse(std::string_view text);

  // True when text is exactly one valid JSON value; cheaper than Parse (no tree is built).
  bool IsValid(std::string_view text);

  // Validates one JSON value and returns it without insignificant whitespace (string escapes
  // and number text kept as written). Faster than Parse: no tree is built and simdjson picks
  // the best SIMD kernel at run time. Errors: as Parse (the same positioned messages).
  struct Minified {
    std::string text;
    bool is_array = false;  // the value is a JSON array
  };
  Result<Minified> Minify(std::string_view text);

  // Splits a JSON array that Minify returned (is_array) into its elements' texts, which are
  // views into `minified`. Enforces Parse's nesting limit (the array counts as one level).
  // REQUIRES: minified is Minify's output for an array (valid, no insignificant whitespace).
  // Errors: kInvalidArgument "JSON nested deeper than 64 levels".
  static Status SplitMinifiedArray(std::string_view minified, std::vector<std::string_view>& items);

 private:
  std::unique_ptr<JsonParserImpl> impl_;
};

// Checks the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s);

}  // namespace sluice::codec
