// JsonParser: strict JSON input parsing (RFC 8259) on simdjson, with errors that say where
// (byte, line, column) and what was expected. Invalid UTF-8 is rejected.
#pragma once

#include <memory>
#include <string_view>

#include "base/status.h"
#include "codec/json_value.h"

namespace sluice::codec {

class JsonParserImpl;

// Reusable: keeps its simdjson buffers between calls. Not thread-safe: one per thread/request.
class JsonParser {
 public:
  static constexpr int kMaxDepth = 64;
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

 private:
  std::unique_ptr<JsonParserImpl> impl_;
};

// Checks the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s);

}  // namespace sluice::codec
