// JSON → Avro binary: every type against a hand-built encoding, each result checked again by the
// compiled validator (the round trip), and the errors with their field paths.
#include "schema/avro/json_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/varint.h"
#include "codec/json_parser.h"
#include "schema/avro/avro.h"

namespace sluice::schema::avro {
namespace {

using ::testing::HasSubstr;

// Expected encodings, written by hand.
class Enc {
 public:
  Enc& Long(int64_t v) {
    varint::AppendSigned(out_, v);
    return *this;
  }
  Enc& Str(std::string_view s) {
    Long(static_cast<int64_t>(s.size()));
    out_.append(s);
    return *this;
  }
  Enc& Raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Enc& Float(float f) {
    char b[4];
    std::memcpy(b, &f, 4);
    out_.append(b, 4);
    return *this;
  }
  Enc& Double(double d) {
    char b[8];
    std::memcpy(b, &d, 8);
    out_.append(b, 8);
    return *this;
  }
  Enc& Byte(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

class AvroJsonEncodingTest : public ::testing::Test {
 protected:
  // Encodes `json` with `schema`; on success the validator must accept the datum.
  Result<std::string> Encode(std::string_view schema, std::string_view json) {
    auto s = ParseAvro(schema, {});
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (!s.ok()) return s.status();
    auto out = EncodeJsonText((*s)->root(), json, parser_);
    if (out.ok()) {
      auto v = (*s)->CompileValidator({});
      EXPECT_TRUE(v.ok());
      Status st = (*v)->Validate(*out);
      EXPECT_TRUE(st.ok()) << "round trip through the validator: " << st.message();
    }
    return out;
  }
  std::string Ok(std::string_view schema, std::string_view json) {
    auto r = Encode(schema, json);
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().message();
    return r.ok() ? *r : std::string();
  }
  std::string Err(std::string_view schema, std::string_view json) {
    auto r = Encode(schema, json);
    EXPECT_FALSE(r.ok()) << json;
    return r.ok() ? std::string() : r.status().message();
  }

  codec::JsonParser parser_;
};

TEST_F(AvroJsonEncodingTest, PrimitivesEncodeAsTheSpecificationSays) {
  EXPECT_EQ(Ok(R"("null")", "null"), "");
  EXPECT_EQ(Ok(R"("boolean")", "true"), Enc().Byte(1).str());
  EXPECT_EQ(Ok(R"("boolean")", "false"), Enc().Byte(0).str());
  EXPECT_EQ(Ok(R"("int")", "-64"), Enc().Long(-64).str());
  EXPECT_EQ(Ok(R"("int")", "2147483647"), Enc().Long(2147483647).str());
  EXPECT_EQ(Ok(R"("long")", "-9223372036854775808"), Enc().Long(INT64_MIN).str());
  EXPECT_EQ(Ok(R"("float")", "1.5"), Enc().Float(1.5f).str());
  EXPECT_EQ(Ok(R"("double")", "3"), Enc().Double(3.0).str());
  EXPECT_EQ(Ok(R"("double")", "-2.5e-3"), Enc().Double(-2.5e-3).str());
  EXPECT_EQ(Ok(R"("double")", R"("-Infinity")"), Enc().Double(-INFINITY).str());
  std::string nan = Ok(R"("float")", R"("NaN")");
  ASSERT_EQ(nan.size(), 4u);
  float f;
  std::memcpy(&f, nan.data(), 4);
  EXPECT_TRUE(std::isnan(f));
  EXPECT_EQ(Ok(R"("string")", R"("h\u00e9")"), Enc().Str("h\xc3\xa9").str());
}

TEST_F(AvroJsonEncodingTest, BytesAndFixedAreCodePointsUpTo255) {
  EXPECT_EQ(Ok(R"("bytes")", R"("\u0000\u00ffA")"), Enc().Str(std::string("\0\xff" "A", 3)).str());
  EXPECT_EQ(Ok(R"({"type":"fixed","name":"F","size":3})", R"("a\u0001\u00e9")"),
            Enc().Raw("a\x01\xe9").str());
  EXPECT_THAT(Err(R"("bytes")", R"("\u0100")"), HasSubstr("above U+00FF"));
  EXPECT_THAT(Err(R"({"type":"fixed","name":"F","size":3})", R"("ab")"),
              HasSubstr("fixed 'F' needs 3 bytes, got 2"));
  EXPECT_THAT(Err(R"("bytes")", "[1]"), HasSubstr("expected bytes (a string), got array"));
}

TEST_F(AvroJsonEncodingTest, EnumsAreSymbolStrings) {
  constexpr std::string_view kEnum = R"({"type":"enum","name":"S","symbols":["A","B","C"]})";
  EXPECT_EQ(Ok(kEnum, R"("C")"), Enc().Long(2).str());
  EXPECT_THAT(Err(kEnum, R"("D")"), HasSubstr("'D' is not a symbol of enum 'S'"));
  EXPECT_THAT(Err(kEnum, "1"), HasSubstr("expected a symbol of enum 'S', got number 1"));
}

TEST_F(AvroJsonEncodingTest, ArraysAndMapsAreOneBlockThenZero) {
  EXPECT_EQ(Ok(R"({"type":"array","items":"int"})", "[1,2,3]"),
            Enc().Long(3).Long(1).Long(2).Long(3).Long(0).str());
  EXPECT_EQ(Ok(R"({"type":"array","items":"int"})", "[]"), Enc().Long(0).str());
  EXPECT_EQ(Ok(R"({"type":"map","values":"string"})", R"({"a":"x","b":"y"})"),
            Enc().Long(2).Str("a").Str("x").Str("b").Str("y").Long(0).str());
  EXPECT_EQ(Ok(R"({"type":"map","values":"long"})", "{}"), Enc().Long(0).str());
  EXPECT_EQ(Err(R"({"type":"map","values":"int"})", R"({"k":"v"})"),
            R"(["k"]: expected int, got string)");
  EXPECT_EQ(Err(R"({"type":"array","items":"int"})", "[1,true]"),
            "[1]: expected int, got true");
}

TEST_F(AvroJsonEncodingTest, UnionsTakeNullOrATypeNamedWrapper) {
  constexpr std::string_view kUnion =
      R"(["null","string",{"type":"record","name":"P","namespace":"com.acme",
          "fields":[{"name":"x","type":"int"}]},{"type":"array","items":"int"}])";
  EXPECT_EQ(Ok(kUnion, "null"), Enc().Long(0).str());
  EXPECT_EQ(Ok(kUnion, R"({"string":"hi"})"), Enc().Long(1).Str("hi").str());
  EXPECT_EQ(Ok(kUnion, R"({"com.acme.P":{"x":5}})"), Enc().Long(2).Long(5).str());
  EXPECT_EQ(Ok(kUnion, R"({"P":{"x":5}})"), Enc().Long(2).Long(5).str());  // short name
  EXPECT_EQ(Ok(kUnion, R"({"array":[7]})"), Enc().Long(3).Long(1).Long(7).Long(0).str());
  EXPECT_THAT(Err(kUnion, R"("hi")"),
              HasSubstr(R"(expected a union value like {"string": ...} (or null), got string)"));
  EXPECT_THAT(Err(kUnion, R"({"int":1})"),
              HasSubstr("'int' is not a branch of the union [null, string, com.acme.P, array]"));
  EXPECT_THAT(Err(R"(["int","string"])", "null"), HasSubstr("union has no null branch"));
}

TEST_F(AvroJsonEncodingTest, RecordsTakeFieldsByNameAndDefaultsForMissingOnes) {
  constexpr std::string_view kUser = R"({"type":"record","name":"User","fields":[
    {"name":"name","type":"string"},
    {"name":"age","type":"int","default":18},
    {"name":"email","type":["null","string"],"default":null},
    {"name":"nick","type":["string","null"],"default":"anon"},
    {"name":"tag","type":"bytes","default":"\u00ff"},
    {"name":"addr","type":{"type":"record","name":"Addr","fields":[
       {"name":"zip","type":"int"},{"name":"country","type":"string","default":"NL"}]},
     "default":{"zip":1000}}]})";
  // Fields in any order; missing ones from their defaults (a union default is its first branch).
  EXPECT_EQ(Ok(kUser, R"({"age":30,"name":"ada","addr":{"zip":7}})"),
            Enc().Str("ada").Long(30).Long(0).Long(0).Str("anon").Str("\xff")
                .Long(7).Str("NL").str());
  EXPECT_EQ(Ok(kUser, R"({"name":"b","email":{"string":"b@x"},"nick":null})"),
            Enc().Str("b").Long(18).Long(1).Str("b@x").Long(1).Str("\xff")
                .Long(1000).Str("NL").str());
  EXPECT_EQ(Err(kUser, R"({"age":1})"), "name: missing (the field has no default)");
  EXPECT_EQ(Err(kUser, R"({"name":"a","addr":{"zip":"x"}})"),
            "addr.zip: expected int, got string");
  EXPECT_EQ(Err(kUser, R"({"name":"a","extra":1})"), "unknown field 'extra' in record 'User'");
  EXPECT_EQ(Err(kUser, R"({"name":"a","name":"b"})"), "field 'name' given twice");
  EXPECT_EQ(Err(kUser, R"([1])"), "expected record 'User' (an object), got array");
}

