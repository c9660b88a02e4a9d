// JsonValue: a small owned JSON tree for request bodies (topic specs, envelopes, commits).
// Numbers keep their original text, so large integers and exact decimals survive a round trip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::codec {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool b);
  static JsonValue Number(std::string text);  // REQUIRES: text is a valid JSON number
  static JsonValue String(std::string s);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<std::pair<std::string, JsonValue>> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool bool_value() const { return bool_; }
  // Number: its JSON text; string: the unescaped characters.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  std::vector<JsonValue>& mutable_items() { return items_; }
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }

  // Member lookup (first match) in an object; null when absent or not an object.
  const JsonValue* Find(std::string_view key) const;
  // The number as an int64 when it is an integer in range (no fraction or exponent).
  std::optional<int64_t> AsInt64() const;
  std::optional<double> AsDouble() const;

  // Compact JSON text (no insignificant whitespace).
  std::string ToJson() const;
  void AppendJson(std::string& out) const;

  // "null", "boolean", "number", "string", "array", "object".
  static std::string_view TypeName(Type t);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

}  // namespace sluice::codec
