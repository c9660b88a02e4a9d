// JsonWriter: builds compact JSON text with commas placed automatically. Strings are escaped and
// always come out as valid UTF-8 (invalid input bytes become U+FFFD), so any bytes can be written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::codec {

// Appends `s` to `out` as a quoted JSON string. Invalid UTF-8 sequences become U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);
// Quoted, escaped copy of s.
std::string QuoteJson(std::string_view s);

// Not thread-safe; one writer per document. Usage:
//   JsonWriter w; w.BeginObject(); w.Key("a"); w.Int(1); w.EndObject(); w.str() == {"a":1}
class JsonWriter {
 public:
  JsonWriter() = default;

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // Member name inside an object; the next value call writes its value.
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  // Non-finite doubles are written as null (JSON has no NaN/Infinity).
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Inserts already-serialised JSON as one value. REQUIRES: json is one valid JSON value.
  JsonWriter& Raw(std::string_view json);

  // Shorthands for one member.
  JsonWriter& Field(std::string_view key, std::string_view v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const char* v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, int64_t v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, int32_t v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, bool v) { return Key(key).Bool(v); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  // One entry per open container: true once it has at least one element.
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

}  // namespace sluice::codec
