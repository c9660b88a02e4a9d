// Evaluator nodes for operators and special forms (functions live in functions.cc).
#include "rules/internal/nodes.h"

#include <fmt/format.h>

namespace sluice::rules::internal {

namespace {

std::string_view TypeName(const Value& v) { return model::ValueTypeName(v.type()); }

Value FromTri(Tri t) {
  switch (t) {
    case Tri::kFalse: return Value::Bool(false);
    case Tri::kTrue: return Value::Bool(true);
    default: return Value::Null();
  }
}

}  // namespace

Tri Node::EvalTruth(const Value& row, EvalContext& ctx, TruthUse use) {
  Value v = Eval(row, ctx);
  if (v.is_bool()) return static_cast<Tri>(v.bool_value());
  if (v.is_null()) return Tri::kNull;
  static constexpr std::string_view kOps[] = {"AND", "OR", "NOT"};
  if (use == TruthUse::kCondition) {
    Fail(ctx, fmt::format("condition must be boolean, got {}", TypeName(v)));
  } else {
    Fail(ctx, fmt::format("{} expects boolean operands, got {}", kOps[static_cast<int>(use)], TypeName(v)));
  }
  return Tri::kError;
}

Value PathNode::Eval(const Value& row, EvalContext&) {
  const Value* cur = &row;
  for (PathStep& s : steps_) {
    if (s.index >= 0) {
      if (!cur->is_array() || static_cast<uint64_t>(s.index) >= cur->items().size()) {
        return Value::Null();
      }
      cur = &cur->items()[s.index];
    } else {
      cur = FindMember(*cur, s.name, &s.hint);
      if (cur == nullptr) return Value::Null();
    }
  }
  return *cur;
}

Value MemberNode::Eval(const Value& row, EvalContext& ctx) {
  Value base = base_->Eval(row, ctx);
  const Value* v = base.Find(name_, &hint_);
  return v != nullptr ? *v : Value::Null();
}

Value IndexNode::Eval(const Value& row, EvalContext& ctx) {
  Value base = base_->Eval(row, ctx);
  Value index = index_->Eval(row, ctx);
  if (base.is_array() && index.is_int()) {
    int64_t i = index.int_value();
    if (i < 0 || static_cast<uint64_t>(i) >= base.items().size()) return Value::Null();
    return base.items()[i];
  }
  if (base.is_object() && index.is_string()) {
    const Value* v = base.Find(index.string_value());
    return v != nullptr ? *v : Value::Null();
  }
  return Value::Null();
}

Value NegNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  if (v.is_null()) return v;
  if (v.is_int()) {
    if (v.int_value() == INT64_MIN) return Fail(ctx, "integer overflow in unary -");
    return Value::Int(-v.int_value());
  }
  if (v.is_double()) return Value::Double(-v.double_value());
  return Fail(ctx, fmt::format("unary '-' cannot be applied to {}", TypeName(v)));
}

Value ConcatNode::Eval(const Value& row, EvalContext& ctx) {
  Value a = a_->Eval(row, ctx);
  Value b = b_->Eval(row, ctx);
  if (a.is_null() || b.is_null()) return Value::Null();
  scratch_.clear();
  AppendText(scratch_, a);
  AppendText(scratch_, b);
  return MakeString(ctx, scratch_);
}

Value CmpResult(CmpOp op, Cmp c, const Value& a, const Value& b, EvalContext& ctx) {
  if (c == Cmp::kIncomparable) {
    return Fail(ctx, fmt::format("cannot compare {} with {}", TypeName(a), TypeName(b)));
  }
  if (c == Cmp::kUnequal || ((a.is_array() || a.is_object()) && op != CmpOp::kEq && op != CmpOp::kNe)) {
    if (op == CmpOp::kEq) return Value::Bool(false);
    if (op == CmpOp::kNe) return Value::Bool(true);
    return Fail(ctx, fmt::format("cannot order {} values", TypeName(a)));
  }
  int v = static_cast<int>(c);
  switch (op) {
    case CmpOp::kEq: return Value::Bool(v == 0);
    case CmpOp::kNe: return Value::Bool(v != 0);
    case CmpOp::kLt: return Value::Bool(v < 0);
    case CmpOp::kLe: return Value::Bool(v <= 0);
    case CmpOp::kGt: return Value::Bool(v > 0);
    case CmpOp::kGe: return Value::Bool(v >= 0);
  }
  return Value::Null();
}

