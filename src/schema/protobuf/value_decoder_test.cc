#include <gtest/gtest.h>

#include "codec/value_json.h"
#include "schema/protobuf/json_encoding.h"
#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {
namespace {

constexpr const char* kProto = R"(syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  enum Status { NEW = 0; PAID = 1; }
  int64 id = 1;
  string who = 2;
  Status status = 3;
  repeated double prices = 4;
  map<string, int64> tags = 5;
  Item item = 6;
  google.protobuf.Timestamp at = 7;
  sint32 delta = 8;
  bool ok = 9;
  repeated Item items = 10;
  uint64 big = 11;
}
message Item { string sku = 1; int32 qty = 2; }
)";

std::shared_ptr<const ParsedSchema> Schema() {
  auto s = Parse(kProto, {});
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::shared_ptr<const ParsedSchema>(std::move(s).value());
}

// The message bytes (without the message-index list) for `json`.
std::string Encode(const std::shared_ptr<const ParsedSchema>& schema, std::string_view json,
                   std::span<const int32_t> indexes = {}) {
  auto enc = JsonEncoder::Create(schema, indexes);
  EXPECT_TRUE(enc.ok()) << enc.status().message();
  std::string out;
  Status st = (*enc)->Encode(json, out);
  EXPECT_TRUE(st.ok()) << st.message();
  auto idx = DecodeMessageIndexes(out);
  EXPECT_TRUE(idx.ok());
  return out.substr(idx->size);
}

TEST(ProtobufValueDecoderTest, DecodesFieldsInDeclarationOrderWithDefaults) {
  auto schema = Schema();
  std::string bytes = Encode(schema, R"({"id":"-7","who":"ann","status":"PAID","prices":[1.5,2],
    "tags":{"a":"1"},"item":{"sku":"x","qty":2},"at":"2023-11-14T22:13:20.123Z","delta":-3,
    "items":[{"sku":"y"},{"qty":5}],"big":"18446744073709551615"})");
  auto decoder = schema->CompileDecoder({});
  ASSERT_TRUE(decoder.ok()) << decoder.status().message();
  model::Arena arena;
  auto v = (*decoder)->Decode(bytes, arena);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(codec::ValueToJson(*v),
            R"({"id":-7,"who":"ann","status":"PAID","prices":[1.5,2],"tags":{"a":1},)"
            R"("item":{"sku":"x","qty":2},"at":1700000000123,"delta":-3,"ok":false,)"
            R"("items":[{"sku":"y","qty":0},{"sku":"","qty":5}],"big":1.8446744073709552e+19})");
  EXPECT_TRUE(v->Find("at")->is_timestamp());
}

TEST(ProtobufValueDecoderTest, NestedMessageIndexesPickTheMessage) {
  auto schema = Schema();
  int32_t item_index[] = {1};
  std::string bytes = Encode(schema, R"({"sku":"z","qty":9})", item_index);
  auto decoder = schema->CompileDecoder(item_index);
  ASSERT_TRUE(decoder.ok());
  model::Arena arena;
  auto v = (*decoder)->Decode(bytes, arena);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(codec::ValueToJson(*v), R"({"sku":"z","qty":9})");
  int32_t bad[] = {7};
  EXPECT_FALSE(schema->CompileDecoder(bad).ok());
}

TEST(ProtobufValueDecoderTest, MalformedBytesAreErrors) {
  auto schema = Schema();
  std::string bytes = Encode(schema, R"({"id":"1","who":"abcdef","item":{"sku":"x"}})");
  auto decoder = schema->CompileDecoder({});
  model::Arena arena;
  for (size_t n = 1; n < bytes.size(); ++n) {
    auto v = (*decoder)->Decode(std::string_view(bytes.data(), n), arena);
    // A cut can land between fields (then it decodes); inside one it must fail, never crash.
    (void)v;
  }
  EXPECT_FALSE((*decoder)->Decode(std::string_view("\x12\x7f" "ab", 4), arena).ok());
  EXPECT_FALSE((*decoder)->Decode(std::string_view("\x0f", 1), arena).ok());  // wire type 7
}

}  // namespace
}  // namespace sluice::schema::protobuf
