// Recursive-descent parser: tokens -> Ast. Bounded: nesting deeper than Expression::kMaxDepth is
// an error, so hostile input cannot exhaust the stack here or in the compiler and evaluator.
#pragma once

#include <string_view>

#include "base/status.h"
#include "rules/internal/ast.h"

namespace sluice::rules::internal {

// Parses a whole expression. Errors: kInvalidArgument "line:col: message".
Result<AstPtr> Parse(std::string_view text, int max_depth);

}  // namespace sluice::rules::internal
