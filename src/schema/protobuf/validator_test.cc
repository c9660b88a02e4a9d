// The compiled payload validator: well-formed encodings pass, each kind of malformation fails
// with the field path named. Payloads are built with libprotobuf's DynamicMessage over the
// schema's own descriptors, or by hand for malformed bytes.
#include <gmock/gmock.h>
#include <google/protobuf/dynamic_message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "base/alloc_counter.h"
#include "base/varint.h"
#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/protobuf_schema.h"


namespace sluice::schema::protobuf {
namespace {

namespace gp = google::protobuf;
using ::testing::HasSubstr;

constexpr char kShop[] = R"(syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string customer = 2;
  repeated Item items = 3;
  map<string, int32> tags = 4;
  repeated int32 codes = 5;
  oneof payment { string card = 6; Item voucher = 7; }
  double total = 8;
  fixed32 region = 9;
  sint32 delta = 10;
  message Item { string sku = 1; int32 qty = 2; }
}
)";

struct Fixture {
  std::unique_ptr<ParsedSchema> schema;
  const ProtobufSchema* proto = nullptr;
  gp::DynamicMessageFactory factory;
};

std::unique_ptr<Fixture> Load(const char* text) {
  auto f = std::make_unique<Fixture>();
  auto r = Parse(text, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  f->schema = std::move(r).value();
  f->proto = static_cast<const ProtobufSchema*>(f->schema.get());
  return f;
}

std::string Tag(uint32_t number, uint32_t wt) {
  std::string out;
  varint::AppendUnsigned(out, (uint64_t{number} << 3) | wt);
  return out;
}
std::string Bytes(uint32_t number, std::string_view value) {
  std::string out = Tag(number, 2);
  varint::AppendUnsigned(out, value.size());
  out.append(value);
  return out;
}

std::string ValidOrder(Fixture& f) {
  const gp::Descriptor* d = f.proto->file()->FindMessageTypeByName("Order");
  std::unique_ptr<gp::Message> m(f.factory.GetPrototype(d)->New());
  const gp::Reflection* r = m->GetReflection();
  r->SetInt64(m.get(), d->FindFieldByName("id"), -42);
  r->SetString(m.get(), d->FindFieldByName("customer"), "Zoë");
  for (int i = 0; i < 3; ++i) {
    gp::Message* item = r->AddMessage(m.get(), d->FindFieldByName("items"));
    const gp::Descriptor* id = item->GetDescriptor();
    item->GetReflection()->SetString(item, id->FindFieldByName("sku"), "sku-" + std::to_string(i));
    item->GetReflection()->SetInt32(item, id->FindFieldByName("qty"), -i);
  }
  gp::Message* tag = r->AddMessage(m.get(), d->FindFieldByName("tags"));
  tag->GetReflection()->SetString(tag, tag->GetDescriptor()->FindFieldByName("key"), "k");
  tag->GetReflection()->SetInt32(tag, tag->GetDescriptor()->FindFieldByName("value"), 7);
  for (int v : {1, -2, 300}) r->AddInt32(m.get(), d->FindFieldByName("codes"), v);
  r->SetString(m.get(), d->FindFieldByName("card"), "4111");
  r->SetDouble(m.get(), d->FindFieldByName("total"), 12.5);
  r->SetUInt32(m.get(), d->FindFieldByName("region"), 9);
  r->SetInt32(m.get(), d->FindFieldByName("delta"), -5);
  return m->SerializeAsString();
}

std::unique_ptr<Validator> Compile(const Fixture& f, std::vector<int32_t> indexes = {}) {
  auto v = f.schema->CompileValidator(indexes);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : nullptr;
}

TEST(ProtobufValidatorTest, AcceptsWellFormedPayloads) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  EXPECT_TRUE(v->Validate(ValidOrder(*f)).ok()) << v->Validate(ValidOrder(*f)).ToString();
  EXPECT_TRUE(v->Validate("").ok());
  // Unpacked encoding of a packed field, and unknown fields of every wire type.
  std::string extra = Tag(5, 0) + "\x01" + Tag(5, 0) + "\x02" + Tag(99, 0) + "\x96\x01" +
                      Tag(98, 1) + std::string(8, 'x') + Tag(97, 5) + "abcd" +
                      Bytes(96, "anything") + Tag(95, 3) + Tag(1, 0) + "\x01" + Tag(95, 4);
  EXPECT_TRUE(v->Validate(ValidOrder(*f) + extra).ok()) << v->Validate(extra).ToString();
}

