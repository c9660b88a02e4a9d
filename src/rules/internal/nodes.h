// Evaluator nodes: the compiled form of an expression. Each node evaluates to a model::Value;
// run-time errors are recorded in EvalContext and yield NULL. Nodes are owned by their parent
// (the root by the Expression) and hold per-instance state (member hints, caches), so a node
// tree is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "rules/internal/functions.h"
#include "rules/internal/semantics.h"

namespace sluice::rules::internal {

// A boolean operand's value without building a Value (the filter hot path).
enum class Tri : int8_t { kFalse = 0, kTrue = 1, kNull = 2, kError = 3 };
// Who asks for a truth value, for the error message when the operand is not boolean.
enum class TruthUse : uint8_t { kAnd, kOr, kNot, kCondition };

class Node {
 public:
  virtual ~Node() = default;
  virtual Value Eval(const Value& row, EvalContext& ctx) = 0;
  // The value as a truth value; a non-boolean, non-NULL value records an error and gives kError.
  // Predicate nodes override it to skip the Value round trip.
  virtual Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse use);
  // Constant nodes (literals and folded subtrees) return their value here.
  virtual const Value* constant() const { return nullptr; }
};
using NodePtr = std::unique_ptr<Node>;

class ConstNode final : public Node {
 public:
  explicit ConstNode(Value v) : v_(v) {}
  Value Eval(const Value&, EvalContext&) override { return v_; }
  const Value* constant() const override { return &v_; }

 private:
  Value v_;
};

// Member lookup with the hint check inlined (the hit is the common case: events of one shape).
inline const Value* FindMember(const Value& v, std::string_view name, uint32_t* hint) {
  if (v.is_object()) {
    auto members = v.members();
    if (*hint < members.size() && model::NameEquals(members[*hint].name, name)) {
      return &members[*hint].value;
    }
  }
  return v.Find(name, hint);
}

// One step of a field path: a member name or an array index.
struct PathStep {
  std::string name;
  int64_t index = -1;  // >= 0 for an index step
  uint32_t hint = 0;
};

// A top-level field: row.Find(name) with a position hint.
class FieldNode final : public Node {
 public:
  explicit FieldNode(std::string name) : name_(std::move(name)) {}
  Value Eval(const Value& row, EvalContext&) override {
    const Value* v = FindMember(row, name_, &hint_);
    return v != nullptr ? *v : Value::Null();
  }

 private:
  std::string name_;
  uint32_t hint_ = 0;
};

// A nested path (a.b[2].c) from the row; missing members and indexes give NULL.
class PathNode final : public Node {
 public:
  explicit PathNode(std::vector<PathStep> steps) : steps_(std::move(steps)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  std::vector<PathStep> steps_;
};

// base.name on a computed value.
class MemberNode final : public Node {
 public:
  MemberNode(NodePtr base, std::string name) : base_(std::move(base)), name_(std::move(name)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr base_;
  std::string name_;
  uint32_t hint_ = 0;
};

// base[index]: array by 0-based integer, object by string key.
class IndexNode final : public Node {
 public:
  IndexNode(NodePtr base, NodePtr index) : base_(std::move(base)), index_(std::move(index)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr base_, index_;
};

class NegNode final : public Node {
 public:
  explicit NegNode(NodePtr e) : e_(std::move(e)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr e_;
};

class ArithNode final : public Node {
 public:
  ArithNode(char op, NodePtr a, NodePtr b) : op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override {
    Value x = a_->Eval(row, ctx);
    Value y = b_->Eval(row, ctx);
    return Arith(op_, x, y, ctx);
  }

 private:
  char op_;
  NodePtr a_, b_;
};

class ConcatNode final : public Node {
 public:
  ConcatNode(NodePtr a, NodePtr b) : a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr a_, b_;
  std::string scratch_;
};

enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
// Maps a comparison outcome to TRUE/FALSE/NULL (with an error for incomparable values).
Value CmpResult(CmpOp op, Cmp c, const Value& a, const Value& b, EvalContext& ctx);

class CompareNode final : public Node {
 public:
  CompareNode(CmpOp op, NodePtr a, NodePtr b) : op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override {
    Value x = a_->Eval(row, ctx);
    Value y = b_->Eval(row, ctx);
    if (x.is_null() || y.is_null()) return Value::Null();
    return CmpResult(op_, CompareValues(x, y), x, y, ctx);
  }
  Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse) override {
    Value x = a_->Eval(row, ctx);
    Value y = b_->Eval(row, ctx);
    if (x.is_null() || y.is_null()) return Tri::kNull;
    Value v = CmpResult(op_, CompareValues(x, y), x, y, ctx);
    return v.is_bool() ? static_cast<Tri>(v.bool_value()) : Tri::kError;
  }

