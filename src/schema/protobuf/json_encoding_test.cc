// JSON → Protobuf: the encoder's bytes parse back into the message (checked field by field with
// libprotobuf's reflection), pass the compiled validator, and carry Confluent's message indexes.
#include "schema/protobuf/json_encoding.h"

#include <gmock/gmock.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {
namespace {

namespace gp = google::protobuf;
using ::testing::HasSubstr;

constexpr char kShop[] = R"(syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  string customer = 2;
  repeated Item items = 3;
  map<string, int32> tags = 4;
  Status status = 5;
  bytes blob = 6;
  google.protobuf.Timestamp at = 7;
  message Item { string sku = 1; int32 qty = 2; }
}
enum Status { NEW = 0; PAID = 1; }
message Second { string name = 1; }
)";

constexpr char kLegacy[] = R"(syntax = "proto2";
message Legacy { required int32 a = 1; optional string b = 2; }
)";

std::shared_ptr<const ParsedSchema> Load(const char* text) {
  auto r = Parse(text, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::shared_ptr<const ParsedSchema>(std::move(r).value());
}

// The JSON of the message the encoder wrote (after checking its index list), via libprotobuf.
std::string DecodeToJson(const ParsedSchema& schema, std::string_view payload,
                         std::vector<int32_t> expect_indexes) {
  auto idx = DecodeMessageIndexes(payload);
  EXPECT_TRUE(idx.ok());
  EXPECT_EQ(idx->indexes, expect_indexes);
  payload.remove_prefix(idx->size);
  auto v = schema.CompileValidator(idx->indexes);
  EXPECT_TRUE(v.ok());
  Status st = (*v)->Validate(payload);
  EXPECT_TRUE(st.ok()) << st.message();
  const auto& pb = static_cast<const ProtobufSchema&>(schema);
  auto desc = FindMessageByIndexes(*pb.file(), idx->indexes);
  gp::DynamicMessageFactory factory(pb.file()->pool());
  std::unique_ptr<gp::Message> m(factory.GetPrototype(*desc)->New());
  EXPECT_TRUE(m->ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  std::string json;
  gp::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  EXPECT_TRUE(gp::util::MessageToJsonString(*m, &json, opts).ok());
  return json;
}

TEST(ProtobufJsonEncodingTest, FirstMessageRoundTripsWithIndexZero) {
  auto schema = Load(kShop);
  auto enc = JsonEncoder::Create(schema, {});
  ASSERT_TRUE(enc.ok()) << enc.status().message();
  EXPECT_EQ((*enc)->message_name(), "shop.Order");
  std::string out;
  Status st = (*enc)->Encode(
      R"({"id":"12","customer":"ada","items":[{"sku":"a","qty":2}],"tags":{"x":1},)"
      R"("status":"PAID","blob":"AAE=","at":"2024-05-01T12:00:00Z"})",
      out);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], '\0');  // [0] is the single byte 0x00, as Confluent writes it
  EXPECT_EQ(DecodeToJson(*schema, out, {0}),
            R"({"id":"12","customer":"ada","items":[{"sku":"a","qty":2}],"tags":{"x":1},)"
            R"("status":"PAID","blob":"AAE=","at":"2024-05-01T12:00:00Z"})");
}

TEST(ProtobufJsonEncodingTest, OtherMessagesCarryTheirIndexes) {
  auto schema = Load(kShop);
  std::vector<int32_t> second{1};
  auto enc = JsonEncoder::Create(schema, second);
  ASSERT_TRUE(enc.ok());
  std::string out;
  ASSERT_TRUE((*enc)->Encode(R"({"name":"n"})", out).ok());
  EXPECT_EQ(DecodeToJson(*schema, out, {1}), R"({"name":"n"})");
  std::vector<int32_t> nested{0, 0};
  auto item = JsonEncoder::Create(schema, nested);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ((*item)->message_name(), "shop.Order.Item");
  std::vector<int32_t> bad{7};
  EXPECT_FALSE(JsonEncoder::Create(schema, bad).ok());
}

TEST(ProtobufJsonEncodingTest, WrongJsonIsAnErrorNamingTheField) {
  auto schema = Load(kShop);
  auto enc = JsonEncoder::Create(schema, {});
  ASSERT_TRUE(enc.ok());
  std::string out = "keep";
  Status st = (*enc)->Encode(R"({"id":"x"})", out);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("id"));
  st = (*enc)->Encode(R"({"nope":1})", out);
  EXPECT_THAT(st.message(), HasSubstr("nope"));
  st = (*enc)->Encode(R"({"items":[{"qty":"many"}]})", out);
  EXPECT_THAT(st.message(), HasSubstr("qty"));
  st = (*enc)->Encode(R"({"status":"LOST"})", out);
  EXPECT_FALSE(st.ok());
  st = (*enc)->Encode(R"({"id":1)", out);
  EXPECT_FALSE(st.ok());
  st = (*enc)->Encode(R"([1,2])", out);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(out, "keep");
}

TEST(ProtobufJsonEncodingTest, MissingRequiredFieldsAreNamed) {
  auto schema = Load(kLegacy);
  auto enc = JsonEncoder::Create(schema, {});
  ASSERT_TRUE(enc.ok());
  std::string out;
  Status st = (*enc)->Encode(R"({"b":"x"})", out);
  EXPECT_THAT(st.message(), HasSubstr("missing field a"));
  EXPECT_TRUE((*enc)->Encode(R"({"a":1})", out).ok());
  EXPECT_EQ(DecodeToJson(*schema, out, {0}), R"({"a":1})");
}

TEST(ProtobufJsonEncodingTest, DeepNestingIsAnErrorNotACrash) {
  auto schema = Load("syntax = \"proto3\";\nmessage N { N next = 1; int32 v = 2; }\n");
  auto enc = JsonEncoder::Create(schema, {});
  ASSERT_TRUE(enc.ok());
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += R"({"next":)";
  deep += "{}";
  for (int i = 0; i < 5000; ++i) deep += "}";
  std::string out;
  EXPECT_FALSE((*enc)->Encode(deep, out).ok());
}

}  // namespace
}  // namespace sluice::schema::protobuf
