// Validator tests: encodings built by hand, one rule per test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/varint.h"
#include "schema/avro/avro.h"

namespace sluice::schema::avro {
namespace {

using ::testing::HasSubstr;

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

std::unique_ptr<Validator> Compile(std::string_view schema) {
  auto s = ParseAvro(schema, {});
  EXPECT_TRUE(s.ok()) << s.status().message();
  auto v = (*s)->CompileValidator({});
  EXPECT_TRUE(v.ok());
  return std::move(v).value();
}

constexpr std::string_view kOrder = R"({"type":"record","name":"Order","fields":[
  {"name":"id","type":"long"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}},
  {"name":"note","type":["null","string"]},
  {"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[
     {"name":"sku","type":"string"},{"name":"price","type":"double"}]}}},
  {"name":"tags","type":{"type":"map","values":"int"}},
  {"name":"hash","type":{"type":"fixed","name":"H","size":4}},
  {"name":"ok","type":"boolean"}]})";

Enc ValidOrderPrefix() {
  Enc e;
  e.Long(42).Long(1).Long(1).Str("hello");
  e.Long(2).Str("a").Double(1.5).Str("b").Double(2.5).Long(0);
  e.Long(1).Str("k").Long(7).Long(0);
  e.Raw("abcd");
  return e;
}

TEST(AvroValidatorTest, AcceptsAValidDatum) {
  auto v = Compile(kOrder);
  EXPECT_TRUE(v->Validate(ValidOrderPrefix().Byte(1).str()).ok());
}

TEST(AvroValidatorTest, RejectsTrailingBytes) {
  auto v = Compile(kOrder);
  auto st = v->Validate(ValidOrderPrefix().Byte(1).Byte(0).str());
  EXPECT_THAT(st.message(), HasSubstr("1 trailing bytes"));
}

TEST(AvroValidatorTest, NamesTheFieldPath) {
  auto v = Compile(kOrder);
  Enc e;
  e.Long(42).Long(1).Long(0);
  e.Long(2).Str("a").Double(1.5).Str("b").Raw("abc");  // truncated double in items[1]
  auto st = v->Validate(e.str());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "field 'items[1].price': data ends inside a double (3 of 8 bytes)");
}

TEST(AvroValidatorTest, ChecksEnumAndUnionIndexes) {
  auto v = Compile(kOrder);
  EXPECT_THAT(v->Validate(Enc().Long(1).Long(3).str()).message(),
              HasSubstr("field 'status': enum index 3 out of range (3 symbols)"));
  EXPECT_THAT(v->Validate(Enc().Long(1).Long(0).Long(2).str()).message(),
              HasSubstr("field 'note': union branch index 2 out of range (2 branches)"));
  EXPECT_THAT(v->Validate(Enc().Long(1).Long(-1).str()).message(), HasSubstr("enum index -1"));
}

TEST(AvroValidatorTest, ChecksStringsAndLengths) {
  auto v = Compile(R"("string")");
  EXPECT_TRUE(v->Validate(Enc().Str("gr\xc3\xbc\xc3\x9f").str()).ok());
  EXPECT_THAT(v->Validate(Enc().Str("bad\xc3(").str()).message(), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(v->Validate(Enc().Long(-2).str()).message(), HasSubstr("negative string length"));
  EXPECT_THAT(v->Validate(Enc().Long(10).Raw("abc").str()).message(),
              HasSubstr("string length 10 exceeds the 3 bytes left"));
  EXPECT_THAT(v->Validate("").message(), HasSubstr("data ends inside a string"));
  auto b = Compile(R"("bytes")");
  EXPECT_TRUE(b->Validate(Enc().Str("\xff\xfe").str()).ok());
}

TEST(AvroValidatorTest, ChecksVarintsAndFixed) {
  auto i = Compile(R"("int")");
  EXPECT_TRUE(i->Validate(Enc().Long(INT32_MAX).str()).ok());
  EXPECT_THAT(i->Validate(Enc().Long(int64_t{INT32_MAX} + 1).str()).message(),
              HasSubstr("does not fit 32 bits"));
  auto l = Compile(R"("long")");
  EXPECT_TRUE(l->Validate(Enc().Long(INT64_MIN).str()).ok());
  EXPECT_THAT(l->Validate(std::string(11, '\xff')).message(), HasSubstr("longer than 64 bits"));
  EXPECT_THAT(l->Validate("\x80").message(), HasSubstr("data ends inside a long"));
  auto f = Compile(R"({"type":"fixed","name":"F","size":3})");
  EXPECT_TRUE(f->Validate("abc").ok());
  EXPECT_THAT(f->Validate("ab").message(), HasSubstr("fixed of 3 bytes"));
  auto bo = Compile(R"("boolean")");
  EXPECT_THAT(bo->Validate("\x02").message(), HasSubstr("neither 0 nor 1"));
}

TEST(AvroValidatorTest, HandlesNegativeBlockCountsWithByteSizes) {
  auto v = Compile(R"({"type":"array","items":"long"})");
  // Block of 2 items written as count -2 followed by the block's byte size.
  EXPECT_TRUE(v->Validate(Enc().Long(-2).Long(2).Long(1).Long(2).Long(0).str()).ok());
  EXPECT_THAT(v->Validate(Enc().Long(-2).Long(3).Long(1).Long(2).Long(0).str()).message(),
              HasSubstr("block byte size 3 does not match the 2 bytes"));
  EXPECT_THAT(v->Validate(Enc().Long(5).Long(1).str()).message(),
              HasSubstr("array block count 5 exceeds"));
  EXPECT_THAT(v->Validate(Enc().Long(2).Long(1).Long(2).str()).message(),
              HasSubstr("data ends inside a array block count"));
  auto m = Compile(R"({"type":"map","values":"int"})");
  EXPECT_TRUE(m->Validate(Enc().Long(-1).Long(3).Str("k").Long(1).Long(0).str()).ok());
  EXPECT_THAT(m->Validate(Enc().Long(1).Str("key").Raw("\x80").str()).message(),
              HasSubstr("field '['key']'"));
}

TEST(AvroValidatorTest, ValidatesRecursiveSchemas) {
  auto v = Compile(R"({"type":"record","name":"L","fields":[{"name":"v","type":"int"},
      {"name":"next","type":["null","L"]}]})");
  EXPECT_TRUE(v->Validate(Enc().Long(1).Long(1).Long(2).Long(1).Long(3).Long(0).str()).ok());
  EXPECT_THAT(v->Validate(Enc().Long(1).Long(1).Long(2).Long(5).str()).message(),
              HasSubstr("field 'next.next': union branch index 5"));
  Enc deep;
  for (int i = 0; i < 1000; ++i) deep.Long(1).Long(1);
  EXPECT_THAT(v->Validate(deep.str()).message(), HasSubstr("nested too deeply"));
}

TEST(AvroValidatorTest, CapsBlocksOfEmptyItems) {
  auto v = Compile(R"({"type":"array","items":"null"})");
  EXPECT_TRUE(v->Validate(Enc().Long(1000).Long(0).str()).ok());
  EXPECT_THAT(v->Validate(Enc().Long(int64_t{1} << 40).Long(0).str()).message(),
              HasSubstr("too large"));
}

}  // namespace
}  // namespace sluice::schema::avro
