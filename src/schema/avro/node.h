// The Avro schema model: one Node per schema occurrence, owned by an AvroSchema's arena.
// Named types (record, enum, fixed) appear once and are referred to by pointer, so recursive
// schemas are cycles of pointers. See avro.h for how nodes are produced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/json_value.h"

namespace sluice::schema::avro {

enum class Type : uint8_t {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kRecord,
  kEnum,
  kArray,
  kMap,
  kUnion,
  kFixed,
};

// "null", "boolean", ..., "record", "enum", "array", "map", "union", "fixed".
std::string_view TypeName(Type type);
bool IsNamed(Type type);
bool IsPrimitive(Type type);

// A logical type the parser recognised as valid for its underlying type; invalid ones are
// ignored (kNone) as the specification requires, while the "logicalType" property is kept.
enum class LogicalType : uint8_t {
  kNone,
  kDecimal,
  kUuid,
  kDate,
  kTimeMillis,
  kTimeMicros,
  kTimestampMillis,
  kTimestampMicros,
  kLocalTimestampMillis,
  kLocalTimestampMicros,
  kDuration,
};

enum class FieldOrder : uint8_t { kAscending, kDescending, kIgnore };

// Custom properties in document order (a repeated key keeps its first position, last value,
// as Jackson does).
using Props = std::vector<std::pair<std::string, codec::JsonValue>>;

struct Node;

struct Field {
  std::string name;
  const Node* type = nullptr;
  std::optional<std::string> doc;
  std::optional<codec::JsonValue> default_value;
  FieldOrder order = FieldOrder::kAscending;
  std::vector<std::string> aliases;
  Props props;
};

struct Node {
  Type type = Type::kNull;
  // Named types only.
  std::string name;       // short name
  std::string space;      // namespace, empty when none
  std::string full_name;  // space.name or name
  std::optional<std::string> doc;
  std::vector<std::string> aliases;  // full names, without duplicates
  bool is_error = false;             // a record declared with "type":"error"
  // Record.
  std::vector<Field> fields;
  // Enum.
  std::vector<std::string> symbols;
  std::optional<std::string> enum_default;
  // Fixed.
  int32_t size = 0;
  // Array items or map values.
  const Node* items = nullptr;
  // Union.
  std::vector<const Node*> branches;
  Props props;
  LogicalType logical_type = LogicalType::kNone;
  int32_t precision = 0;  // decimal only
  int32_t scale = 0;      // decimal only

  // Index of the field named `name`, or -1.
  int FieldIndex(std::string_view field_name) const;
  bool HasSymbol(std::string_view symbol) const;
};

}  // namespace sluice::schema::avro
