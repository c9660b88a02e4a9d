// Expression tests. The language itself is tested by the declarative case files in testdata/
// (see testdata/README.md for the format), run by one parameterised test; API behaviour that a
// case file cannot express has plain tests below.
#include "rules/expression.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "codec/value_json.h"
#include "rules/internal/semantics.h"

namespace sluice::rules {
namespace {

using model::Value;
using model::ValueType;

// Canonical text of a value for comparing with `result:` lines: JSON, except that doubles always
// show a fraction or exponent (2.0) and timestamps are ts:ISO-8601.
void Render(std::string& out, const Value& v) {
  switch (v.type()) {
    case ValueType::kDouble: internal::AppendText(out, v); return;
    case ValueType::kTimestamp:
      out += "ts:";
      internal::AppendIsoTimestamp(out, v.int_value());
      return;
    case ValueType::kArray: {
      out += '[';
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i > 0) out += ',';
        Render(out, v.items()[i]);
      }
      out += ']';
      return;
    }
    case ValueType::kObject: {
      out += '{';
      for (size_t i = 0; i < v.members().size(); ++i) {
        if (i > 0) out += ',';
        codec::AppendValueJson(out, Value::String(v.members()[i].name));
        out += ':';
        Render(out, v.members()[i].value);
      }
      out += '}';
      return;
    }
    default: codec::AppendValueJson(out, v);
  }
}

struct Case {
  std::string file;
  int line = 0;
  std::string row = "{}";
  int64_t now_ms = 0;
  std::string types;  // "name=string price=double"
  std::string expr;
  bool has_result = false;
  std::string result;
  bool has_error = false;
  std::string error;
  std::string type;  // expected result_type() name, optional
  bool compile_error = false;  // compile_errors.txt: `error:` is a compile error
};

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<Case> LoadCases(const std::string& name) {
  std::ifstream in(std::string(SLUICE_RULES_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::vector<Case> out;
  std::string row = "{}", types;
  int64_t now = 0;
  std::string line;
  int lineno = 0;
  Case* current = nullptr;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || Trim(line).empty()) {
      types.clear();
      current = nullptr;
      continue;
    }
    if (line[0] == '#') continue;
    if (line.starts_with("> ") && current != nullptr) {
      current->expr += "\n" + line.substr(2);
      continue;
    }
    size_t colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << name << ":" << lineno << ": no key";
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = Trim(line.substr(colon + 1));
    if (key == "row") {
      row = value;
    } else if (key == "now") {
      now = std::stoll(value);
    } else if (key == "types") {
      types = value;
    } else if (key == "expr") {
      Case c;
      c.file = name.substr(0, name.find('.'));
      c.line = lineno;
      c.row = row;
      c.now_ms = now;
      c.types = types;
      c.expr = line.substr(colon + 2 <= line.size() ? colon + 2 : line.size());
      c.compile_error = name == "compile_errors.txt";
      out.push_back(std::move(c));
      current = &out.back();
    } else if (current != nullptr && key == "result") {
      current->has_result = true;
      current->result = value;
    } else if (current != nullptr && key == "error") {
      current->has_error = true;
      current->error = value;
    } else if (current != nullptr && key == "type") {
      current->type = value;
    } else {
      ADD_FAILURE() << name << ":" << lineno << ": unexpected line: " << line;
    }
  }
  return out;
}

std::vector<Case> AllCases() {
  std::vector<Case> all;
  for (const char* f : {"eval.txt", "functions.txt", "compile_errors.txt"}) {
    auto cases = LoadCases(f);
    all.insert(all.end(), cases.begin(), cases.end());
  }
  return all;
}

ValueType ParseType(const std::string& s) {
  for (int t = 0; t <= static_cast<int>(ValueType::kObject); ++t) {
    if (model::ValueTypeName(static_cast<ValueType>(t)) == s) return static_cast<ValueType>(t);
  }
  ADD_FAILURE() << "unknown type name " << s;
  return ValueType::kNull;
}

