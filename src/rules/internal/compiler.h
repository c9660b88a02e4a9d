// Compiler: Ast -> evaluator nodes, with static type checks (literal types always, field types
// when CompileOptions gives them), constant folding, and regex/LIKE patterns prepared once.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "model/arena.h"
#include "rules/expression.h"
#include "rules/internal/ast.h"
#include "rules/internal/nodes.h"

namespace sluice::rules::internal {

// Everything a compiled Expression owns: the node tree and the arena behind its constants.
struct CompiledState {
  model::Arena constants{1024};
  NodePtr root;
};

struct CompileResult {
  ValueType type = ValueType::kNull;  // kNull when unknown
  std::vector<std::string> referenced_fields;
  std::unordered_map<std::string, ValueType> used_field_types;
};

// Compiles `ast` (parsed from `text`) into state.root. Errors: kInvalidArgument "line:col: ...".
Result<CompileResult> CompileAst(std::string_view text, const Ast& ast, const CompileOptions& options,
                                 CompiledState& state);

// Edit distance with adjacent transpositions (for "did you mean" hints).
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace sluice::rules::internal