TEST_F(AvroJsonEncodingTest, LogicalTypesUseTheirUnderlyingType) {
  EXPECT_EQ(Ok(R"({"type":"long","logicalType":"timestamp-millis"})", "1714564800000"),
            Enc().Long(1714564800000).str());
  EXPECT_EQ(Ok(R"({"type":"int","logicalType":"date"})", "19844"), Enc().Long(19844).str());
  EXPECT_EQ(Ok(R"({"type":"string","logicalType":"uuid"})",
               R"("123e4567-e89b-12d3-a456-426614174000")"),
            Enc().Str("123e4567-e89b-12d3-a456-426614174000").str());
  // decimal(5,2) 12.34 = unscaled 1234 = 0x04D2.
  EXPECT_EQ(Ok(R"({"type":"bytes","logicalType":"decimal","precision":5,"scale":2})",
               R"("\u0004\u00d2")"),
            Enc().Str("\x04\xd2").str());
  EXPECT_THAT(Err(R"({"type":"long","logicalType":"timestamp-millis"})",
                  R"("2024-05-01T00:00:00Z")"),
              HasSubstr("expected long, got string"));
}

TEST_F(AvroJsonEncodingTest, NumbersOutOfRangeOrWithFractionsAreRejected) {
  EXPECT_EQ(Err(R"("int")", "2147483648"), "2147483648 is out of range for int");
  EXPECT_EQ(Err(R"("int")", "1.5"), "expected int, got number 1.5");
  EXPECT_EQ(Err(R"("long")", "1e3"), "expected long, got number 1e3");
  EXPECT_EQ(Err(R"("long")", "99999999999999999999"),
            "99999999999999999999 is out of range for long");
  EXPECT_EQ(Err(R"("float")", "1e39"), "1e39 is out of range for float");
  EXPECT_FALSE(Encode(R"("double")", "1e400").ok());  // refused by the JSON parser already
  EXPECT_EQ(Err(R"("double")", R"("1.5")"), "expected double, got string");
  EXPECT_EQ(Err(R"("boolean")", "1"), "expected boolean, got number 1");
}