class ExpressionCaseTest : public testing::TestWithParam<Case> {};

TEST_P(ExpressionCaseTest, Holds) {
  const Case& c = GetParam();
  SCOPED_TRACE(testing::Message() << "testdata/" << c.file << ".txt:" << c.line << ": " << c.expr);
  std::unordered_map<std::string, ValueType> types;
  std::istringstream ts(c.types);
  std::string pair;
  while (ts >> pair) {
    size_t eq = pair.find('=');
    ASSERT_NE(eq, std::string::npos) << pair;
    types[pair.substr(0, eq)] = ParseType(pair.substr(eq + 1));
  }
  CompileOptions options;
  if (!types.empty()) options.field_types = &types;
  auto compiled = Expression::Compile(c.expr, options);
  if (c.compile_error) {
    ASSERT_FALSE(compiled.ok()) << "compiled, expected error: " << c.error;
    EXPECT_EQ(compiled.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(compiled.status().message().find(c.error), std::string::npos)
        << "message: " << compiled.status().message() << "\nexpected to contain: " << c.error;
    return;
  }
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  Expression& e = **compiled;
  if (!c.type.empty()) {
    EXPECT_EQ(model::ValueTypeName(e.result_type()), c.type);
  }
  model::Arena arena;
  codec::ValueJsonDecoder decoder;
  auto row = decoder.Decode(c.row, arena);
  ASSERT_TRUE(row.ok()) << row.status().message();
  // Evaluate twice (the second time with warm hints and caches) and on a clone.
  std::unique_ptr<Expression> clone = e.Clone();
  for (Expression* x : {&e, &e, clone.get()}) {
    EvalContext ctx;
    ctx.arena = &arena;
    ctx.now_ms = c.now_ms;
    Value v = x->Evaluate(*row, ctx);
    if (c.has_error) {
      EXPECT_NE(ctx.error.find(c.error), std::string::npos)
          << "error: '" << ctx.error << "'\nexpected to contain: " << c.error;
      EXPECT_TRUE(v.is_null());
    } else {
      EXPECT_EQ(ctx.error, "");
      std::string got;
      Render(got, v);
      EXPECT_EQ(got, c.result);
    }
  }
}

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  return info.param.file + "_L" + std::to_string(info.param.line);
}

INSTANTIATE_TEST_SUITE_P(Testdata, ExpressionCaseTest, testing::ValuesIn(AllCases()), CaseName);

// --- API behaviour ---

