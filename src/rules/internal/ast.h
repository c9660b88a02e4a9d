// The parse tree of an expression, produced by the parser and consumed by the compiler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/value.h"

namespace sluice::rules::internal {

enum class AstKind : uint8_t {
  kNull,
  kBool,      // bool_value
  kInt,       // int_value (also INTERVAL literals, in milliseconds)
  kDouble,    // double_value
  kString,    // text
  kField,     // text: a top-level name
  kMember,    // kids[0].text
  kIndex,     // kids[0][kids[1]]
  kNeg,       // -kids[0]
  kBinary,    // kids[0] op kids[1]; op in text: + - * / % || = <> < <= > >=
  kAnd,       // n-ary
  kOr,        // n-ary
  kNot,       // NOT kids[0]
  kIsNull,    // kids[0] IS [NOT] NULL (negated)
  kIsBool,    // kids[0] IS [NOT] TRUE|FALSE (bool_value = TRUE/FALSE, negated)
  kDistinct,  // kids[0] IS [NOT] DISTINCT FROM kids[1] (negated = NOT DISTINCT)
  kIn,        // kids[0] [NOT] IN (kids[1..])
  kBetween,   // kids[0] [NOT] BETWEEN kids[1] AND kids[2]
  kLike,      // kids[0] [NOT] LIKE|ILIKE kids[1] [ESCAPE kids[2]]; text = "LIKE" or "ILIKE"
  kRlike,     // kids[0] [NOT] RLIKE kids[1]
  kCase,      // searched: kids = when,then,...,[else]; simple: kids[0] is the operand
  kCast,      // CAST(kids[0] AS text); bool_value = TRY_CAST
  kCall,      // text(kids...), text lower-case
};

struct Ast {
  AstKind kind = AstKind::kNull;
  uint32_t pos = 0;  // byte offset of the node's first token (operators: the operator)
  int depth = 1;     // height of the subtree, bounded by Expression::kMaxDepth
  bool negated = false;
  bool bool_value = false;
  bool has_else = false;     // kCase
  bool simple_case = false;  // kCase with an operand
  int64_t int_value = 0;
  double double_value = 0;
  std::string text;
  std::vector<std::unique_ptr<Ast>> kids;
};

using AstPtr = std::unique_ptr<Ast>;

}  // namespace sluice::rules::internal