 private:
  CmpOp op_;
  NodePtr a_, b_;
};

template <CmpOp Op, typename T>
inline bool Apply(const T& a, const T& b) {
  if constexpr (Op == CmpOp::kEq) return a == b;
  if constexpr (Op == CmpOp::kNe) return a != b;
  if constexpr (Op == CmpOp::kLt) return a < b;
  if constexpr (Op == CmpOp::kLe) return a <= b;
  if constexpr (Op == CmpOp::kGt) return a > b;
  if constexpr (Op == CmpOp::kGe) return a >= b;
}

// field <op> constant: the common filter shape, without a virtual call for the constant and
// with the operator fixed at compile time.
template <CmpOp Op>
class CompareFieldConstNode final : public Node {
 public:
  CompareFieldConstNode(std::string name, Value c) : name_(std::move(name)), c_(c) {}
  Value Eval(const Value& row, EvalContext& ctx) override {
    const Value* x = FindMember(row, name_, &hint_);
    if (x == nullptr || x->is_null() || c_.is_null()) return Value::Null();
    // Fast paths for the same-type cases; everything else through CompareValues.
    if (x->type() == c_.type()) {
      if (x->is_int()) return Value::Bool(Apply<Op>(x->int_value(), c_.int_value()));
      if (x->is_string()) return Value::Bool(Apply<Op>(x->string_value(), c_.string_value()));
    }
    return CmpResult(Op, CompareValues(*x, c_), *x, c_, ctx);
  }
  Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse) override {
    const Value* x = FindMember(row, name_, &hint_);
    if (x == nullptr || x->is_null() || c_.is_null()) return Tri::kNull;
    if (x->type() == c_.type()) {
      if (x->is_int()) return static_cast<Tri>(Apply<Op>(x->int_value(), c_.int_value()));
      if (x->is_string()) return static_cast<Tri>(Apply<Op>(x->string_value(), c_.string_value()));
    }
    Value v = CmpResult(Op, CompareValues(*x, c_), *x, c_, ctx);
    return v.is_bool() ? static_cast<Tri>(v.bool_value()) : Tri::kError;
  }

 private:
  std::string name_;
  Value c_;
  uint32_t hint_ = 0;
};

NodePtr MakeCompareFieldConst(CmpOp op, std::string name, Value c);

class AndNode final : public Node {
 public:
  explicit AndNode(std::vector<NodePtr> kids) : kids_(std::move(kids)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;
  Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse use) override;

 private:
  std::vector<NodePtr> kids_;
};

class OrNode final : public Node {
 public:
  explicit OrNode(std::vector<NodePtr> kids) : kids_(std::move(kids)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;
  Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse use) override;

 private:
  std::vector<NodePtr> kids_;
};

class NotNode final : public Node {
 public:
  explicit NotNode(NodePtr e) : e_(std::move(e)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;
  Tri EvalTruth(const Value& row, EvalContext& ctx, TruthUse use) override;

 private:
  NodePtr e_;
};

// IS [NOT] NULL, IS [NOT] TRUE, IS [NOT] FALSE: never NULL.
class IsNode final : public Node {
 public:
  enum class What : uint8_t { kNull, kTrue, kFalse };
  IsNode(What what, bool negated, NodePtr e) : what_(what), negated_(negated), e_(std::move(e)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  What what_;
  bool negated_;
  NodePtr e_;
};

// a IS [NOT] DISTINCT FROM b: NULL-safe (in)equality.
class DistinctNode final : public Node {
 public:
  DistinctNode(bool negated, NodePtr a, NodePtr b) : negated_(negated), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  bool negated_;
  NodePtr a_, b_;
};

class InNode final : public Node {
 public:
  // A list of at least kMinSetSize constants of one type (integers or strings, NULLs aside) is
  // also kept in a hash set, probed when the value has that type.
  static constexpr size_t kMinSetSize = 8;
  InNode(bool negated, NodePtr e, std::vector<NodePtr> items);
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  bool negated_;
  NodePtr e_;
  std::vector<NodePtr> items_;
  ValueType set_type_ = ValueType::kNull;  // kInt or kString when the sets are in use
  bool set_has_null_ = false;
  std::unordered_set<int64_t> int_set_;
  std::unordered_set<std::string_view> string_set_;  // views of the constants
};

class BetweenNode final : public Node {
 public:
  BetweenNode(bool negated, NodePtr e, NodePtr lo, NodePtr hi)
      : negated_(negated), e_(std::move(e)), lo_(std::move(lo)), hi_(std::move(hi)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  bool negated_;
  NodePtr e_, lo_, hi_;
};

// A LIKE pattern prepared once: classified into a fast shape when it has no '_' and '%' only at
// the ends, otherwise matched by the general matcher.
class LikePattern {
 public:
  // Errors: an escape that is not one character, a pattern ending in the escape character.
  bool Prepare(std::string_view pattern, std::string_view escape, bool has_escape, bool ignore_case,
               std::string* error);
  bool Matches(std::string_view s) const;

