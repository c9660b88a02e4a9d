// The typed model of a JSON Schema that the compatibility diff runs on. It follows the node
// classification of the everit library Confluent uses (reference notes §4): a schema object
// becomes one node per keyword kind it uses, several kinds are joined by a synthetic allOf.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace sluice::schema::json::internal {

enum class Draft { k4, k6, k7, k2019, k2020 };

enum class Kind {
  kEmpty,  // {} or a schema with annotations only
  kTrue,   // the boolean schema true (a kind of kEmpty for the diff)
  kFalse,
  kObject,
  kArray,
  kString,
  kNumber,  // number and integer (requires_integer)
  kBoolean,
  kNull,
  kCombined,  // allOf / anyOf / oneOf, explicit or synthetic
  kNot,
  kEnum,
  kConst,
  kReference,    // $ref (followed by the diff)
  kConditional,  // if / then / else (not compared by the diff, as in Confluent's)
};

enum class Criterion { kAllOf, kAnyOf, kOneOf };

struct Node;

struct PatternProperty {
  std::string pattern;
  std::regex regex;
  Node* schema = nullptr;
};

// One schema node. Nodes are owned by SchemaSet's arena and point at each other with raw
// pointers; references may form cycles.
struct Node {
  Kind kind = Kind::kEmpty;
  std::string location;  // "#/properties/a" in its document (prefixed by the reference name)
  // Annotations: changing them is always compatible.
  std::optional<std::string> id, title, description, default_value;  // default: JSON text

  // kString
  bool requires_string = false;
  std::optional<int64_t> min_length, max_length;
  std::optional<std::string> pattern, format;

  // kNumber
  bool requires_number = false;
  bool requires_integer = false;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;

  // kObject
  bool requires_object = false;
  std::vector<std::pair<std::string, Node*>> properties;
  std::vector<std::string> required;
  std::vector<PatternProperty> pattern_properties;
  bool permits_additional_properties = true;
  Node* additional_properties = nullptr;  // schema form of additionalProperties
  Node* unevaluated_properties = nullptr;
  std::optional<int64_t> min_properties, max_properties;
  std::vector<std::pair<std::string, std::vector<std::string>>> property_dependencies;
  std::vector<std::pair<std::string, Node*>> schema_dependencies;
  Node* property_names = nullptr;

  // kArray
  bool requires_array = false;
  Node* all_items = nullptr;        // items as one schema
  std::vector<Node*> item_schemas;  // tuple form (items array / prefixItems)
  bool permits_additional_items = true;
  Node* additional_items = nullptr;
  Node* unevaluated_items = nullptr;
  Node* contains = nullptr;
  std::optional<int64_t> min_items, max_items, min_contains, max_contains;
  bool unique_items = false;

  // kCombined
  Criterion criterion = Criterion::kAllOf;
  std::vector<Node*> subschemas;
  bool synthetic = false;

  // kNot
  Node* negated = nullptr;

  // kEnum (several) / kConst (one): values as normalized JSON text.
  std::vector<std::string> values;

  // kReference
  std::string ref;
  Node* target = nullptr;

  // kConditional
  Node* if_schema = nullptr;
  Node* then_schema = nullptr;
  Node* else_schema = nullptr;

  // Normalized JSON text of the schema object this node came from; combinator members with
  // the same identity count once (as Confluent collapses duplicates).
  std::string identity;

  bool IsEmptyLike() const { return kind == Kind::kEmpty || kind == Kind::kTrue; }
};

const char* CriterionName(Criterion c);

}  // namespace sluice::schema::json::internal