NodePtr MakeCompareFieldConst(CmpOp op, std::string name, Value c) {
  switch (op) {
    case CmpOp::kEq: return std::make_unique<CompareFieldConstNode<CmpOp::kEq>>(std::move(name), c);
    case CmpOp::kNe: return std::make_unique<CompareFieldConstNode<CmpOp::kNe>>(std::move(name), c);
    case CmpOp::kLt: return std::make_unique<CompareFieldConstNode<CmpOp::kLt>>(std::move(name), c);
    case CmpOp::kLe: return std::make_unique<CompareFieldConstNode<CmpOp::kLe>>(std::move(name), c);
    case CmpOp::kGt: return std::make_unique<CompareFieldConstNode<CmpOp::kGt>>(std::move(name), c);
    case CmpOp::kGe: return std::make_unique<CompareFieldConstNode<CmpOp::kGe>>(std::move(name), c);
  }
  return nullptr;
}

Tri AndNode::EvalTruth(const Value& row, EvalContext& ctx, TruthUse) {
  bool saw_null = false;
  for (NodePtr& k : kids_) {
    switch (k->EvalTruth(row, ctx, TruthUse::kAnd)) {
      case Tri::kFalse: return Tri::kFalse;
      case Tri::kNull: saw_null = true; break;
      case Tri::kError: return Tri::kError;
      case Tri::kTrue: break;
    }
  }
  return saw_null ? Tri::kNull : Tri::kTrue;
}
Value AndNode::Eval(const Value& row, EvalContext& ctx) { return FromTri(EvalTruth(row, ctx, TruthUse::kAnd)); }

Tri OrNode::EvalTruth(const Value& row, EvalContext& ctx, TruthUse) {
  bool saw_null = false;
  for (NodePtr& k : kids_) {
    switch (k->EvalTruth(row, ctx, TruthUse::kOr)) {
      case Tri::kTrue: return Tri::kTrue;
      case Tri::kNull: saw_null = true; break;
      case Tri::kError: return Tri::kError;
      case Tri::kFalse: break;
    }
  }
  return saw_null ? Tri::kNull : Tri::kFalse;
}
Value OrNode::Eval(const Value& row, EvalContext& ctx) { return FromTri(EvalTruth(row, ctx, TruthUse::kOr)); }

Tri NotNode::EvalTruth(const Value& row, EvalContext& ctx, TruthUse) {
  Tri t = e_->EvalTruth(row, ctx, TruthUse::kNot);
  if (t == Tri::kFalse) return Tri::kTrue;
  if (t == Tri::kTrue) return Tri::kFalse;
  return t;
}
Value NotNode::Eval(const Value& row, EvalContext& ctx) { return FromTri(EvalTruth(row, ctx, TruthUse::kNot)); }

Value IsNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  bool r = false;
  switch (what_) {
    case What::kNull: r = v.is_null(); break;
    case What::kTrue: r = v.is_bool() && v.bool_value(); break;
    case What::kFalse: r = v.is_bool() && !v.bool_value(); break;
  }
  return Value::Bool(r != negated_);
}

Value DistinctNode::Eval(const Value& row, EvalContext& ctx) {
  Value a = a_->Eval(row, ctx);
  Value b = b_->Eval(row, ctx);
  bool distinct;
  if (a.is_null() || b.is_null()) {
    distinct = a.is_null() != b.is_null();
  } else {
    distinct = CompareValues(a, b) != Cmp::kEqual;
  }
  return Value::Bool(distinct != negated_);
}

InNode::InNode(bool negated, NodePtr e, std::vector<NodePtr> items)
    : negated_(negated), e_(std::move(e)), items_(std::move(items)) {
  ValueType type = ValueType::kNull;
  size_t count = 0;
  for (const NodePtr& item : items_) {
    const Value* c = item->constant();
    if (c == nullptr) return;
    if (c->is_null()) continue;
    if ((type != ValueType::kNull && c->type() != type) || (!c->is_int() && !c->is_string())) return;
    type = c->type();
    ++count;
  }
  if (count < kMinSetSize) return;
  for (const NodePtr& item : items_) {
    const Value* c = item->constant();
    if (c->is_null()) {
      set_has_null_ = true;
    } else if (c->is_int()) {
      int_set_.insert(c->int_value());
    } else {
      string_set_.insert(c->string_value());
    }
  }
  set_type_ = type;
}

Value InNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  if (v.is_null()) return v;
  if (v.type() == set_type_) {
    bool found = v.is_int() ? int_set_.contains(v.int_value()) : string_set_.contains(v.string_value());
    if (found) return Value::Bool(!negated_);
    return set_has_null_ ? Value::Null() : Value::Bool(negated_);
  }
  bool saw_null = false;
  for (NodePtr& item : items_) {
    Value x = item->Eval(row, ctx);
    if (x.is_null()) {
      saw_null = true;
      continue;
    }
    Cmp c = CompareValues(v, x);
    if (c == Cmp::kEqual) return Value::Bool(!negated_);
    if (c == Cmp::kIncomparable) {
      return Fail(ctx, fmt::format("IN: cannot compare {} with {}", TypeName(v), TypeName(x)));
    }
  }
  if (saw_null) return Value::Null();
  return Value::Bool(negated_);
}

