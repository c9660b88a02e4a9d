#include <gtest/gtest.h>

#include "codec/json_parser.h"
#include "codec/value_json.h"
#include "schema/avro/avro.h"
#include "schema/avro/json_encoding.h"

namespace sluice::schema::avro {
namespace {

constexpr const char* kSchema = R"({"type":"record","name":"Order","fields":[
  {"name":"id","type":"long"},
  {"name":"qty","type":"int"},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"day","type":{"type":"int","logicalType":"date"}},
  {"name":"who","type":"string"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
  {"name":"prices","type":{"type":"array","items":"double"}},
  {"name":"tags","type":{"type":"map","values":"long"}},
  {"name":"note","type":["null","string"]},
  {"name":"ok","type":"boolean"},
  {"name":"ratio","type":"float"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
  {"name":"inner","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}}
]})";

TEST(AvroValueDecoderTest, DecodesEveryTypeIntoValues) {
  auto schema = ParseAvro(kSchema, {});
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  codec::JsonParser parser;
  // -1234 cents as a two's complement big-endian decimal: 0xFB 0x2E ("\u00fb." in Avro JSON).
  auto datum = EncodeJsonText((*schema)->root(), R"({"id":-5,"qty":3,"at":1700000000123,"day":2,
    "who":"ann","status":"PAID","prices":[1.5,2.25],"tags":{"a":1,"b":-2},"note":{"string":"hi"},
    "ok":true,"ratio":0.5,"amount":"\u00fb.","inner":{"x":7}})", parser);
  ASSERT_TRUE(datum.ok()) << datum.status().message();
  auto decoder = (*schema)->CompileDecoder({});
  ASSERT_TRUE(decoder.ok());
  model::Arena arena;
  auto v = (*decoder)->Decode(*datum, arena);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(codec::ValueToJson(*v),
            R"({"id":-5,"qty":3,"at":1700000000123,"day":172800000,"who":"ann","status":"PAID",)"
            R"("prices":[1.5,2.25],"tags":{"a":1,"b":-2},"note":"hi","ok":true,"ratio":0.5,)"
            R"("amount":-12.34,"inner":{"x":7}})");
  EXPECT_TRUE(v->Find("at")->is_timestamp());
}

TEST(AvroValueDecoderTest, MalformedDataIsAnErrorNeverACrash) {
  auto schema = ParseAvro(kSchema, {});
  ASSERT_TRUE(schema.ok());
  codec::JsonParser parser;
  auto datum = EncodeJsonText((*schema)->root(), R"({"id":1,"qty":3,"at":1,"day":2,"who":"ann",
    "status":"NEW","prices":[],"tags":{},"note":null,"ok":false,"ratio":1,"amount":"","inner":{"x":1}})",
                              parser);
  ASSERT_TRUE(datum.ok()) << datum.status().message();
  auto decoder = (*schema)->CompileDecoder({});
  model::Arena arena;
  for (size_t n = 0; n < datum->size(); ++n) {
    EXPECT_FALSE((*decoder)->Decode(std::string_view(datum->data(), n), arena).ok()) << n;
  }
  EXPECT_FALSE((*decoder)->Decode(*datum + "x", arena).ok());  // trailing bytes
  std::string huge = "\x02\x06\x02\x04\x02";                   // ...then an array claiming 2^40 items
  huge += std::string("\x80\x80\x80\x80\x80\x20", 6);
  EXPECT_FALSE((*decoder)->Decode(huge, arena).ok());
}

}  // namespace
}  // namespace sluice::schema::avro