TEST(ProtobufValidatorTest, WrongWireTypeNamesTheField) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  Status s = v->Validate(Bytes(1, "x"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'Order.id': expected wire type varint, got length-delimited");
  s = v->Validate(Tag(8, 5) + "abcd");
  EXPECT_EQ(s.message(), "field 'Order.total': expected wire type 64-bit, got 32-bit");
}

TEST(ProtobufValidatorTest, NestedErrorsNameTheRepeatedIndex) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  std::string good_item = Bytes(1, "ok") + Tag(2, 0) + "\x01";
  std::string bad_item = Bytes(1, "\xff\xfe");
  Status s = v->Validate(Tag(1, 0) + "\x01" + Bytes(3, good_item) + Bytes(2, "me") +
                         Bytes(3, good_item) + Bytes(3, bad_item));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "field 'Order.items[2].sku': invalid UTF-8 at byte 0");
  s = v->Validate(Bytes(3, Tag(2, 2) + "\x01x"));
  EXPECT_EQ(s.message(), "field 'Order.items[0].qty': expected wire type varint, got length-delimited");
  s = v->Validate(Bytes(4, Bytes(1, "k") + Bytes(2, "v")));
  EXPECT_EQ(s.message(), "field 'Order.tags[0].value': expected wire type varint, got length-delimited");
}

TEST(ProtobufValidatorTest, BoundsAreChecked) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  EXPECT_THAT(v->Validate(Tag(1, 0) + "\x80\x80").message(), HasSubstr("truncated or overlong varint"));
  EXPECT_THAT(v->Validate(Tag(1, 0) + std::string(10, '\xff') + "\x01").message(),
              HasSubstr("'Order.id': truncated or overlong varint"));
  EXPECT_THAT(v->Validate(Tag(2, 2) + "\x05" + "abc").message(),
              HasSubstr("'Order.customer': length 5 exceeds the 3 bytes left"));
  EXPECT_THAT(v->Validate(Tag(9, 5) + "ab").message(), HasSubstr("truncated 32-bit value"));
  EXPECT_THAT(v->Validate(Tag(10, 0) + "\x80\x80\x80\x80\x80\x01").message(),
              HasSubstr("'Order.delta': varint 34359738368 exceeds 32 bits"));
  // A length that leaves the enclosing message.
  std::string item = Tag(1, 2) + "\x09" + "abc";
  EXPECT_THAT(v->Validate(Bytes(3, item) + "zzzzzz").message(),
              HasSubstr("'Order.items[0].sku': length 9 exceeds the 3 bytes left"));
}

TEST(ProtobufValidatorTest, PackedRunsAreChecked) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  EXPECT_TRUE(v->Validate(Bytes(5, "\x01\x02\x96\x01")).ok());
  EXPECT_THAT(v->Validate(Bytes(5, "\x01\x96")).message(),
              HasSubstr("'Order.codes[1]': truncated or overlong varint"));
  auto g = Load("syntax = \"proto3\"; message M { repeated fixed32 xs = 1; repeated double ds = 2; }");
  auto w = Compile(*g);
  EXPECT_TRUE(w->Validate(Bytes(1, "abcdefgh") + Bytes(2, "12345678")).ok());
  EXPECT_THAT(w->Validate(Bytes(1, "abcdef")).message(), HasSubstr("packed 32-bit run of 6 bytes"));
  EXPECT_TRUE(w->Validate(Tag(1, 5) + "abcd").ok());  // unpacked element
}