 private:
  enum class Shape : uint8_t { kExact, kPrefix, kSuffix, kContains, kAny, kGeneral };
  Shape shape_ = Shape::kGeneral;
  bool ignore_case_ = false;
  std::string literal_;  // for the fast shapes: the pattern text without % and escapes
  // General form: the pattern with escapes resolved into (char, is_wildcard) pairs.
  std::vector<std::pair<char, uint8_t>> tokens_;  // uint8_t: 0 literal, 1 '%', 2 '_'
};

class LikeNode final : public Node {
 public:
  // `constant` set: the pattern (and escape) were constants, prepared at compile time.
  LikeNode(bool negated, bool ignore_case, NodePtr e, NodePtr pattern, NodePtr escape,
           std::unique_ptr<LikePattern> constant)
      : negated_(negated), ignore_case_(ignore_case), e_(std::move(e)), pattern_(std::move(pattern)),
        escape_(std::move(escape)), constant_(std::move(constant)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  bool negated_, ignore_case_;
  NodePtr e_, pattern_, escape_;
  std::unique_ptr<LikePattern> constant_;
  LikePattern dynamic_;
  std::string dynamic_source_;
  bool dynamic_ready_ = false;
};

class CaseNode final : public Node {
 public:
  // operand set: simple CASE (compares operand = when). whens/thens pairwise; else_ may be null.
  CaseNode(NodePtr operand, std::vector<NodePtr> whens, std::vector<NodePtr> thens, NodePtr else_node)
      : operand_(std::move(operand)), whens_(std::move(whens)), thens_(std::move(thens)),
        else_(std::move(else_node)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr operand_;
  std::vector<NodePtr> whens_, thens_;
  NodePtr else_;
};

// COALESCE, IF and NULLIF evaluate lazily, so they are nodes rather than table functions.
class CoalesceNode final : public Node {
 public:
  explicit CoalesceNode(std::vector<NodePtr> kids) : kids_(std::move(kids)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  std::vector<NodePtr> kids_;
};

class IfNode final : public Node {
 public:
  IfNode(NodePtr c, NodePtr a, NodePtr b) : c_(std::move(c)), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr c_, a_, b_;
};

class NullIfNode final : public Node {
 public:
  NullIfNode(NodePtr a, NodePtr b) : a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  NodePtr a_, b_;
};

class CastNode final : public Node {
 public:
  CastNode(ValueType target, bool try_cast, NodePtr e) : target_(target), try_(try_cast), e_(std::move(e)) {}
  Value Eval(const Value& row, EvalContext& ctx) override;

 private:
  ValueType target_;
  bool try_;
  NodePtr e_;
  std::string error_;
};

class CallNode final : public Node {
 public:
  CallNode(const FunctionSpec* spec, std::vector<NodePtr> args)
      : spec_(spec), args_(std::move(args)), values_(args_.size()) {}
  Value Eval(const Value& row, EvalContext& ctx) override;
  CallState& state() { return state_; }

 private:
  const FunctionSpec* spec_;
  std::vector<NodePtr> args_;
  std::vector<Value> values_;  // argument values, reused across evaluations
  CallState state_;
};

}  // namespace sluice::rules::internal
