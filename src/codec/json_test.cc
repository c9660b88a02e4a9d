// Tests for JSON writing (escaping, UTF-8 repair) and parsing (errors with positions).
#include <gtest/gtest.h>

#include <tuple>

#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "codec/utf8.h"

namespace sluice::codec {
namespace {

TEST(JsonWriterTest, WritesNestedValuesWithCommas) {
  JsonWriter w;
  w.BeginObject().Field("a", int64_t{1}).Key("b").BeginArray().Int(-2).String("x").Null();
  w.Bool(true).BeginObject().EndObject().EndArray().Key("c").Double(1.5).EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[-2,"x",null,true,{}],"c":1.5})");
}

TEST(JsonWriterTest, EscapesControlCharactersAndQuotes) {
  EXPECT_EQ(QuoteJson("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
}

TEST(JsonWriterTest, ReplacesInvalidUtf8WithReplacementCharacter) {
  EXPECT_EQ(QuoteJson("a\xff" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(QuoteJson("\xC3\xA9"), "\"\xC3\xA9\"");  // é kept
}

TEST(Utf8Test, FindsFirstInvalidByte) {
  EXPECT_FALSE(FindInvalidUtf8("h\xC3\xA9llo").has_value());
  EXPECT_EQ(FindInvalidUtf8("ab\xC0\x80").value(), 2u);   // overlong
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80").value(), 0u);  // surrogate
}

// Numbers simdjson cannot hold (beyond 64-bit integers, or a double's range) are valid JSON and
// are kept exactly as written by every entry point. Minify refused them ("invalid JSON", with
// no position) while Parse kept them, so a produce accepted such a value in an envelope and
// not as a plain body, and the fetch then printed the stored value as a string.
TEST(JsonParserTest, NumbersOutOfRangeAreKeptAsWrittenEverywhere) {
  JsonParser p;
  for (const char* text : {"123456789012345678901234567890", "-9223372036854775809", "1e400",
                           " 1e400\n", "[1,1e400]", R"({"a":123456789012345678901234567890})"}) {
    SCOPED_TRACE(text);
    auto v = p.Parse(text);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    auto m = p.Minify(text);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->text, v->ToJson());
    EXPECT_TRUE(p.IsValid(text));
  }
  EXPECT_EQ(p.Minify("[1,1e400]")->text, "[1,1e400]");
  EXPECT_TRUE(p.Minify("[1,1e400]")->is_array);
  for (const char* text :
       {"1e400 2", "[01]", "1.", R"({"a":1e})", "[123456789012345678901234567890"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(p.Parse(text).ok());
    EXPECT_FALSE(p.Minify(text).ok());
    EXPECT_FALSE(p.IsValid(text));
  }
}

TEST(JsonParserTest, ParsesNestedDocumentKeepingNumberText) {
  JsonParser p;
  auto v = p.Parse(R"( {"a": [1, 2.50, 123456789012345678901234567890], "b": {"c": "x\ny"},
                       "d": null, "e": false} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->ToJson(),
            R"({"a":[1,2.50,123456789012345678901234567890],"b":{"c":"x\ny"},"d":null,"e":false})");
  EXPECT_EQ(v->Find("a")->items()[0].AsInt64().value(), 1);
  EXPECT_FALSE(v->Find("a")->items()[1].AsInt64().has_value());
}

TEST(JsonParserTest, ParsesScalarDocuments) {
  JsonParser p;
  EXPECT_EQ(p.Parse("42").value().ToJson(), "42");
  EXPECT_EQ(p.Parse(" \"hi\" ").value().text(), "hi");
  EXPECT_EQ(p.Parse("true").value().ToJson(), "true");
  EXPECT_EQ(p.Parse("null").value().ToJson(), "null");
}

TEST(JsonParserTest, RejectsMalformedInputWithPosition) {
  JsonParser p;
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "01", "1 2", "{\"a\":1}}",
                          "\"abc", "[1 2]", "nul", "-", "{'a':1}"}) {
    auto v = p.Parse(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(v.status().message().find("invalid JSON at byte"), std::string::npos)
          << v.status().message();
    }
  }
  auto v = p.Parse("{\n  \"a\": tru\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("line 2"), std::string::npos) << v.status().message();
}

TEST(JsonParserTest, SaysWhenTheInputEndsTooSoon) {
  JsonParser p;
  for (const char* cut : {"{", "[1,2", "{\"a\":1,", "[[1]  \n"}) {
    auto v = p.Parse(cut);
    ASSERT_FALSE(v.ok()) << cut;
    EXPECT_NE(v.status().message().find("unexpected end of input"), std::string::npos)
        << cut << ": " << v.status().message();
  }
  // An error before the end is not called one.
  for (const char* bad : {"[1 2]", "{\"a\" 1}", "[1,]"}) {
    auto v = p.Parse(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().message().find("end of input"), std::string::npos)
        << bad << ": " << v.status().message();
  }
}

TEST(JsonParserTest, RejectsInvalidUtf8) {
  JsonParser p;
  auto v = p.Parse("{\"a\": \"\xff\"}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(), "invalid UTF-8 at byte 7");
}

TEST(JsonParserTest, RejectsDeepNesting) {
  JsonParser p;
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto v = p.Parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nested deeper"), std::string::npos);
}

TEST(JsonParserTest, IsValidChecksWithoutBuildingTree) {
  JsonParser p;
  EXPECT_TRUE(p.IsValid(R"({"a":1})"));
  EXPECT_TRUE(p.IsValid(R"("s")"));
  EXPECT_FALSE(p.IsValid("hello"));
  EXPECT_FALSE(p.IsValid("{\"a\":"));
}

TEST(JsonParserTest, MinifyKeepsTokensAndReportsErrors) {
  JsonParser p;
  auto m = p.Minify(" { \"a\" : [ 1 , 4.50 , \"x y\\u00e9\" ] } \n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text, R"({"a":[1,4.50,"x y\u00e9"]})");
  EXPECT_FALSE(m->is_array);
  EXPECT_TRUE(p.Minify("[1]")->is_array);
  auto bad = p.Minify("{\"a\": tru}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid JSON at byte"), std::string::npos);
  auto utf = p.Minify("\"\xff\"");
  ASSERT_FALSE(utf.ok());
  EXPECT_EQ(utf.status().message(), "invalid UTF-8 at byte 1");
}

TEST(JsonParserTest, SplitsMinifiedArrayIntoElementTexts) {
  JsonParser p;
  auto m = p.Minify(R"([ {"a": [1, "x,]\"}"]}, "s\\", 4.50, null, [] , {"b":{}} ])");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<std::string_view> items;
  ASSERT_TRUE(JsonParser::SplitMinifiedArray(m->text, items).ok());
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(items[0], R"({"a":[1,"x,]\"}"]})");
  EXPECT_EQ(items[1], R"("s\\")");
  EXPECT_EQ(items[2], "4.50");
  EXPECT_EQ(items[3], "null");
  EXPECT_EQ(items[4], "[]");
  EXPECT_EQ(items[5], R"({"b":{}})");
  ASSERT_TRUE(JsonParser::SplitMinifiedArray("[]", items).ok());
  EXPECT_TRUE(items.empty());
}

