// Expression: the SQL-like expression language shared by filters, projections, window
// aggregates, CEP predicates, routing and sink transforms. Compiled once from text into a tree of
// evaluator nodes, then evaluated per event over a model::Value row. The language is documented
// in docs/expressions.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::rules {

namespace internal {
class Node;
struct CompiledState;
}  // namespace internal

// Per-evaluation inputs and outputs, owned by the caller (one per task).
struct EvalContext {
  model::Arena* arena = nullptr;  // where string/array results are allocated (reset per batch)
  int64_t now_ms = 0;             // processing time for now() / current_timestamp
  // Set (first error wins) when evaluation fails at run time, e.g. CAST('abc' AS BIGINT); the
  // expression then yields NULL. The caller clears it before each event and routes the event to
  // the error output with this reason when it is not empty.
  std::string error;
};

struct CompileOptions {
  // Optional known types of fields by path ("payload.user.id" -> kString, "items[0].sku" for an
  // indexed path); when given, the compiler type-checks against them.
  const std::unordered_map<std::string, model::ValueType>* field_types = nullptr;
};

// A compiled expression. One instance per task: NOT thread-safe (nodes hold member-position
// hints and scratch buffers). Clone() makes a fresh instance for another task.
class Expression {
 public:
  // Longest accepted text and deepest accepted nesting (hostile input must not blow the stack).
  static constexpr size_t kMaxTextBytes = 64 * 1024;
  static constexpr int kMaxDepth = 200;

  // Errors: kInvalidArgument with "line:col: message" and a hint where one helps, e.g.
  // "1:8: unknown function 'lenght' (did you mean 'length'?)".
  static Result<std::unique_ptr<Expression>> Compile(std::string_view text,
                                                     const CompileOptions& options = {});
  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  // The value of the expression for `row`. Strings and arrays it creates live in ctx.arena;
  // others borrow from the row or from this Expression. Run-time errors set ctx.error and
  // yield NULL.
  model::Value Evaluate(const model::Value& row, EvalContext& ctx);
  // Predicate: true only when the result is TRUE (NULL and FALSE are false). A result that is
  // neither boolean nor NULL sets ctx.error.
  bool Test(const model::Value& row, EvalContext& ctx);

  // Static type when known; kNull when unknown or dynamic.
  model::ValueType result_type() const { return result_type_; }
  const std::string& text() const { return text_; }
  // A fresh instance (its own hints, caches and constants) for another task.
  std::unique_ptr<Expression> Clone() const;
  // Field paths the expression reads, in first-use order, e.g. "payload.user.id", "items[0]".
  const std::vector<std::string>& referenced_fields() const { return referenced_fields_; }

 private:
  Expression();

  std::string text_;
  model::ValueType result_type_ = model::ValueType::kNull;
  std::vector<std::string> referenced_fields_;
  // Types of the referenced fields taken from CompileOptions, kept so Clone() compiles alike.
  std::unordered_map<std::string, model::ValueType> field_types_;
  bool has_field_types_ = false;
  std::unique_ptr<internal::CompiledState> state_;  // constants arena and node tree
  internal::Node* root_ = nullptr;                  // owned by state_
};

}  // namespace sluice::rules
