// Recursive-descent parser for the expression language. Precedence, lowest first: OR, AND, NOT,
// predicates (comparisons, IS, IN, BETWEEN, LIKE, RLIKE), ||, + -, * / %, unary -, postfix . [].
#include "rules/internal/parser.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "rules/internal/lexer.h"

namespace sluice::rules::internal {
namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

constexpr std::string_view kReserved[] = {
    "AND",  "OR",   "NOT",  "IN",   "IS",       "NULL",   "TRUE", "FALSE",  "BETWEEN",
    "LIKE", "ILIKE", "RLIKE", "REGEXP", "CASE", "WHEN",  "THEN", "ELSE",   "END",
    "CAST", "TRY_CAST", "AS", "ESCAPE", "DISTINCT", "FROM", "INTERVAL", "FOR"};

bool IsReserved(std::string_view s) {
  for (std::string_view k : kReserved) {
    if (IEquals(s, k)) return true;
  }
  return false;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens, int max_depth)
      : text_(text), tokens_(std::move(tokens)), max_depth_(max_depth) {}

  Result<AstPtr> ParseAll() {
    SLUICE_ASSIGN_OR_RETURN(AstPtr e, ParseOr());
    if (Peek().kind != TokenKind::kEnd) {
      return Error(Peek(), fmt::format("unexpected {} after the end of the expression",
                                       Describe(Peek())));
    }
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kOp && t.text == op;
  }
  bool IsKw(std::string_view kw, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kIdent && IEquals(t.text, kw);
  }
  bool AcceptOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AcceptKw(std::string_view kw) {
    if (!IsKw(kw)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd: return "end of expression";
      case TokenKind::kString: return fmt::format("string '{}'", t.text);
      case TokenKind::kQuotedIdent: return fmt::format("name `{}`", t.text);
      default: return fmt::format("'{}'", t.text);
    }
  }
  Status Error(const Token& t, std::string_view message) const {
    return ErrorAt(text_, t.pos, message);
  }
  Status ExpectOp(std::string_view op, std::string_view after) {
    if (AcceptOp(op)) return Status::Ok();
    return Error(Peek(), fmt::format("expected '{}' after {}, got {}", op, after, Describe(Peek())));
  }
  Status ExpectKw(std::string_view kw, std::string_view after) {
    if (AcceptKw(kw)) return Status::Ok();
    return Error(Peek(), fmt::format("expected {} after {}, got {}", kw, after, Describe(Peek())));
  }

  // Builds a node over `kids`, enforcing the depth bound.
  Result<AstPtr> Make(AstKind kind, uint32_t pos, std::vector<AstPtr> kids) {
    auto a = std::make_unique<Ast>();
    a->kind = kind;
    a->pos = pos;
    int depth = 0;
    for (const AstPtr& k : kids) depth = std::max(depth, k->depth);
    a->depth = depth + 1;
    a->kids = std::move(kids);
    if (a->depth > max_depth_) {
      return ErrorAt(text_, pos, fmt::format("expression nested deeper than {} levels", max_depth_));
    }
    return a;
  }
  static std::vector<AstPtr> Kids(AstPtr a, AstPtr b = nullptr, AstPtr c = nullptr) {
    std::vector<AstPtr> v;
    v.push_back(std::move(a));
    if (b) v.push_back(std::move(b));
    if (c) v.push_back(std::move(c));
    return v;
  }