Value BetweenNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  Value lo = lo_->Eval(row, ctx);
  Value hi = hi_->Eval(row, ctx);
  if (v.is_null()) return v;
  Value ge = lo.is_null() ? Value::Null() : CmpResult(CmpOp::kGe, CompareValues(v, lo), v, lo, ctx);
  Value le = hi.is_null() ? Value::Null() : CmpResult(CmpOp::kLe, CompareValues(v, hi), v, hi, ctx);
  Value r;
  if ((ge.is_bool() && !ge.bool_value()) || (le.is_bool() && !le.bool_value())) {
    r = Value::Bool(false);
  } else if (ge.is_null() || le.is_null()) {
    return Value::Null();
  } else {
    r = Value::Bool(true);
  }
  return Value::Bool(r.bool_value() != negated_);
}

// --- LIKE ---

namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

size_t NextChar(std::string_view s, size_t i) {
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

}  // namespace

bool LikePattern::Prepare(std::string_view pattern, std::string_view escape, bool has_escape,
                          bool ignore_case, std::string* error) {
  ignore_case_ = ignore_case;
  tokens_.clear();
  literal_.clear();
  if (has_escape && escape.size() > 1) {
    *error = fmt::format("LIKE ESCAPE must be one character, got '{}'", escape);
    return false;
  }
  char esc = has_escape ? (escape.empty() ? '\0' : escape[0]) : '\\';
  bool esc_enabled = !has_escape || !escape.empty();
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (esc_enabled && c == esc) {
      if (i + 1 >= pattern.size()) {
        *error = "LIKE pattern must not end with the escape character";
        return false;
      }
      tokens_.push_back({pattern[++i], 0});
    } else if (c == '%') {
      if (tokens_.empty() || tokens_.back().second != 1) tokens_.push_back({c, 1});
    } else if (c == '_') {
      tokens_.push_back({c, 2});
    } else {
      tokens_.push_back({ignore_case ? Lower(c) : c, 0});
    }
  }
  shape_ = Shape::kGeneral;
  if (ignore_case) return true;
  size_t n = tokens_.size();
  bool lead = n > 0 && tokens_[0].second == 1;
  bool trail = n > 0 && tokens_[n - 1].second == 1;
  if (n == 1 && lead) {
    shape_ = Shape::kAny;
    return true;
  }
  size_t begin = lead ? 1 : 0, end = trail ? n - 1 : n;
  for (size_t i = begin; i < end; ++i) {
    if (tokens_[i].second != 0) return true;  // general
    literal_ += tokens_[i].first;
  }
  shape_ = lead ? (trail ? Shape::kContains : Shape::kSuffix) : (trail ? Shape::kPrefix : Shape::kExact);
  return true;
}

bool LikePattern::Matches(std::string_view s) const {
  switch (shape_) {
    case Shape::kExact: return s == literal_;
    case Shape::kPrefix: return s.starts_with(literal_);
    case Shape::kSuffix: return s.ends_with(literal_);
    case Shape::kContains: return s.find(literal_) != std::string_view::npos;
    case Shape::kAny: return true;
    case Shape::kGeneral: break;
  }
  // Greedy match with backtracking to the last '%': O(len(s) * len(pattern)) at worst.
  const size_t n = tokens_.size();
  size_t p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;
  while (i < s.size()) {
    if (p < n && tokens_[p].second == 2) {
      i = NextChar(s, i);
      ++p;
    } else if (p < n && tokens_[p].second == 0 &&
               tokens_[p].first == (ignore_case_ ? Lower(s[i]) : s[i])) {
      ++i;
      ++p;
    } else if (p < n && tokens_[p].second == 1) {
      star_p = p++;
      star_i = i;
    } else if (star_p != SIZE_MAX) {
      p = star_p + 1;
      star_i = NextChar(s, star_i);
      i = star_i;
    } else {
      return false;
    }
  }
  while (p < n && tokens_[p].second == 1) ++p;
  return p == n;
}

