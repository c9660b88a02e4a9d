// Value: the typed, decoded form of one event (or part of one) that the stream processor, the
// expression language and aggregates work on. Values are 16-byte tagged unions; strings, arrays
// and objects point into an Arena owned by whoever decoded them (usually one batch), so decoding
// and evaluating an event allocates nothing on the heap per event.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "base/check.h"

namespace sluice::model {

enum class ValueType : uint8_t {
  kNull,
  kBool,
  kInt,        // int64
  kDouble,     // IEEE double
  kString,     // UTF-8 bytes (also used for JSON strings and binary keys)
  kTimestamp,  // int64 milliseconds since the Unix epoch (UTC)
  kArray,      // items
  kObject,     // members in their original order; names need not be unique (first wins)
};

std::string_view ValueTypeName(ValueType t);

struct Member;

// A borrowed value. Copying a Value copies the 16 bytes; strings, items and members stay where
// they are (an Arena, static storage, or a batch buffer). The owner must outlive every copy.
class Value {
 public:
  constexpr Value() : type_(ValueType::kNull), size_(0), i_(0) {}

  static constexpr Value Null() { return Value(); }
  static constexpr Value Bool(bool b) {
    Value v;
    v.type_ = ValueType::kBool;
    v.i_ = b ? 1 : 0;
    return v;
  }
  static constexpr Value Int(int64_t i) {
    Value v;
    v.type_ = ValueType::kInt;
    v.i_ = i;
    return v;
  }
  static Value Double(double d) {
    Value v;
    v.type_ = ValueType::kDouble;
    v.d_ = d;
    return v;
  }
  static constexpr Value Timestamp(int64_t ms) {
    Value v;
    v.type_ = ValueType::kTimestamp;
    v.i_ = ms;
    return v;
  }
  // REQUIRES: s.size() < 2^32; the bytes outlive the Value.
  static Value String(std::string_view s) {
    Value v;
    v.type_ = ValueType::kString;
    v.size_ = static_cast<uint32_t>(s.size());
    v.s_ = s.data();
    return v;
  }
  static Value Array(std::span<const Value> items) {
    Value v;
    v.type_ = ValueType::kArray;
    v.size_ = static_cast<uint32_t>(items.size());
    v.items_ = items.data();
    return v;
  }
  static Value Object(std::span<const Member> members) {
    Value v;
    v.type_ = ValueType::kObject;
    v.size_ = static_cast<uint32_t>(members.size());
    v.members_ = members.data();
    return v;
  }

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool is_bool() const { return type_ == ValueType::kBool; }
  bool is_int() const { return type_ == ValueType::kInt; }
  bool is_double() const { return type_ == ValueType::kDouble; }
  bool is_number() const { return type_ == ValueType::kInt || type_ == ValueType::kDouble; }
  bool is_string() const { return type_ == ValueType::kString; }
  bool is_timestamp() const { return type_ == ValueType::kTimestamp; }
  bool is_array() const { return type_ == ValueType::kArray; }
  bool is_object() const { return type_ == ValueType::kObject; }

  // Accessors REQUIRE the matching type (checked in debug builds).
  bool bool_value() const { return i_ != 0; }
  int64_t int_value() const { return i_; }  // kInt and kTimestamp
  double double_value() const { return d_; }
  // kInt or kDouble as a double.
  double AsDouble() const { return type_ == ValueType::kDouble ? d_ : static_cast<double>(i_); }
  std::string_view string_value() const { return {s_, size_}; }
  std::span<const Value> items() const { return {items_, size_}; }
  std::span<const Member> members() const;

  // Object member lookup by name (first match); nullptr when absent or not an object.
  // `hint` (optional, in/out) remembers the position of the last match, so looking up the same
  // name in many objects of the same shape is one comparison instead of a scan.
  const Value* Find(std::string_view name, uint32_t* hint = nullptr) const;

  // Structural equality (SQL-like: Int 1 equals Double 1.0; Null equals Null here — SQL's
  // three-valued comparison lives in the expression evaluator, not in this helper).
  bool Equals(const Value& other) const;
  // A hash consistent with Equals (numbers hash by value, so 1 and 1.0 hash alike).
  uint64_t Hash() const;

 private:
  ValueType type_;
  uint32_t size_;
  union {
    int64_t i_;
    double d_;
    const char* s_;
    const Value* items_;
    const Member* members_;
  };
};
static_assert(sizeof(Value) == 16);

struct Member {
  std::string_view name;
  Value value;
};

// Equality of member names, inlined for the short names events use: two overlapping word loads
// per side instead of a call to memcmp (this sits on every field access of the hot path).
inline bool NameEquals(std::string_view a, std::string_view b) {
  size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, x, 8);
    std::memcpy(&b0, y, 8);
    std::memcpy(&a1, x + n - 8, 8);
    std::memcpy(&b1, y + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4) {
    uint32_t a0, a1, b0, b1;
    std::memcpy(&a0, x, 4);
    std::memcpy(&b0, y, 4);
    std::memcpy(&a1, x + n - 4, 4);
    std::memcpy(&b1, y + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

inline std::span<const Member> Value::members() const { return {members_, size_}; }

}  // namespace sluice::model