TEST_F(AvroJsonEncodingTest, RecursiveSchemasStopAtTheJsonDepth) {
  constexpr std::string_view kList = R"({"type":"record","name":"L","fields":[
    {"name":"v","type":"int"},{"name":"next","type":["null","L"],"default":null}]})";
  EXPECT_EQ(Ok(kList, R"({"v":1,"next":{"L":{"v":2}}})"),
            Enc().Long(1).Long(1).Long(2).Long(0).str());
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"v":1,"next":{"L":)";
  deep += R"({"v":1})";
  for (int i = 0; i < 200; ++i) deep += "}}";
  EXPECT_THAT(Err(kList, deep), HasSubstr("nested deeper"));
}

TEST_F(AvroJsonEncodingTest, ErrorsStartWithTheRootPathWhenGiven) {
  auto s = ParseAvro(R"({"type":"record","name":"U","fields":[{"name":"address","type":
    {"type":"record","name":"A","fields":[{"name":"zip","type":"int"}]}}]})", {});
  ASSERT_TRUE(s.ok());
  auto r = EncodeJsonText((*s)->root(), R"({"address":{"zip":"1012"}})", parser_,
                          "records[2].value");
  EXPECT_EQ(r.status().message(), "records[2].value.address.zip: expected int, got string");
  r = EncodeJsonText((*s)->root(), "7", parser_, "records[0].key");
  EXPECT_EQ(r.status().message(), "records[0].key: expected record 'U' (an object), got number 7");
}

TEST_F(AvroJsonEncodingTest, InvalidJsonIsAnError) {
  EXPECT_THAT(Err(R"("int")", "{"), HasSubstr("invalid JSON"));
}

}  // namespace
}  // namespace sluice::schema::avro