Value LikeNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  const LikePattern* pattern = constant_.get();
  if (pattern == nullptr) {
    Value p = pattern_->Eval(row, ctx);
    Value esc = escape_ ? escape_->Eval(row, ctx) : Value::Null();
    if (v.is_null() || p.is_null() || (escape_ && esc.is_null())) return Value::Null();
    if (!p.is_string() || (escape_ && !esc.is_string())) {
      return Fail(ctx, fmt::format("LIKE pattern must be a string, got {}", TypeName(p)));
    }
    // Re-prepare only when the pattern changes (dynamic patterns are usually per-key constants).
    if (!dynamic_ready_ || dynamic_source_ != p.string_value() || escape_) {
      std::string error;
      if (!dynamic_.Prepare(p.string_value(), escape_ ? esc.string_value() : "", escape_ != nullptr,
                            ignore_case_, &error)) {
        dynamic_ready_ = false;
        return Fail(ctx, error);
      }
      dynamic_source_.assign(p.string_value());
      dynamic_ready_ = true;
    }
    pattern = &dynamic_;
  }
  if (v.is_null()) return v;
  if (!v.is_string()) return Fail(ctx, fmt::format("LIKE expects a string, got {}", TypeName(v)));
  return Value::Bool(pattern->Matches(v.string_value()) != negated_);
}

// --- conditionals and casts ---

Value CaseNode::Eval(const Value& row, EvalContext& ctx) {
  if (operand_) {
    Value op = operand_->Eval(row, ctx);
    for (size_t i = 0; i < whens_.size(); ++i) {
      if (op.is_null()) break;
      Value w = whens_[i]->Eval(row, ctx);
      if (w.is_null()) continue;
      Cmp c = CompareValues(op, w);
      if (c == Cmp::kIncomparable) {
        return Fail(ctx, fmt::format("CASE: cannot compare {} with {}", TypeName(op), TypeName(w)));
      }
      if (c == Cmp::kEqual) return thens_[i]->Eval(row, ctx);
    }
  } else {
    for (size_t i = 0; i < whens_.size(); ++i) {
      Value w = whens_[i]->Eval(row, ctx);
      if (w.is_bool()) {
        if (w.bool_value()) return thens_[i]->Eval(row, ctx);
      } else if (!w.is_null()) {
        return Fail(ctx, fmt::format("CASE WHEN condition must be boolean, got {}", TypeName(w)));
      }
    }
  }
  return else_ ? else_->Eval(row, ctx) : Value::Null();
}

Value CoalesceNode::Eval(const Value& row, EvalContext& ctx) {
  for (NodePtr& k : kids_) {
    Value v = k->Eval(row, ctx);
    if (!v.is_null()) return v;
  }
  return Value::Null();
}

Value IfNode::Eval(const Value& row, EvalContext& ctx) {
  Value c = c_->Eval(row, ctx);
  if (!c.is_bool() && !c.is_null()) {
    return Fail(ctx, fmt::format("if() condition must be boolean, got {}", TypeName(c)));
  }
  return (c.is_bool() && c.bool_value()) ? a_->Eval(row, ctx) : b_->Eval(row, ctx);
}

Value NullIfNode::Eval(const Value& row, EvalContext& ctx) {
  Value a = a_->Eval(row, ctx);
  Value b = b_->Eval(row, ctx);
  if (a.is_null() || b.is_null()) return a;
  Cmp c = CompareValues(a, b);
  if (c == Cmp::kIncomparable) {
    return Fail(ctx, fmt::format("nullif(): cannot compare {} with {}", TypeName(a), TypeName(b)));
  }
  return c == Cmp::kEqual ? Value::Null() : a;
}

Value CastNode::Eval(const Value& row, EvalContext& ctx) {
  Value v = e_->Eval(row, ctx);
  Value out;
  if (CastValue(v, target_, ctx, &out, &error_)) return out;
  return try_ ? Value::Null() : Fail(ctx, error_);
}

// --- function calls ---

Value CallNode::Eval(const Value& row, EvalContext& ctx) {
  const int n = static_cast<int>(args_.size());
  for (int i = 0; i < n; ++i) {
    Value v = args_[i]->Eval(row, ctx);
    if (v.is_null()) {
      if (spec_->null_in_null_out) return v;
    } else if ((spec_->ArgTypes(i) & Bit(v.type())) == 0) {
      return Fail(ctx, fmt::format("{}(): argument {} must be {}, got {}", spec_->name, i + 1,
                                   DescribeTypes(spec_->ArgTypes(i)), TypeName(v)));
    }
    values_[i] = v;
  }
  return spec_->impl(values_.data(), n, state_, ctx);
}

const RE2* CallState::Regex(const Value& p, EvalContext& ctx) {
  if (regex != nullptr) return regex;
  if (!p.is_string()) {
    Fail(ctx, fmt::format("regular expression must be a string, got {}", TypeName(p)));
    return nullptr;
  }
  if (owned_regex == nullptr || regex_source != p.string_value()) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(re2::StringPiece(p.string_value().data(), p.string_value().size()),
                                    options);
    if (!re->ok()) {
      Fail(ctx, fmt::format("invalid regular expression '{}': {}", p.string_value(), re->error()));
      return nullptr;
    }
    owned_regex = std::move(re);
    regex_source.assign(p.string_value());
  }
  return owned_regex.get();
}

}  // namespace sluice::rules::internal