TEST(ProtobufValidatorTest, MalformedTagsAndUnknownFieldsFail) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  EXPECT_THAT(v->Validate(Tag(0, 0) + "\x01").message(), HasSubstr("field number 0 is invalid"));
  EXPECT_THAT(v->Validate(Tag(50, 6)).message(), HasSubstr("'Order.#50': invalid wire type 6"));
  EXPECT_THAT(v->Validate(Tag(50, 2) + "\x09").message(),
              HasSubstr("'Order.#50': malformed length-delimited value"));
  EXPECT_THAT(v->Validate(Tag(50, 3) + Tag(1, 0) + "\x01").message(), HasSubstr("'Order.#50'"));
  EXPECT_THAT(v->Validate(Tag(50, 4)).message(), HasSubstr("unexpected end-group"));
}

TEST(ProtobufValidatorTest, Proto2RequiredFieldsAndGroups) {
  auto f = Load(R"(syntax = "proto2";
message M {
  required int64 id = 1;
  optional string name = 2;
  repeated group Line = 3 { required string text = 4; optional int32 n = 5; }
  optional Inner inner = 6;
  message Inner { required bool flag = 1; }
})");
  auto v = Compile(*f);
  std::string line = Tag(3, 3) + Bytes(4, "\xff") + Tag(3, 4);  // proto2: no UTF-8 check
  EXPECT_TRUE(v->Validate(Tag(1, 0) + "\x07" + line + line).ok());
  EXPECT_EQ(v->Validate(Bytes(2, "x")).message(), "field 'M.id': required field is missing");
  EXPECT_EQ(v->Validate(Tag(1, 0) + "\x07" + line + Tag(3, 3) + Tag(5, 0) + "\x01" + Tag(3, 4))
                .message(),
            "field 'M.line[1].text': required field is missing");
  EXPECT_EQ(v->Validate(Tag(1, 0) + "\x07" + Bytes(6, "")).message(),
            "field 'M.inner.flag': required field is missing");
  EXPECT_THAT(v->Validate(Tag(1, 0) + "\x07" + Tag(3, 3) + Bytes(4, "t")).message(),
              HasSubstr("'M.line[0]': unterminated group"));
}

TEST(ProtobufValidatorTest, MessageIndexesSelectTheMessage) {
  auto f = Load(R"(syntax = "proto3";
message A { int32 x = 1; }
message B { string s = 1; message C { bytes b = 1; } })");
  auto b = Compile(*f, {1});
  EXPECT_TRUE(b->Validate(Bytes(1, "text")).ok());
  EXPECT_THAT(b->Validate(Tag(1, 0) + "\x01").message(), HasSubstr("field 'B.s'"));
  auto c = Compile(*f, {1, 0});
  EXPECT_THAT(c->Validate(Tag(1, 0) + "\x01").message(), HasSubstr("field 'B.C.b'"));
  auto bad = f->schema->CompileValidator(std::vector<int32_t>{5});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
}

TEST(ProtobufValidatorTest, RecursiveMessagesAndDepthLimit) {
  auto f = Load("syntax = \"proto3\"; message T { repeated T kids = 1; int32 v = 2; }");
  auto v = Compile(*f);
  std::string payload = Tag(2, 0) + "\x01";
  for (int i = 0; i < 50; ++i) payload = Bytes(1, payload);
  EXPECT_TRUE(v->Validate(payload).ok());
  for (int i = 0; i < 60; ++i) payload = Bytes(1, payload);
  EXPECT_THAT(v->Validate(payload).message(), HasSubstr("nested too deeply"));
}

TEST(ProtobufValidatorTest, ValidateIsThreadSafe) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  std::string good = ValidOrder(*f);
  std::string bad = Bytes(1, "x");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!v->Validate(good).ok() || v->Validate(bad).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ProtobufValidatorTest, SuccessfulValidationDoesNotAllocate) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  std::string good = ValidOrder(*f);
  if (!g_counting_available) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(v->Validate(good).ok());
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
}

TEST(ProtobufValidatorTest, OutlivesItsSchema) {
  auto f = Load(kShop);
  auto v = Compile(*f);
  std::string good = ValidOrder(*f);
  f.reset();
  EXPECT_TRUE(v->Validate(good).ok());
}

}  // namespace
}  // namespace sluice::schema::protobuf
