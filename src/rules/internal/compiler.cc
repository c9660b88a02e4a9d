// Compiler from Ast to evaluator nodes.
#include "rules/internal/compiler.h"

#include <algorithm>

#include <fmt/format.h>

#include "rules/internal/lexer.h"

namespace sluice::rules::internal {

size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

namespace {

std::string_view TypeName(ValueType t) { return model::ValueTypeName(t); }

// A compiled subexpression and its static type.
struct Typed {
  NodePtr node;
  ValueType type = ValueType::kNull;
  bool known = false;  // known && type == kNull: the NULL literal

  bool IsConst() const { return node->constant() != nullptr; }
  bool KnownNonNull() const { return known && type != ValueType::kNull; }
};

class Compiler {
 public:
  Compiler(std::string_view text, const CompileOptions& options, CompiledState& state,
           CompileResult& result)
      : text_(text), options_(options), state_(state), result_(result) {}

  Result<Typed> Compile(const Ast& a) {
    switch (a.kind) {
      case AstKind::kNull: return Const(Value::Null(), ValueType::kNull);
      case AstKind::kBool: return Const(Value::Bool(a.bool_value), ValueType::kBool);
      case AstKind::kInt: return Const(Value::Int(a.int_value), ValueType::kInt);
      case AstKind::kDouble: return Const(Value::Double(a.double_value), ValueType::kDouble);
      case AstKind::kString:
        return Const(state_.constants.CopyStringValue(a.text), ValueType::kString);
      case AstKind::kField:
      case AstKind::kMember:
      case AstKind::kIndex: return CompileAccess(a);
      case AstKind::kNeg: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        if (e.KnownNonNull() && e.type != ValueType::kInt && e.type != ValueType::kDouble) {
          return Error(a, fmt::format("unary '-' cannot be applied to {}", TypeName(e.type)));
        }
        bool c = e.IsConst();
        ValueType t = e.type;
        bool known = e.known;
        return Fold(Typed{std::make_unique<NegNode>(std::move(e.node)), t, known}, c);
      }
      case AstKind::kBinary: return CompileBinary(a);
      case AstKind::kAnd:
      case AstKind::kOr: {
        std::vector<NodePtr> kids;
        bool all_const = true;
        for (const AstPtr& k : a.kids) {
          SLUICE_ASSIGN_OR_RETURN(Typed t, Compile(*k));
          SLUICE_RETURN_IF_ERROR(CheckBool(*k, t, a.kind == AstKind::kAnd ? "AND" : "OR"));
          all_const = all_const && t.IsConst();
          kids.push_back(std::move(t.node));
        }
        NodePtr n = a.kind == AstKind::kAnd ? NodePtr(std::make_unique<AndNode>(std::move(kids)))
                                            : NodePtr(std::make_unique<OrNode>(std::move(kids)));
        return Fold(Typed{std::move(n), ValueType::kBool, true}, all_const);
      }
      case AstKind::kNot: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        SLUICE_RETURN_IF_ERROR(CheckBool(*a.kids[0], e, "NOT"));
        bool c = e.IsConst();
        return Fold(Typed{std::make_unique<NotNode>(std::move(e.node)), ValueType::kBool, true}, c);
      }
      case AstKind::kIsNull:
      case AstKind::kIsBool: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        bool c = e.IsConst();
        IsNode::What what = a.kind == AstKind::kIsNull
                                ? IsNode::What::kNull
                                : (a.bool_value ? IsNode::What::kTrue : IsNode::What::kFalse);
        return Fold(Typed{std::make_unique<IsNode>(what, a.negated, std::move(e.node)),
                          ValueType::kBool, true}, c);
      }
      case AstKind::kDistinct: {
        SLUICE_ASSIGN_OR_RETURN(Typed x, Compile(*a.kids[0]));
        SLUICE_ASSIGN_OR_RETURN(Typed y, Compile(*a.kids[1]));
        bool c = x.IsConst() && y.IsConst();
        return Fold(Typed{std::make_unique<DistinctNode>(a.negated, std::move(x.node), std::move(y.node)),
                          ValueType::kBool, true}, c);
      }
      case AstKind::kIn: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        bool all_const = e.IsConst();
        std::vector<NodePtr> items;
        for (size_t i = 1; i < a.kids.size(); ++i) {
          SLUICE_ASSIGN_OR_RETURN(Typed t, Compile(*a.kids[i]));
          SLUICE_RETURN_IF_ERROR(CheckComparable(*a.kids[i], e, t, false, "IN"));
          all_const = all_const && t.IsConst();
          items.push_back(std::move(t.node));
        }
        return Fold(Typed{std::make_unique<InNode>(a.negated, std::move(e.node), std::move(items)),
                          ValueType::kBool, true}, all_const);
      }
      case AstKind::kBetween: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        SLUICE_ASSIGN_OR_RETURN(Typed lo, Compile(*a.kids[1]));
        SLUICE_ASSIGN_OR_RETURN(Typed hi, Compile(*a.kids[2]));
        SLUICE_RETURN_IF_ERROR(CheckComparable(*a.kids[1], e, lo, true, "BETWEEN"));
        SLUICE_RETURN_IF_ERROR(CheckComparable(*a.kids[2], e, hi, true, "BETWEEN"));
        bool c = e.IsConst() && lo.IsConst() && hi.IsConst();
        return Fold(Typed{std::make_unique<BetweenNode>(a.negated, std::move(e.node), std::move(lo.node),
                                                        std::move(hi.node)),
                          ValueType::kBool, true}, c);
      }
      case AstKind::kLike: return CompileLike(a);
      case AstKind::kRlike: {
        SLUICE_ASSIGN_OR_RETURN(Typed call, CompileCall(a, "regexp_like"));
        if (!a.negated) return call;
        bool c = call.IsConst();
        return Fold(Typed{std::make_unique<NotNode>(std::move(call.node)), ValueType::kBool, true}, c);
      }
      case AstKind::kCase: return CompileCase(a);
      case AstKind::kCast: {
        SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
        ValueType target = a.text == "BIGINT"    ? ValueType::kInt
                           : a.text == "DOUBLE"  ? ValueType::kDouble
                           : a.text == "STRING"  ? ValueType::kString
                           : a.text == "BOOLEAN" ? ValueType::kBool
                                                 : ValueType::kTimestamp;
        if (e.KnownNonNull() && (e.type == ValueType::kArray || e.type == ValueType::kObject) &&
            target != ValueType::kString) {
          return Error(a, fmt::format("cannot cast {} to {}", TypeName(e.type), a.text));
        }
        bool c = e.IsConst();
        return Fold(Typed{std::make_unique<CastNode>(target, a.bool_value, std::move(e.node)), target, true}, c);
      }
      case AstKind::kCall: return CompileCall(a, a.text);
    }
    return Error(a, "internal error: unknown syntax node");
  }

 private:
  Status Error(const Ast& a, std::string_view message) const { return ErrorAt(text_, a.pos, message); }

  static Typed Const(Value v, ValueType t) { return Typed{std::make_unique<ConstNode>(v), t, true}; }

  // Replaces a node whose inputs are all constants by its value, when evaluating it succeeds
  // (a failing constant subexpression, e.g. in an untaken CASE branch, stays a run-time error).
  Result<Typed> Fold(Typed t, bool all_const, bool pure = true) {
    if (!all_const || !pure) return t;
    EvalContext ctx;
    ctx.arena = &state_.constants;
    Value v = t.node->Eval(Value(), ctx);
    if (!ctx.error.empty()) return t;
    bool known = t.known || !v.is_null();
    ValueType type = t.known ? t.type : v.type();
    if (v.is_null()) type = ValueType::kNull, known = true;
    return Typed{std::make_unique<ConstNode>(v), type, known};
  }

  Status CheckBool(const Ast& at, const Typed& t, std::string_view op) const {
    if (t.KnownNonNull() && t.type != ValueType::kBool) {
      return Error(at, fmt::format("{} expects boolean operands, got {}", op, TypeName(t.type)));
    }
    return Status::Ok();
  }

  Status CheckComparable(const Ast& at, const Typed& a, const Typed& b, bool ordered,
                         std::string_view what) const {
    if (a.KnownNonNull() && b.KnownNonNull() && !Comparable(a.type, b.type, ordered)) {
      return Error(at, fmt::format("{}: cannot compare {} with {}", what, TypeName(a.type),
                                   TypeName(b.type)));
    }
    return Status::Ok();
  }

  // Collects a field path (a.b[2].c) into steps; false when the base is computed.
  static bool CollectPath(const Ast& a, std::vector<PathStep>& steps) {
    switch (a.kind) {
      case AstKind::kField: steps.push_back(PathStep{a.text, -1, 0}); return true;
      case AstKind::kMember:
        if (!CollectPath(*a.kids[0], steps)) return false;
        steps.push_back(PathStep{a.text, -1, 0});
        return true;
      case AstKind::kIndex:
        if (a.kids[1]->kind != AstKind::kInt || a.kids[1]->int_value < 0) return false;
        if (!CollectPath(*a.kids[0], steps)) return false;
        steps.push_back(PathStep{"", a.kids[1]->int_value, 0});
        return true;
      default: return false;
    }
  }

  Result<Typed> CompileAccess(const Ast& a) {
    std::vector<PathStep> steps;
    if (CollectPath(a, steps)) {
      std::string path;
      for (const PathStep& s : steps) {
        if (s.index >= 0) {
          path += fmt::format("[{}]", s.index);
        } else {
          if (!path.empty()) path += '.';
          path += s.name;
        }
      }
      if (std::find(result_.referenced_fields.begin(), result_.referenced_fields.end(), path) ==
          result_.referenced_fields.end()) {
        result_.referenced_fields.push_back(path);
      }
      Typed t;
      if (options_.field_types != nullptr) {
        auto it = options_.field_types->find(path);
        if (it != options_.field_types->end()) {
          t.type = it->second;
          t.known = true;
          result_.used_field_types[path] = it->second;
        }
      }
      if (steps.size() == 1) {
        t.node = std::make_unique<FieldNode>(std::move(steps[0].name));
      } else {
        t.node = std::make_unique<PathNode>(std::move(steps));
      }
      return t;
    }
    SLUICE_ASSIGN_OR_RETURN(Typed base, Compile(*a.kids[0]));
    if (base.KnownNonNull() && base.type != ValueType::kObject && base.type != ValueType::kArray) {
      return Error(a, fmt::format("cannot take {} of {}", a.kind == AstKind::kMember ? "a member" : "an element",
                                  TypeName(base.type)));
    }
    if (a.kind == AstKind::kMember) {
      bool c = base.IsConst();
      return Fold(Typed{std::make_unique<MemberNode>(std::move(base.node), a.text), ValueType::kNull, false}, c);
    }
    SLUICE_ASSIGN_OR_RETURN(Typed index, Compile(*a.kids[1]));
    if (index.KnownNonNull() && index.type != ValueType::kInt && index.type != ValueType::kString) {
      return Error(*a.kids[1], fmt::format("index must be an integer or a string, got {}", TypeName(index.type)));
    }
    bool c = base.IsConst() && index.IsConst();
    return Fold(Typed{std::make_unique<IndexNode>(std::move(base.node), std::move(index.node)),
                      ValueType::kNull, false}, c);
  }

  Result<Typed> CompileBinary(const Ast& a) {
    SLUICE_ASSIGN_OR_RETURN(Typed x, Compile(*a.kids[0]));
    SLUICE_ASSIGN_OR_RETURN(Typed y, Compile(*a.kids[1]));
    bool c = x.IsConst() && y.IsConst();
    const std::string& op = a.text;
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
      std::string error;
      ValueType t = ArithType(op[0], x.type, y.type, x.known, y.known, &error);
      if (!error.empty()) return Error(a, error);
      bool known = (x.known && y.known) || (x.known && x.type == ValueType::kNull) ||
                   (y.known && y.type == ValueType::kNull);
      return Fold(Typed{std::make_unique<ArithNode>(op[0], std::move(x.node), std::move(y.node)), t, known}, c);
    }
    if (op == "||") {
      for (const Typed* t : {&x, &y}) {
        if (t->KnownNonNull() && (t->type == ValueType::kArray || t->type == ValueType::kObject)) {
          return Error(a, fmt::format("operator '||' cannot be applied to {}", TypeName(t->type)));
        }
      }
      return Fold(Typed{std::make_unique<ConcatNode>(std::move(x.node), std::move(y.node)),
                        ValueType::kString, true}, c);
    }
    CmpOp cmp = op == "="    ? CmpOp::kEq
                : op == "<>" ? CmpOp::kNe
                : op == "<"  ? CmpOp::kLt
                : op == "<=" ? CmpOp::kLe
                : op == ">"  ? CmpOp::kGt
                             : CmpOp::kGe;
    bool ordered = cmp != CmpOp::kEq && cmp != CmpOp::kNe;
    if (x.KnownNonNull() && y.KnownNonNull() && !Comparable(x.type, y.type, ordered)) {
      return Error(a, fmt::format("cannot compare {} with {} using '{}'", TypeName(x.type),
                                  TypeName(y.type), op));
    }
    // field <op> constant (or constant <op> field, mirrored) gets the specialised node.
    auto* xf = dynamic_cast<FieldNode*>(x.node.get());
    auto* yf = dynamic_cast<FieldNode*>(y.node.get());
    if (xf != nullptr && y.IsConst()) {
      return Typed{MakeCompareFieldConst(cmp, a.kids[0]->text, *y.node->constant()),
                   ValueType::kBool, true};
    }
    if (yf != nullptr && x.IsConst()) {
      CmpOp mirrored = cmp == CmpOp::kLt   ? CmpOp::kGt
                       : cmp == CmpOp::kLe ? CmpOp::kGe
                       : cmp == CmpOp::kGt ? CmpOp::kLt
                       : cmp == CmpOp::kGe ? CmpOp::kLe
                                           : cmp;
      return Typed{MakeCompareFieldConst(mirrored, a.kids[1]->text, *x.node->constant()),
                   ValueType::kBool, true};
    }
    return Fold(Typed{std::make_unique<CompareNode>(cmp, std::move(x.node), std::move(y.node)),
                      ValueType::kBool, true}, c);
  }

  Result<Typed> CompileLike(const Ast& a) {
    bool ignore_case = a.text == "ILIKE";
    SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids[0]));
    SLUICE_ASSIGN_OR_RETURN(Typed p, Compile(*a.kids[1]));
    Typed esc;
    if (a.kids.size() > 2) {
      SLUICE_ASSIGN_OR_RETURN(esc, Compile(*a.kids[2]));
    }
    for (size_t i = 0; i < a.kids.size(); ++i) {
      const Typed& t = i == 0 ? e : (i == 1 ? p : esc);
      if (t.KnownNonNull() && t.type != ValueType::kString) {
        return Error(*a.kids[i], fmt::format("{} expects strings, got {}", a.text, TypeName(t.type)));
      }
    }
    std::unique_ptr<LikePattern> prepared;
    bool pattern_const = p.IsConst() && p.node->constant()->is_string() &&
                         (!esc.node || (esc.IsConst() && esc.node->constant()->is_string()));
    if (pattern_const) {
      prepared = std::make_unique<LikePattern>();
      std::string error;
      std::string_view escape = esc.node ? esc.node->constant()->string_value() : std::string_view();
      if (!prepared->Prepare(p.node->constant()->string_value(), escape, esc.node != nullptr,
                             ignore_case, &error)) {
        return Error(*a.kids[1], error);
      }
    }
    bool c = e.IsConst() && p.IsConst() && (!esc.node || esc.IsConst());
    return Fold(Typed{std::make_unique<LikeNode>(a.negated, ignore_case, std::move(e.node), std::move(p.node),
                                                 std::move(esc.node), std::move(prepared)),
                      ValueType::kBool, true}, c);
  }

  // The common static type of branches, ignoring NULL literals; unknown when they differ.
  static void Unify(const Typed& t, bool& first, ValueType& type, bool& known) {
    if (t.known && t.type == ValueType::kNull) return;
    if (first) {
      first = false;
      type = t.type;
      known = t.known;
    } else if (!t.known || !known || t.type != type) {
      known = false;
      type = ValueType::kNull;
    }
  }

  Result<Typed> CompileCase(const Ast& a) {
    size_t i = 0;
    Typed operand;
    bool all_const = true;
    if (a.simple_case) {
      SLUICE_ASSIGN_OR_RETURN(operand, Compile(*a.kids[0]));
      all_const = operand.IsConst();
      i = 1;
    }
    size_t pairs_end = a.has_else ? a.kids.size() - 1 : a.kids.size();
    std::vector<NodePtr> whens, thens;
    bool first = true, known = true;
    ValueType type = ValueType::kNull;
    for (; i + 1 < pairs_end + 1 && i < pairs_end; i += 2) {
      SLUICE_ASSIGN_OR_RETURN(Typed w, Compile(*a.kids[i]));
      if (a.simple_case) {
        SLUICE_RETURN_IF_ERROR(CheckComparable(*a.kids[i], operand, w, false, "CASE"));
      } else if (w.KnownNonNull() && w.type != ValueType::kBool) {
        return Error(*a.kids[i], fmt::format("CASE WHEN condition must be boolean, got {}", TypeName(w.type)));
      }
      SLUICE_ASSIGN_OR_RETURN(Typed t, Compile(*a.kids[i + 1]));
      Unify(t, first, type, known);
      all_const = all_const && w.IsConst() && t.IsConst();
      whens.push_back(std::move(w.node));
      thens.push_back(std::move(t.node));
    }
    NodePtr else_node;
    if (a.has_else) {
      SLUICE_ASSIGN_OR_RETURN(Typed e, Compile(*a.kids.back()));
      Unify(e, first, type, known);
      all_const = all_const && e.IsConst();
      else_node = std::move(e.node);
    }
    if (first) known = true;  // every branch is NULL
    return Fold(Typed{std::make_unique<CaseNode>(std::move(operand.node), std::move(whens), std::move(thens),
                                                 std::move(else_node)),
                      type, known}, all_const);
  }

  Status ArgCountError(const Ast& a, std::string_view name, int min, int max) const {
    int got = static_cast<int>(a.kids.size());
    auto plural = [](int n) { return n == 1 ? "argument" : "arguments"; };
    if (max == 0) return Error(a, fmt::format("{}() takes no arguments, got {}", name, got));
    if (max < 0) return Error(a, fmt::format("{}() takes at least {} {}, got {}", name, min, plural(min), got));
    if (min == max) return Error(a, fmt::format("{}() takes {} {}, got {}", name, min, plural(min), got));
    return Error(a, fmt::format("{}() takes {} to {} arguments, got {}", name, min, max, got));
  }

  Result<Typed> CompileCall(const Ast& a, std::string_view name) {
    int n = static_cast<int>(a.kids.size());
    // Lazily evaluated forms.
    if (name == "coalesce" || name == "ifnull" || name == "nvl" || name == "if" || name == "nullif") {
      int min = name == "coalesce" ? 1 : (name == "if" ? 3 : 2);
      int max = name == "coalesce" ? -1 : min;
      if (n < min || (max >= 0 && n > max)) return ArgCountError(a, name, min, max);
      std::vector<Typed> args;
      bool all_const = true;
      for (const AstPtr& k : a.kids) {
        SLUICE_ASSIGN_OR_RETURN(Typed t, Compile(*k));
        all_const = all_const && t.IsConst();
        args.push_back(std::move(t));
      }
      bool first = true, known = true;
      ValueType type = ValueType::kNull;
      if (name == "if") {
        SLUICE_RETURN_IF_ERROR(CheckBool(*a.kids[0], args[0], "if()"));
        Unify(args[1], first, type, known);
        Unify(args[2], first, type, known);
        if (first) known = true;
        return Fold(Typed{std::make_unique<IfNode>(std::move(args[0].node), std::move(args[1].node),
                                                   std::move(args[2].node)), type, known}, all_const);
      }
      if (name == "nullif") {
        SLUICE_RETURN_IF_ERROR(CheckComparable(*a.kids[1], args[0], args[1], false, "nullif()"));
        ValueType t = args[0].type;
        bool k = args[0].known;
        return Fold(Typed{std::make_unique<NullIfNode>(std::move(args[0].node), std::move(args[1].node)), t, k},
                    all_const);
      }
      std::vector<NodePtr> kids;
      for (Typed& t : args) {
        Unify(t, first, type, known);
        kids.push_back(std::move(t.node));
      }
      if (first) known = true;
      return Fold(Typed{std::make_unique<CoalesceNode>(std::move(kids)), type, known}, all_const);
    }

    const FunctionSpec* spec = FindFunction(name);
    if (spec == nullptr) {
      std::string_view best;
      size_t best_d = SIZE_MAX;
      for (std::string_view candidate : FunctionNames()) {
        if (name.size() > 64) break;  // no hint for absurd names (the distance is quadratic)
        size_t d = EditDistance(name, candidate);
        if (d < best_d) {
          best_d = d;
          best = candidate;
        }
      }
      if (best_d <= 2 && best_d < name.size()) {
        return Error(a, fmt::format("unknown function '{}' (did you mean '{}'?)", name, best));
      }
      return Error(a, fmt::format("unknown function '{}' (see docs/expressions.md for the list)", name));
    }
    if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args)) {
      return ArgCountError(a, name, spec->min_args, spec->max_args);
    }
    std::vector<NodePtr> args;
    std::vector<Typed> typed;
    bool all_const = true;
    for (int i = 0; i < n; ++i) {
      SLUICE_ASSIGN_OR_RETURN(Typed t, Compile(*a.kids[i]));
      uint16_t accepted = spec->ArgTypes(i);
      if (t.KnownNonNull() && (accepted & Bit(t.type)) == 0) {
        return Error(*a.kids[i], fmt::format("{}() argument {} must be {}, got {}", name, i + 1,
                                             DescribeTypes(accepted), TypeName(t.type)));
      }
      if (const Value* c = t.node->constant(); c != nullptr && spec->check_constant != nullptr) {
        std::string error = spec->check_constant(i, *c);
        if (!error.empty()) return Error(*a.kids[i], error);
      }
      all_const = all_const && t.IsConst();
      typed.push_back(Typed{nullptr, t.type, t.known});
      args.push_back(std::move(t.node));
    }
    // Result type.
    ValueType type = ValueType::kNull;
    bool known = false;
    switch (spec->rule) {
      case ResultRule::kFixed: type = spec->result; known = true; break;
      case ResultRule::kArg0:
        type = typed.empty() ? ValueType::kNull : typed[0].type;
        known = !typed.empty() && typed[0].known;
        break;
      case ResultRule::kNumeric: {
        known = true;
        type = ValueType::kInt;
        for (const Typed& t : typed) {
          if (!t.KnownNonNull()) known = false;
          else if (t.type == ValueType::kDouble) type = ValueType::kDouble;
        }
        if (!known) type = ValueType::kNull;
        break;
      }
      case ResultRule::kCommon: {
        bool first = true;
        known = true;
        for (const Typed& t : typed) {
          if (!t.known) {
            known = false;
            type = ValueType::kNull;
            break;
          }
          Unify(t, first, type, known);
        }
        if (first) known = true;
        break;
      }
      case ResultRule::kDynamic: break;
    }
    // Constant patterns compile once, now, and a bad one is a compile error.
    const Value* pattern = nullptr;
    if (spec->regex_arg >= 0 && spec->regex_arg < n) pattern = args[spec->regex_arg]->constant();
    auto node = std::make_unique<CallNode>(spec, std::move(args));
    if (pattern != nullptr && pattern->is_string()) {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_unique<RE2>(
          re2::StringPiece(pattern->string_value().data(), pattern->string_value().size()), options);
      if (!re->ok()) {
        return Error(*a.kids[spec->regex_arg], fmt::format("invalid regular expression '{}': {}",
                                                           pattern->string_value(), re->error()));
      }
      node->state().owned_regex = std::move(re);
      node->state().regex = node->state().owned_regex.get();
    }
    return Fold(Typed{std::move(node), type, known}, all_const, spec->pure);
  }

  std::string_view text_;
  const CompileOptions& options_;
  CompiledState& state_;
  CompileResult& result_;
};

}  // namespace

Result<CompileResult> CompileAst(std::string_view text, const Ast& ast, const CompileOptions& options,
                                 CompiledState& state) {
  CompileResult result;
  Compiler compiler(text, options, state, result);
  SLUICE_ASSIGN_OR_RETURN(Typed root, compiler.Compile(ast));
  state.root = std::move(root.node);
  result.type = root.known ? root.type : ValueType::kNull;
  return result;
}

}  // namespace sluice::rules::internal