  // Guards recursion (parentheses, NOT and unary minus chains).
  struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    int& d_;
  };
  Status CheckDepth() {
    if (recursion_ > max_depth_) {
      return Error(Peek(), fmt::format("expression nested deeper than {} levels", max_depth_));
    }
    return Status::Ok();
  }

  Result<AstPtr> ParseOr() {
    DepthGuard g(recursion_);
    SLUICE_RETURN_IF_ERROR(CheckDepth());
    SLUICE_ASSIGN_OR_RETURN(AstPtr left, ParseAnd());
    if (!IsKw("OR")) return left;
    uint32_t pos = Peek().pos;
    std::vector<AstPtr> kids;
    kids.push_back(std::move(left));
    while (AcceptKw("OR")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr right, ParseAnd());
      kids.push_back(std::move(right));
    }
    return Make(AstKind::kOr, pos, std::move(kids));
  }

  Result<AstPtr> ParseAnd() {
    SLUICE_ASSIGN_OR_RETURN(AstPtr left, ParseNot());
    if (!IsKw("AND")) return left;
    uint32_t pos = Peek().pos;
    std::vector<AstPtr> kids;
    kids.push_back(std::move(left));
    while (AcceptKw("AND")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr right, ParseNot());
      kids.push_back(std::move(right));
    }
    return Make(AstKind::kAnd, pos, std::move(kids));
  }

  Result<AstPtr> ParseNot() {
    if (!IsKw("NOT")) return ParsePredicate();
    DepthGuard g(recursion_);
    SLUICE_RETURN_IF_ERROR(CheckDepth());
    uint32_t pos = Next().pos;
    SLUICE_ASSIGN_OR_RETURN(AstPtr operand, ParseNot());
    return Make(AstKind::kNot, pos, Kids(std::move(operand)));
  }

  Result<AstPtr> ParsePredicate() {
    SLUICE_ASSIGN_OR_RETURN(AstPtr left, ParseConcat());
    while (true) {
      const Token& t = Peek();
      if (t.kind == TokenKind::kOp &&
          (t.text == "=" || t.text == "<>" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
           t.text == ">" || t.text == ">=")) {
        Token op = Next();
        SLUICE_ASSIGN_OR_RETURN(AstPtr right, ParseConcat());
        SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kBinary, op.pos, Kids(std::move(left), std::move(right))));
        left->text = op.text == "!=" ? "<>" : op.text;
        continue;
      }
      if (IsKw("IS")) {
        uint32_t pos = Next().pos;
        bool negated = AcceptKw("NOT");
        AstPtr node;
        if (AcceptKw("NULL")) {
          SLUICE_ASSIGN_OR_RETURN(node, Make(AstKind::kIsNull, pos, Kids(std::move(left))));
        } else if (IsKw("TRUE") || IsKw("FALSE")) {
          bool value = IsKw("TRUE");
          Next();
          SLUICE_ASSIGN_OR_RETURN(node, Make(AstKind::kIsBool, pos, Kids(std::move(left))));
          node->bool_value = value;
        } else if (AcceptKw("DISTINCT")) {
          SLUICE_RETURN_IF_ERROR(ExpectKw("FROM", "IS DISTINCT"));
          SLUICE_ASSIGN_OR_RETURN(AstPtr right, ParseConcat());
          SLUICE_ASSIGN_OR_RETURN(node, Make(AstKind::kDistinct, pos, Kids(std::move(left), std::move(right))));
        } else {
          return Error(Peek(), fmt::format("expected NULL, TRUE, FALSE or DISTINCT FROM after IS, got {}",
                                           Describe(Peek())));
        }
        node->negated = negated;
        left = std::move(node);
        continue;
      }
      bool negated = false;
      size_t ahead = 0;
      if (IsKw("NOT") && (IsKw("IN", 1) || IsKw("BETWEEN", 1) || IsKw("LIKE", 1) ||
                          IsKw("ILIKE", 1) || IsKw("RLIKE", 1) || IsKw("REGEXP", 1))) {
        negated = true;
        ahead = 1;
      }
      if (IsKw("IN", ahead)) {
        if (negated) Next();
        uint32_t pos = Next().pos;
        SLUICE_RETURN_IF_ERROR(ExpectOp("(", "IN"));
        std::vector<AstPtr> kids;
        kids.push_back(std::move(left));
        do {
          SLUICE_ASSIGN_OR_RETURN(AstPtr item, ParseOr());
          kids.push_back(std::move(item));
        } while (AcceptOp(","));
        SLUICE_RETURN_IF_ERROR(ExpectOp(")", "the IN list"));
        SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kIn, pos, std::move(kids)));
        left->negated = negated;
        continue;
      }
      if (IsKw("BETWEEN", ahead)) {
        if (negated) Next();
        uint32_t pos = Next().pos;
        SLUICE_ASSIGN_OR_RETURN(AstPtr low, ParseConcat());
        SLUICE_RETURN_IF_ERROR(ExpectKw("AND", "the lower bound of BETWEEN"));
        SLUICE_ASSIGN_OR_RETURN(AstPtr high, ParseConcat());
        SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kBetween, pos, Kids(std::move(left), std::move(low), std::move(high))));
        left->negated = negated;
        continue;
      }
      if (IsKw("LIKE", ahead) || IsKw("ILIKE", ahead)) {
        if (negated) Next();
        const Token& op = Next();
        uint32_t pos = op.pos;
        std::string name = IEquals(op.text, "LIKE") ? "LIKE" : "ILIKE";
        SLUICE_ASSIGN_OR_RETURN(AstPtr pattern, ParseConcat());
        AstPtr escape;
        if (AcceptKw("ESCAPE")) {
          SLUICE_ASSIGN_OR_RETURN(escape, ParseConcat());
        }
        SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kLike, pos, Kids(std::move(left), std::move(pattern), std::move(escape))));
        left->negated = negated;
        left->text = name;
        continue;
      }
      if (IsKw("RLIKE", ahead) || IsKw("REGEXP", ahead)) {
        if (negated) Next();
        uint32_t pos = Next().pos;
        SLUICE_ASSIGN_OR_RETURN(AstPtr pattern, ParseConcat());
        SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kRlike, pos, Kids(std::move(left), std::move(pattern))));
        left->negated = negated;
        continue;
      }
      return left;
    }
  }

  Result<AstPtr> ParseBinaryLevel(int level) {
    // level 0: ||, 1: + -, 2: * / %
    static constexpr std::string_view kOps[3][3] = {{"||", "", ""}, {"+", "-", ""}, {"*", "/", "%"}};
    auto next = [&]() -> Result<AstPtr> {
      return level == 2 ? ParseUnary() : ParseBinaryLevel(level + 1);
    };
    SLUICE_ASSIGN_OR_RETURN(AstPtr left, next());
    while (true) {
      const Token& t = Peek();
      if (t.kind != TokenKind::kOp) return left;
      bool match = false;
      for (std::string_view op : kOps[level]) match = match || (!op.empty() && t.text == op);
      if (!match) return left;
      Token op = Next();
      SLUICE_ASSIGN_OR_RETURN(AstPtr right, next());
      SLUICE_ASSIGN_OR_RETURN(left, Make(AstKind::kBinary, op.pos, Kids(std::move(left), std::move(right))));
      left->text = op.text;
    }
  }
  Result<AstPtr> ParseConcat() { return ParseBinaryLevel(0); }

  Result<AstPtr> ParseUnary() {
    if (IsOp("-") || IsOp("+")) {
      DepthGuard g(recursion_);
      SLUICE_RETURN_IF_ERROR(CheckDepth());
      const Token& op = Next();
      bool minus = op.text == "-";
      uint32_t pos = op.pos;
      SLUICE_ASSIGN_OR_RETURN(AstPtr operand, ParseUnary());
      if (!minus) return operand;
      // Fold negative literals here so -9223372036854775808 stays an integer.
      if (operand->kind == AstKind::kInt && operand->int_value != INT64_MIN) {
        operand->int_value = -operand->int_value;
        operand->pos = pos;
        return operand;
      }
      if (operand->kind == AstKind::kDouble) {
        if (operand->double_value == 9223372036854775808.0 && operand->text == "9223372036854775808") {
          operand->kind = AstKind::kInt;
          operand->int_value = INT64_MIN;
        } else {
          operand->double_value = -operand->double_value;
        }
        operand->pos = pos;
        return operand;
      }
      return Make(AstKind::kNeg, pos, Kids(std::move(operand)));
    }
    return ParsePostfix();
  }

  Result<AstPtr> ParsePostfix() {
    SLUICE_ASSIGN_OR_RETURN(AstPtr e, ParsePrimary());
    while (true) {
      if (IsOp(".")) {
        Next();
        const Token& name = Peek();
        if (name.kind != TokenKind::kIdent && name.kind != TokenKind::kQuotedIdent) {
          return Error(name, fmt::format("expected a field name after '.', got {}", Describe(name)));
        }
        Next();
        SLUICE_ASSIGN_OR_RETURN(e, Make(AstKind::kMember, name.pos, Kids(std::move(e))));
        e->text = name.text;
      } else if (IsOp("[")) {
        uint32_t pos = Next().pos;
        SLUICE_ASSIGN_OR_RETURN(AstPtr index, ParseOr());
        SLUICE_RETURN_IF_ERROR(ExpectOp("]", "the index"));
        SLUICE_ASSIGN_OR_RETURN(e, Make(AstKind::kIndex, pos, Kids(std::move(e), std::move(index))));
      } else {
        return e;
      }
    }
  }

  Result<AstPtr> Leaf(AstKind kind, const Token& t) { return Make(kind, t.pos, {}); }

  Result<AstPtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kEnd:
        return Error(t, "unexpected end of expression, expected a value");
      case TokenKind::kInt: {
        Token tok = Next();
        SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kInt, tok));
        a->int_value = tok.int_value;
        return a;
      }
      case TokenKind::kDouble: {
        Token tok = Next();
        SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kDouble, tok));
        a->double_value = tok.double_value;
        a->text = tok.text;
        return a;
      }
      case TokenKind::kString: {
        Token tok = Next();
        SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kString, tok));
        a->text = tok.text;
        return a;
      }
      case TokenKind::kQuotedIdent: {
        Token tok = Next();
        SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kField, tok));
        a->text = tok.text;
        return a;
      }
      case TokenKind::kOp: {
        if (t.text == "(") {
          Next();
          SLUICE_ASSIGN_OR_RETURN(AstPtr e, ParseOr());
          SLUICE_RETURN_IF_ERROR(ExpectOp(")", "the parenthesised expression"));
          return e;
        }
        return Error(t, fmt::format("unexpected {}, expected a value", Describe(t)));
      }
      case TokenKind::kIdent: break;
    }
    if (IsKw("NULL")) return Leaf(AstKind::kNull, Next());
    if (IsKw("TRUE") || IsKw("FALSE")) {
      bool value = IsKw("TRUE");
      SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kBool, Next()));
      a->bool_value = value;
      return a;
    }
    if (IsKw("CASE")) return ParseCase();
    if ((IsKw("CAST") || IsKw("TRY_CAST")) && IsOp("(", 1)) return ParseCast();
    if (IsKw("EXTRACT") && IsOp("(", 1)) return ParseExtract();
    if (IsKw("INTERVAL")) return ParseInterval();
    if (IsKw("CURRENT_TIMESTAMP") && !IsOp("(", 1)) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kCall, Next()));
      a->text = "now";
      return a;
    }
    if (IsOp("(", 1)) return ParseCall();
    if (IsReserved(t.text)) {
      return Error(t, fmt::format("unexpected keyword {}, expected a value (write `{}` for a field "
                                  "with that name)", Describe(t), t.text));
    }
    Token tok = Next();
    SLUICE_ASSIGN_OR_RETURN(AstPtr a, Leaf(AstKind::kField, tok));
    a->text = tok.text;
    return a;
  }

  Result<AstPtr> ParseCase() {
    uint32_t pos = Next().pos;
    std::vector<AstPtr> kids;
    bool simple = false;
    if (!IsKw("WHEN")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr operand, ParseOr());
      kids.push_back(std::move(operand));
      simple = true;
    }
    if (!IsKw("WHEN")) {
      return Error(Peek(), fmt::format("expected WHEN after CASE, got {}", Describe(Peek())));
    }
    while (AcceptKw("WHEN")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr when, ParseOr());
      SLUICE_RETURN_IF_ERROR(ExpectKw("THEN", "the WHEN condition"));
      SLUICE_ASSIGN_OR_RETURN(AstPtr then, ParseOr());
      kids.push_back(std::move(when));
      kids.push_back(std::move(then));
    }
    bool has_else = false;
    if (AcceptKw("ELSE")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr e, ParseOr());
      kids.push_back(std::move(e));
      has_else = true;
    }
    SLUICE_RETURN_IF_ERROR(ExpectKw("END", "the CASE branches"));
    SLUICE_ASSIGN_OR_RETURN(AstPtr a, Make(AstKind::kCase, pos, std::move(kids)));
    a->simple_case = simple;
    a->has_else = has_else;
    return a;
  }

  Result<AstPtr> ParseCast() {
    const Token& kw = Next();
    bool try_cast = IEquals(kw.text, "TRY_CAST");
    uint32_t pos = kw.pos;
    Next();  // (
    SLUICE_ASSIGN_OR_RETURN(AstPtr operand, ParseOr());
    SLUICE_RETURN_IF_ERROR(ExpectKw("AS", "the CAST operand"));
    const Token& type = Peek();
    if (type.kind != TokenKind::kIdent) {
      return Error(type, fmt::format("expected a type name after AS, got {}", Describe(type)));
    }
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {"BIGINT", "BIGINT"},   {"INT", "BIGINT"},         {"INTEGER", "BIGINT"},
        {"SMALLINT", "BIGINT"}, {"TINYINT", "BIGINT"},     {"LONG", "BIGINT"},
        {"DOUBLE", "DOUBLE"},   {"FLOAT", "DOUBLE"},       {"REAL", "DOUBLE"},
        {"DECIMAL", "DOUBLE"},  {"NUMERIC", "DOUBLE"},     {"STRING", "STRING"},
        {"VARCHAR", "STRING"},  {"TEXT", "STRING"},        {"CHAR", "STRING"},
        {"BOOLEAN", "BOOLEAN"}, {"BOOL", "BOOLEAN"},       {"TIMESTAMP", "TIMESTAMP"}};
    std::string canonical;
    for (auto [name, canon] : kTypes) {
      if (IEquals(type.text, name)) canonical = canon;
    }
    if (canonical.empty()) {
      return Error(type, fmt::format("unknown type '{}' in CAST (expected BIGINT, INT, DOUBLE, "
                                     "STRING, VARCHAR, BOOLEAN or TIMESTAMP)", type.text));
    }
    Next();
    if (canonical == "DOUBLE" && IsKw("PRECISION")) Next();
    SLUICE_RETURN_IF_ERROR(ExpectOp(")", "the CAST type"));
    SLUICE_ASSIGN_OR_RETURN(AstPtr a, Make(AstKind::kCast, pos, Kids(std::move(operand))));
    a->text = canonical;
    a->bool_value = try_cast;
    return a;
  }

  Result<AstPtr> ParseExtract() {
    uint32_t pos = Next().pos;
    Next();  // (
    const Token& unit = Peek();
    if (unit.kind != TokenKind::kIdent && unit.kind != TokenKind::kString) {
      return Error(unit, fmt::format("expected a unit (YEAR, MONTH, DAY, ...) after EXTRACT(, got {}",
                                     Describe(unit)));
    }
    Token unit_tok = Next();
    SLUICE_RETURN_IF_ERROR(ExpectKw("FROM", "the EXTRACT unit"));
    SLUICE_ASSIGN_OR_RETURN(AstPtr operand, ParseOr());
    SLUICE_RETURN_IF_ERROR(ExpectOp(")", "the EXTRACT operand"));
    SLUICE_ASSIGN_OR_RETURN(AstPtr unit_ast, Leaf(AstKind::kString, unit_tok));
    unit_ast->text = Lower(unit_tok.text);
    SLUICE_ASSIGN_OR_RETURN(AstPtr a, Make(AstKind::kCall, pos, Kids(std::move(unit_ast), std::move(operand))));
    a->text = "extract";
    return a;
  }

  Result<AstPtr> ParseInterval() {
    uint32_t pos = Next().pos;
    const Token& amount = Peek();
    double value = 0;
    if (amount.kind == TokenKind::kString) {
      char* end = nullptr;
      value = std::strtod(amount.text.c_str(), &end);
      if (amount.text.empty() || end != amount.text.c_str() + amount.text.size()) {
        return Error(amount, fmt::format("invalid INTERVAL amount '{}' (expected a number)", amount.text));
      }
    } else if (amount.kind == TokenKind::kInt) {
      value = static_cast<double>(amount.int_value);
    } else if (amount.kind == TokenKind::kDouble) {
      value = amount.double_value;
    } else {
      return Error(amount, fmt::format("expected an amount after INTERVAL, got {}", Describe(amount)));
    }
    Next();
    const Token& unit = Peek();
    static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
        {"MILLISECOND", 1},       {"MILLISECONDS", 1},     {"SECOND", 1000},
        {"SECONDS", 1000},        {"MINUTE", 60'000},      {"MINUTES", 60'000},
        {"HOUR", 3'600'000},      {"HOURS", 3'600'000},    {"DAY", 86'400'000},
        {"DAYS", 86'400'000},     {"WEEK", 604'800'000},   {"WEEKS", 604'800'000}};
    int64_t factor = 0;
    if (unit.kind == TokenKind::kIdent) {
      for (auto [name, f] : kUnits) {
        if (IEquals(unit.text, name)) factor = f;
      }
    }
    if (factor == 0) {
      return Error(unit, fmt::format("expected an INTERVAL unit (MILLISECOND, SECOND, MINUTE, HOUR, "
                                     "DAY or WEEK), got {}", Describe(unit)));
    }
    Next();
    double ms = std::round(value * static_cast<double>(factor));
    if (!(std::fabs(ms) < 9.2e18)) return ErrorAt(text_, pos, "INTERVAL out of range");
    auto a = std::make_unique<Ast>();
    a->kind = AstKind::kInt;
    a->pos = pos;
    a->int_value = static_cast<int64_t>(ms);
    return a;
  }

  Result<AstPtr> ParseCall() {
    Token name = Next();
    Next();  // (
    std::string lower = Lower(name.text);
    std::vector<AstPtr> args;
    if (!IsOp(")")) {
      if (lower == "position") {
        // POSITION(sub IN s) as well as position(sub, s).
        SLUICE_ASSIGN_OR_RETURN(AstPtr sub, ParseConcat());
        args.push_back(std::move(sub));
        if (AcceptKw("IN") || AcceptOp(",")) {
          SLUICE_ASSIGN_OR_RETURN(AstPtr s, ParseOr());
          args.push_back(std::move(s));
        }
      } else {
        bool substring = lower == "substring" || lower == "substr";
        do {
          SLUICE_ASSIGN_OR_RETURN(AstPtr arg, ParseOr());
          args.push_back(std::move(arg));
        } while (AcceptOp(",") || (substring && (AcceptKw("FROM") || AcceptKw("FOR"))));
      }
    }
    SLUICE_RETURN_IF_ERROR(
        ExpectOp(")", fmt::format("the arguments of {}(", name.text)));
    SLUICE_ASSIGN_OR_RETURN(AstPtr a, Make(AstKind::kCall, name.pos, std::move(args)));
    a->text = lower;
    return a;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int max_depth_;
  int recursion_ = 0;
};

}  // namespace

Result<AstPtr> Parse(std::string_view text, int max_depth) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  Parser parser(text, std::move(tokens), max_depth);
  return parser.ParseAll();
}

}  // namespace sluice::rules::internal