std::unique_ptr<Expression> Must(std::string_view text, const CompileOptions& options = {}) {
  auto r = Expression::Compile(text, options);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

Value Row(model::Arena& arena, std::string_view json) {
  codec::ValueJsonDecoder decoder;
  auto r = decoder.Decode(json, arena);
  EXPECT_TRUE(r.ok());
  return *r;
}

TEST(ExpressionTest, TestIsTrueOnlyForTrueAndFlagsNonBooleans) {
  model::Arena arena;
  EvalContext ctx;
  ctx.arena = &arena;
  Value row = Row(arena, R"({"a":1,"b":null})");
  EXPECT_TRUE((Must("a = 1"))->Test(row, ctx));
  EXPECT_FALSE((Must("a = 2"))->Test(row, ctx));
  EXPECT_FALSE((Must("b = 1"))->Test(row, ctx));
  EXPECT_EQ(ctx.error, "");
  EXPECT_FALSE((Must("a + 1"))->Test(row, ctx));
  EXPECT_EQ(ctx.error, "condition must be boolean, got integer");
}

TEST(ExpressionTest, ReportsReferencedFieldsAndStaticType) {
  auto e = Must("payload.user.id = 'x' AND items[0].sku IS NOT NULL OR payload.user.id = `weird name`");
  EXPECT_EQ(e->referenced_fields(),
            (std::vector<std::string>{"payload.user.id", "items[0].sku", "weird name"}));
  EXPECT_EQ(e->result_type(), ValueType::kBool);
  EXPECT_EQ((Must("price * 2"))->result_type(), ValueType::kNull);
  std::unordered_map<std::string, ValueType> types{{"price", ValueType::kDouble}};
  EXPECT_EQ((Must("price * 2", {&types}))->result_type(), ValueType::kDouble);
}

TEST(ExpressionTest, CloneKeepsFieldTypesAndHasItsOwnState) {
  std::unordered_map<std::string, ValueType> types{{"n", ValueType::kInt}};
  auto e = Must("n + 1", {&types});
  auto clone = e->Clone();
  EXPECT_EQ(clone->text(), "n + 1");
  EXPECT_EQ(clone->result_type(), ValueType::kInt);
  model::Arena arena;
  EvalContext ctx;
  Value row = Row(arena, R"({"x":0,"n":41})");
  EXPECT_EQ(clone->Evaluate(row, ctx).int_value(), 42);
  EXPECT_EQ(e->Evaluate(row, ctx).int_value(), 42);
}

TEST(ExpressionTest, HintsFollowChangingShapes) {
  auto e = Must("a.b");
  model::Arena arena;
  EvalContext ctx;
  Value r1 = Row(arena, R"({"a":{"b":1,"c":2}})");
  Value r2 = Row(arena, R"({"z":0,"a":{"c":2,"b":3}})");
  Value r3 = Row(arena, R"({"a":{"c":2}})");
  EXPECT_EQ(e->Evaluate(r1, ctx).int_value(), 1);
  EXPECT_EQ(e->Evaluate(r2, ctx).int_value(), 3);
  EXPECT_TRUE(e->Evaluate(r3, ctx).is_null());
  EXPECT_EQ(e->Evaluate(r1, ctx).int_value(), 1);
}

TEST(ExpressionTest, RejectsOversizedAndDeeplyNestedInput) {
  std::string big(Expression::kMaxTextBytes + 1, ' ');
  auto r = Expression::Compile(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer than the 65536-byte limit"), std::string::npos);
  for (std::string deep : {std::string(5000, '(') + "1" + std::string(5000, ')'),
                           [] {
                             std::string s;
                             for (int i = 0; i < 3000; ++i) s += "- ";
                             return s + "x";
                           }(), [] {
                             std::string s = "x";
                             for (int i = 0; i < 5000; ++i) s += " + x";
                             return s;
                           }(),
                           [] {
                             std::string s;
                             for (int i = 0; i < 3000; ++i) s += "NOT ";
                             return s + "x";
                           }(),
                           [] {
                             std::string s;
                             for (int i = 0; i < 3000; ++i) s += "f(";
                             return s;
                           }()}) {
    auto d = Expression::Compile(deep);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find("nested deeper than 200"), std::string::npos)
        << d.status().message();
  }
  // A long flat AND chain is not deep.
  std::string chain = "a = 0";
  for (int i = 1; i < 1000; ++i) chain += " AND a = " + std::to_string(i);
  EXPECT_TRUE(Expression::Compile(chain).ok());
}

TEST(ExpressionTest, StringResultsWithoutArenaAreAnError) {
  auto e = Must("upper(s)");
  model::Arena arena;
  Value row = Row(arena, R"({"s":"abc"})");
  EvalContext ctx;
  EXPECT_TRUE(e->Evaluate(row, ctx).is_null());
  EXPECT_NE(ctx.error.find("no arena"), std::string::npos);
}

TEST(ExpressionTest, FirstErrorWins) {
  auto e = Must("CAST(a AS BIGINT) + 1 / b");
  model::Arena arena;
  Value row = Row(arena, R"({"a":"x","b":0})");
  EvalContext ctx;
  ctx.arena = &arena;
  EXPECT_TRUE(e->Evaluate(row, ctx).is_null());
  EXPECT_NE(ctx.error.find("cannot cast"), std::string::npos) << ctx.error;
}

}  // namespace
}  // namespace sluice::rules
