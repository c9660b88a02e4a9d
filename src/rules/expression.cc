// Expression: compile entry point and per-event evaluation.
#include "rules/expression.h"

#include "rules/internal/compiler.h"
#include "rules/internal/parser.h"

namespace sluice::rules {

Expression::Expression() = default;
Expression::~Expression() = default;

Result<std::unique_ptr<Expression>> Expression::Compile(std::string_view text,
                                                        const CompileOptions& options) {
  if (text.size() > kMaxTextBytes) {
    return InvalidArgument("expression is {} bytes, longer than the {}-byte limit", text.size(),
                           kMaxTextBytes);
  }
  SLUICE_ASSIGN_OR_RETURN(internal::AstPtr ast, internal::Parse(text, kMaxDepth));
  auto state = std::make_unique<internal::CompiledState>();
  SLUICE_ASSIGN_OR_RETURN(internal::CompileResult compiled,
                          internal::CompileAst(text, *ast, options, *state));
  std::unique_ptr<Expression> e(new Expression());
  e->text_ = std::string(text);
  e->result_type_ = compiled.type;
  e->referenced_fields_ = std::move(compiled.referenced_fields);
  e->field_types_ = std::move(compiled.used_field_types);
  e->has_field_types_ = options.field_types != nullptr;
  e->root_ = state->root.get();
  e->state_ = std::move(state);
  return e;
}

model::Value Expression::Evaluate(const model::Value& row, EvalContext& ctx) {
  // An error deep inside (say in one OR branch) may still leave a value at the top; the contract
  // is that an event that caused an error evaluates to NULL.
  bool had_error = !ctx.error.empty();
  model::Value v = root_->Eval(row, ctx);
  if (!had_error && !ctx.error.empty()) return model::Value::Null();
  return v;
}

bool Expression::Test(const model::Value& row, EvalContext& ctx) {
  bool had_error = !ctx.error.empty();
  internal::Tri t = root_->EvalTruth(row, ctx, internal::TruthUse::kCondition);
  return t == internal::Tri::kTrue && (had_error || ctx.error.empty());
}

std::unique_ptr<Expression> Expression::Clone() const {
  // Recompiling gives the clone its own hints, caches and constants; the text compiled before
  // with these field types, so it compiles again.
  CompileOptions options;
  if (has_field_types_) options.field_types = &field_types_;
  auto r = Compile(text_, options);
  SLUICE_CHECK(r.ok(), "recompiling '{}' failed: {}", text_, r.status().message());
  return std::move(r).value();
}

}  // namespace sluice::rules
