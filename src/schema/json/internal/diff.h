// Confluent's JSON Schema compatibility diff (STRICT policy) over the typed model.
#pragma once

#include <string>
#include <vector>

#include "schema/json/internal/model.h"

namespace sluice::schema::json::internal {

#define SLUICE_JSON_DIFF_TYPES(X)                                                               \
  X(ID_CHANGED, true, "the $id changed at {path}")                                              \
  X(DESCRIPTION_CHANGED, true, "the description changed at {path}")                             \
  X(TITLE_CHANGED, true, "the title changed at {path}")                                         \
  X(DEFAULT_CHANGED, true, "the default changed at {path}")                                     \
  X(SCHEMA_ADDED, false, "a schema was added at {path}: old documents were not constrained there") \
  X(SCHEMA_REMOVED, true, "the schema at {path} was removed")                                  \
  X(TYPE_EXTENDED, true, "the type at {path} was widened")                                      \
  X(TYPE_NARROWED, false,                                                                       \
    "the type at {path} was narrowed (number to integer): old documents may hold fractions")    \
  X(TYPE_CHANGED, false,                                                                        \
    "the schema at {path} changed to a different type: old documents do not match it")         \
  X(MAX_LENGTH_ADDED, false, "maxLength was added at {path}: old strings may be longer")        \
  X(MAX_LENGTH_REMOVED, true, "maxLength was removed at {path}")                                \
  X(MAX_LENGTH_INCREASED, true, "maxLength was raised at {path}")                               \
  X(MAX_LENGTH_DECREASED, false, "maxLength was lowered at {path}: old strings may be longer")  \
  X(MIN_LENGTH_ADDED, false, "minLength was added at {path}: old strings may be shorter")       \
  X(MIN_LENGTH_REMOVED, true, "minLength was removed at {path}")                                \
  X(MIN_LENGTH_INCREASED, false, "minLength was raised at {path}: old strings may be shorter")  \
  X(MIN_LENGTH_DECREASED, true, "minLength was lowered at {path}")                              \
  X(PATTERN_ADDED, false, "a pattern was added at {path}: old strings may not match it")        \
  X(PATTERN_REMOVED, true, "the pattern was removed at {path}")                                 \
  X(PATTERN_CHANGED, false, "the pattern changed at {path}: old strings may not match it")      \
  X(MAXIMUM_ADDED, false, "maximum was added at {path}: old numbers may be larger")             \
  X(MAXIMUM_REMOVED, true, "maximum was removed at {path}")                                     \
  X(MAXIMUM_INCREASED, true, "maximum was raised at {path}")                                    \
  X(MAXIMUM_DECREASED, false, "maximum was lowered at {path}: old numbers may be larger")       \
  X(MINIMUM_ADDED, false, "minimum was added at {path}: old numbers may be smaller")            \
  X(MINIMUM_REMOVED, true, "minimum was removed at {path}")                                     \
  X(MINIMUM_INCREASED, false, "minimum was raised at {path}: old numbers may be smaller")       \
  X(MINIMUM_DECREASED, true, "minimum was lowered at {path}")                                   \
  X(EXCLUSIVE_MAXIMUM_ADDED, false,                                                             \
    "exclusiveMaximum was added at {path}: old numbers may be larger")                          \
  X(EXCLUSIVE_MAXIMUM_REMOVED, true, "exclusiveMaximum was removed at {path}")                  \
  X(EXCLUSIVE_MAXIMUM_INCREASED, true, "exclusiveMaximum was raised at {path}")                 \
  X(EXCLUSIVE_MAXIMUM_DECREASED, false,                                                         \
    "exclusiveMaximum was lowered at {path}: old numbers may be larger")                        \
  X(EXCLUSIVE_MINIMUM_ADDED, false,                                                             \
    "exclusiveMinimum was added at {path}: old numbers may be smaller")                         \
  X(EXCLUSIVE_MINIMUM_REMOVED, true, "exclusiveMinimum was removed at {path}")                  \
  X(EXCLUSIVE_MINIMUM_INCREASED, false,                                                         \
    "exclusiveMinimum was raised at {path}: old numbers may be smaller")                        \
  X(EXCLUSIVE_MINIMUM_DECREASED, true, "exclusiveMinimum was lowered at {path}")                \
  X(MULTIPLE_OF_ADDED, false, "multipleOf was added at {path}: old numbers may not be multiples") \
  X(MULTIPLE_OF_REMOVED, true, "multipleOf was removed at {path}")                              \
  X(MULTIPLE_OF_EXPANDED, false,                                                                \
    "multipleOf at {path} became a multiple of the old value: old numbers may not divide by it") \
  X(MULTIPLE_OF_REDUCED, true, "multipleOf at {path} became a divisor of the old value")        \
  X(MULTIPLE_OF_CHANGED, false,                                                                 \
    "multipleOf changed at {path} to a value unrelated to the old one")                         \
  X(REQUIRED_ATTRIBUTE_ADDED, false,                                                            \
    "property '{name}' at {path} became required without a default: old documents may lack it") \
  X(REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED, true,                                                \
    "property '{name}' at {path} became required with a default")                               \
  X(REQUIRED_ATTRIBUTE_REMOVED, true, "property '{name}' at {path} is no longer required")     \
  X(DEPENDENCY_ARRAY_ADDED, false,                                                              \
    "a property dependency was added at {path}: old documents may not satisfy it")              \
  X(DEPENDENCY_ARRAY_REMOVED, true, "a property dependency was removed at {path}")              \
  X(DEPENDENCY_ARRAY_EXTENDED, false,                                                           \
    "the property dependency at {path} names more properties: old documents may lack them")     \
  X(DEPENDENCY_ARRAY_NARROWED, true, "the property dependency at {path} names fewer properties") \
  X(DEPENDENCY_ARRAY_CHANGED, false,                                                            \
    "the property dependency at {path} changed: old documents may not satisfy it")              \
  X(DEPENDENCY_SCHEMA_ADDED, false,                                                             \
    "a schema dependency was added at {path}: old documents may not satisfy it")                \
  X(DEPENDENCY_SCHEMA_REMOVED, true, "a schema dependency was removed at {path}")               \
  X(MAX_PROPERTIES_ADDED, false,                                                                \
    "maxProperties was added at {path}: old objects may have more properties")                  \
  X(MAX_PROPERTIES_REMOVED, true, "maxProperties was removed at {path}")                        \
  X(MAX_PROPERTIES_INCREASED, true, "maxProperties was raised at {path}")                       \
  X(MAX_PROPERTIES_DECREASED, false,                                                            \
    "maxProperties was lowered at {path}: old objects may have more properties")                \
  X(MIN_PROPERTIES_ADDED, false,                                                                \
    "minProperties was added at {path}: old objects may have fewer properties")                 \
  X(MIN_PROPERTIES_REMOVED, true, "minProperties was removed at {path}")                        \
  X(MIN_PROPERTIES_INCREASED, false,                                                            \
    "minProperties was raised at {path}: old objects may have fewer properties")                \
  X(MIN_PROPERTIES_DECREASED, true, "minProperties was lowered at {path}")                      \
  X(ADDITIONAL_PROPERTIES_ADDED, true, "additional properties are now allowed at {path}")       \
  X(ADDITIONAL_PROPERTIES_REMOVED, false,                                                       \
    "additional properties are no longer allowed at {path}: old documents may carry them")      \
  X(ADDITIONAL_PROPERTIES_EXTENDED, true, "additional properties at {path} accept any value now") \
  X(ADDITIONAL_PROPERTIES_NARROWED, false,                                                      \
    "additional properties at {path} are now constrained by a schema: old documents may hold "  \
    "other values")                                                                              \
  X(PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, false,                                                \
    "property '{name}' at {path} was added to an open content model: old documents may hold "   \
    "any value under that name")                                                                 \
  X(PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL, true,                               \
    "property '{name}' at {path} was added with an empty schema")                               \
  X(REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, false,                                     \
    "required property '{name}' at {path} was added without a default: old documents lack it") \
  X(REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL, true,                         \
    "required property '{name}' at {path} was added with a default")                            \
  X(OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, true,                                      \
    "optional property '{name}' at {path} was added to a closed content model")                 \
  X(PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL, true,                                             \
    "property '{name}' at {path} was removed from an open content model")                       \
  X(PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL, false,                                          \
    "property '{name}' at {path} was removed from a closed content model: old documents may "   \
    "carry it and it is no longer allowed")                                                      \
  X(PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, true,                                \
    "property '{name}' at {path}, which was forbidden, was removed")                            \
  X(PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, true,                            \
    "property '{name}' at {path} was added and accepts what the catch-all schema allowed")      \
  X(PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, false,                          \
    "property '{name}' at {path} was added but does not accept everything the old catch-all "   \
    "schema (additionalProperties/patternProperties) allowed for that name")                    \
  X(PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, true,                          \
    "property '{name}' at {path} was removed and the catch-all schema accepts its old values")  \
  X(PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, false,                        \
    "property '{name}' at {path} was removed but the catch-all schema "                         \
    "(additionalProperties/patternProperties) does not accept its old values")                  \
  X(MAX_ITEMS_ADDED, false, "maxItems was added at {path}: old arrays may be longer")           \
  X(MAX_ITEMS_REMOVED, true, "maxItems was removed at {path}")                                  \
  X(MAX_ITEMS_INCREASED, true, "maxItems was raised at {path}")                                 \
  X(MAX_ITEMS_DECREASED, false, "maxItems was lowered at {path}: old arrays may be longer")     \
  X(MIN_ITEMS_ADDED, false, "minItems was added at {path}: old arrays may be shorter")          \
  X(MIN_ITEMS_REMOVED, true, "minItems was removed at {path}")                                  \
  X(MIN_ITEMS_INCREASED, false, "minItems was raised at {path}: old arrays may be shorter")     \
  X(MIN_ITEMS_DECREASED, true, "minItems was lowered at {path}")                                \
  X(UNIQUE_ITEMS_ADDED, false, "uniqueItems was added at {path}: old arrays may repeat items")  \
  X(UNIQUE_ITEMS_REMOVED, true, "uniqueItems was removed at {path}")                            \
  X(MAX_CONTAINS_ADDED, false, "maxContains was added at {path}")                               \
  X(MAX_CONTAINS_REMOVED, true, "maxContains was removed at {path}")                            \
  X(MAX_CONTAINS_INCREASED, true, "maxContains was raised at {path}")                           \
  X(MAX_CONTAINS_DECREASED, false, "maxContains was lowered at {path}")                         \
  X(MIN_CONTAINS_ADDED, false, "minContains was added at {path}")                               \
  X(MIN_CONTAINS_REMOVED, true, "minContains was removed at {path}")                            \
  X(MIN_CONTAINS_INCREASED, false, "minContains was raised at {path}")                          \
  X(MIN_CONTAINS_DECREASED, true, "minContains was lowered at {path}")                          \
  X(ADDITIONAL_ITEMS_ADDED, true, "additional items are now allowed at {path}")                 \
  X(ADDITIONAL_ITEMS_REMOVED, false,                                                            \
    "additional items are no longer allowed at {path}: old arrays may be longer")               \
  X(ADDITIONAL_ITEMS_EXTENDED, true, "additional items at {path} accept any value now")         \
  X(ADDITIONAL_ITEMS_NARROWED, false,                                                           \
    "additional items at {path} are now constrained by a schema: old arrays may hold other "    \
    "values")                                                                                    \
  X(UNEVALUATED_ITEMS_ADDED, true, "unevaluated items are now allowed at {path}")               \
  X(UNEVALUATED_ITEMS_REMOVED, false, "unevaluated items are no longer allowed at {path}")      \
  X(UNEVALUATED_ITEMS_EXTENDED, true, "unevaluated items at {path} accept any value now")       \
  X(UNEVALUATED_ITEMS_NARROWED, false, "unevaluated items at {path} are now constrained")       \
  X(ITEM_ADDED_TO_OPEN_CONTENT_MODEL, false,                                                    \
    "tuple item {path} was added to an open content model: old arrays may hold any value there") \
  X(ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL, true,                                   \
    "tuple item {path} was added with an empty schema")                                         \
  X(ITEM_ADDED_TO_CLOSED_CONTENT_MODEL, true, "tuple item {path} was added to a closed model")  \
  X(ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL, true,                                                 \
    "tuple item {path} was removed from an open content model")                                 \
  X(ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL, false,                                              \
    "tuple item {path} was removed from a closed content model: old arrays may be that long")   \
  X(ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, true,                                    \
    "tuple item {path}, which was forbidden, was removed")                                      \
  X(ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, true,                                \
    "tuple item {path} was added and accepts what additionalItems allowed")                     \
  X(ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, false,                              \
    "tuple item {path} was added but does not accept everything additionalItems allowed")       \
  X(ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, true,                              \
    "tuple item {path} was removed and additionalItems accepts its old values")                 \
  X(ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, false,                            \
    "tuple item {path} was removed but additionalItems does not accept its old values")         \
  X(ENUM_ARRAY_EXTENDED, true, "values were added to the enum at {path}")                       \
  X(ENUM_ARRAY_NARROWED, false, "values were removed from the enum at {path}: old documents "   \
                                "may hold them")                                                 \
  X(ENUM_ARRAY_CHANGED, false, "the allowed values at {path} changed: old documents may hold "  \
                               "values no longer allowed")                                       \
  X(COMBINED_TYPE_EXTENDED, true, "the combinator at {path} was loosened")                      \
  X(COMBINED_TYPE_CHANGED, false,                                                               \
    "the combinator at {path} changed kind (allOf/anyOf/oneOf) in a narrowing way")             \
  X(PRODUCT_TYPE_EXTENDED, false,                                                               \
    "a schema was added to the allOf at {path}: old documents may not match it")                \
  X(PRODUCT_TYPE_NARROWED, true, "a schema was removed from the allOf at {path}")               \
  X(SUM_TYPE_EXTENDED, true, "an alternative was added at {path}")                              \
  X(SUM_TYPE_NARROWED, false,                                                                   \
    "an alternative was removed from the oneOf/anyOf at {path}: old documents may match only "  \
    "that one")                                                                                  \
  X(COMBINED_TYPE_SUBSCHEMAS_CHANGED, false,                                                    \
    "the members of the combinator at {path} changed: some old member has no compatible new "   \
    "one")                                                                                       \
  X(NOT_TYPE_EXTENDED, false, "the negated schema at {path} was widened: it now rejects old "   \
                              "documents")                                                       \
  X(NOT_TYPE_NARROWED, true, "the negated schema at {path} was narrowed")                       \
  X(COMPARISON_TOO_COMPLEX, false,                                                              \
    "the comparison gave up at {path}: the schemas nest or share subschemas too much to be "    \
    "compared in bounded time")

enum class DiffType {
#define SLUICE_X(name, compatible, text) k##name,
  SLUICE_JSON_DIFF_TYPES(SLUICE_X)
#undef SLUICE_X
};

struct Difference {
  DiffType type;
  std::string path;  // "#/properties/a/maxLength"
};

const char* DiffTypeName(DiffType t);
bool IsCompatible(DiffType t);
// "property 'email' at #/properties/email was added ... [PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL]"
std::string DescribeDifference(const Difference& d);

// Every difference between `original` (the writer / old schema) and `update` (the reader).
std::vector<Difference> Compare(const Node* original, const Node* update);
// Messages for the incompatible differences only; empty = update can read original's data.
std::vector<std::string> Diff(const Node* original, const Node* update);

}  // namespace sluice::schema::json::internal