TEST(JsonParserTest, SplitMinifiedArrayKeepsParsesDepthLimit) {
  // Parse accepts 64 levels (the outer array is one) and rejects any value below them.
  auto nested = [](int levels, std::string_view inner) {
    return std::string(static_cast<size_t>(levels), '[') + std::string(inner) +
           std::string(static_cast<size_t>(levels), ']');
  };
  JsonParser p;
  std::vector<std::string_view> items;
  for (auto [levels, inner, ok] : {std::tuple{64, "", true}, std::tuple{63, "1", true},
                                   std::tuple{64, "1", false}, std::tuple{65, "", false}}) {
    std::string text = nested(levels, inner);
    EXPECT_EQ(p.Parse(text).ok(), ok) << text;
    auto m = p.Minify(text);
    ASSERT_TRUE(m.ok());
    Status st = JsonParser::SplitMinifiedArray(m->text, items);
    EXPECT_EQ(st.ok(), ok) << text;
    if (!ok) {
      EXPECT_EQ(st.message(), "JSON nested deeper than 64 levels");
    }
  }
}

TEST(JsonNumberTest, FollowsGrammar) {
  EXPECT_TRUE(IsJsonNumber("0"));
  EXPECT_TRUE(IsJsonNumber("-1.5e+10"));
  EXPECT_FALSE(IsJsonNumber("01"));
  EXPECT_FALSE(IsJsonNumber("1."));
  EXPECT_FALSE(IsJsonNumber("+1"));
}

}  // namespace
}  // namespace sluice::codec
