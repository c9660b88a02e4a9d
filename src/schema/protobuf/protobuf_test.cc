// Parsing, canonical and normalized printing, imports and well-known types.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "schema/protobuf/protobuf.h"

namespace sluice::schema::protobuf {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ParsedSchema> MustParse(std::string_view text,
                                        std::span<const ResolvedReference> refs = {}) {
  auto r = Parse(text, refs);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << text;
  return r.ok() ? std::move(r).value() : nullptr;
}

constexpr char kOrder[] = R"(syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
option java_package = "com.shop"; option java_multiple_files = true;
message Order {
  reserved 5, 9 to 11; reserved "old";
  option deprecated = true;
  // a comment
  int64 id = 1 [deprecated = true, json_name = "ID"];
  map<string, Item> items = 2;
  optional string note = 3;
  oneof payment { string card = 4; Item voucher = 6; }
  google.protobuf.Timestamp at = 7;
  repeated int32 codes = 8 [packed = true];
  message Item { string sku = 1; double price = 2; }
  enum Status { option allow_alias = true; NEW = 0; OLD = 1 [deprecated = true]; ALIAS = 1; }
}
enum Top { A = 0; }
service Orders { rpc Get (Order) returns (stream Order.Item); }
)";

constexpr char kOrderCanonical[] = R"(syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.shop";
option java_multiple_files = true;

message Order {
  reserved 5, 9 to 11;
  reserved "old";

  option deprecated = true;

  int64 id = 1 [
    deprecated = true,
    json_name = "ID"
  ];
  map<string, Item> items = 2;
  optional string note = 3;
  google.protobuf.Timestamp at = 7;
  repeated int32 codes = 8 [packed = true];

  oneof payment {
    string card = 4;
    Item voucher = 6;
  }

  message Item {
    string sku = 1;
    double price = 2;
  }
  enum Status {
    option allow_alias = true;
    NEW = 0;
    OLD = 1 [deprecated = true];
    ALIAS = 1;
  }
}
enum Top {
  A = 0;
}

service Orders {
  rpc Get (Order) returns (stream Order.Item);
}
)";

TEST(ProtobufParseTest, CanonicalFollowsConfluentLayout) {
  auto schema = MustParse(kOrder);
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->type(), SchemaType::kProtobuf);
  EXPECT_EQ(schema->canonical(), kOrderCanonical);
}

TEST(ProtobufParseTest, CanonicalIsAFixedPointAndIgnoresWhitespaceAndComments) {
  auto a = MustParse(kOrder);
  auto b = MustParse(a->canonical());
  EXPECT_EQ(a->canonical(), b->canonical());
  auto c = MustParse(
      "// leading comment\nsyntax=\"proto3\";package shop.v1;import \"google/protobuf/"
      "timestamp.proto\";option java_package=\"com.shop\";option java_multiple_files=true;"
      "message Order{reserved 5,9 to 11;reserved \"old\";option deprecated=true;"
      "int64 id=1[deprecated=true,json_name=\"ID\"];map<string,Item>items=2;/* c */"
      "optional string note=3;oneof payment{string card=4;Item voucher=6;}"
      "google.protobuf.Timestamp at=7;repeated int32 codes=8[packed=true];"
      "message Item{string sku=1;double price=2;}enum Status{option allow_alias=true;NEW=0;"
      "OLD=1[deprecated=true];ALIAS=1;}}enum Top{A=0;}"
      "service Orders{rpc Get(Order)returns(stream Order.Item);}");
  EXPECT_EQ(a->canonical(), c->canonical());
}

TEST(ProtobufParseTest, NormalizedSortsAndQualifiesAndReparses) {
  auto a = MustParse(kOrder);
  std::string normalized = a->Normalized();
  EXPECT_THAT(normalized, HasSubstr("option java_multiple_files = true;\noption java_package"));
  EXPECT_THAT(normalized, HasSubstr("map<string, .shop.v1.Order.Item> items = 2;"));
  EXPECT_THAT(normalized, HasSubstr(".google.protobuf.Timestamp at = 7;"));
  EXPECT_THAT(normalized, HasSubstr("  reserved 5;\n  reserved 9 to 11;\n"));
  EXPECT_THAT(normalized, HasSubstr("ALIAS = 1;\n    OLD = 1"));
  EXPECT_THAT(normalized, HasSubstr("rpc Get (.shop.v1.Order) returns (stream .shop.v1.Order.Item)"));
  auto b = MustParse(normalized);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Normalized(), normalized);

  // Field order and name qualification do not matter to the normalized form.
  auto x = MustParse("syntax = \"proto3\"; package p; message M { string b = 2; N a = 1; "
                     "message N {} }");
  auto y = MustParse("syntax = \"proto3\"; package p; message M { .p.M.N a = 1; string b = 2; "
                     "message N {} }");
  EXPECT_NE(x->canonical(), y->canonical());
  EXPECT_EQ(x->Normalized(), y->Normalized());
}

TEST(ProtobufParseTest, Proto2LabelsDefaultsGroupsAndExtensions) {
  constexpr char kText[] = R"(syntax = "proto2";
package p2;
message M {
  required string name = 1 [default = "a\"b"];
  optional int32 count = 2 [default = -3];
  repeated group Line = 3 { optional string text = 4; }
  extensions 100 to max;
}
extend M { optional bool flag = 100; }
)";
  auto a = MustParse(kText);
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->canonical(), HasSubstr("required string name = 1 [default = \"a\\\"b\"];"));
  EXPECT_THAT(a->canonical(), HasSubstr("optional int32 count = 2 [default = -3];"));
  EXPECT_THAT(a->canonical(), HasSubstr("repeated group Line = 3 {\n    optional string text = 4;\n  }"));
  EXPECT_THAT(a->canonical(), HasSubstr("extensions 100 to max;"));
  EXPECT_THAT(a->canonical(), HasSubstr("extend M {\n  optional bool flag = 100;\n}\n"));
  auto b = MustParse(a->canonical());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->canonical(), b->canonical());
  EXPECT_NE(MustParse(a->Normalized()), nullptr);
}

TEST(ProtobufParseTest, SyntaxErrorsNameLineAndColumn) {
  auto r = Parse("syntax = \"proto3\";\nmessage A {\n  int32 x = 1\n}\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("line 4:1:"));
  EXPECT_THAT(r.status().message(), HasSubstr("Expected \";\""));
}

// 20,000 nested messages overflowed the stack and 10,000 took 6 s to be refused; nesting past
// 64 levels is now refused before the parser runs. Braces in comments and strings do not count.
TEST(ProtobufParseTest, DeepNestingIsRefusedQuickly) {
  auto nested = [](int n) {
    std::string text = "syntax = \"proto3\";\n";
    for (int i = 0; i < n; ++i) text += "message M" + std::to_string(i) + " {\n";
    text += "int32 x = 1;\n";
    for (int i = 0; i < n; ++i) text += "}\n";
    return text;
  };
  auto r = Parse(nested(20000), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("line 66: definitions nested deeper than 64"));
  EXPECT_NE(MustParse(nested(31)), nullptr);  // libprotobuf's own limit: 31 nested messages
  std::string decoys = "syntax = \"proto3\";\n// {{{{\n/* [[[[ {{{{ */\nmessage A {\n"
                       "  string s = 1 [json_name = \"{{{{\\\"{{\"];\n}\n";
  for (int i = 0; i < 70; ++i) decoys += "// {\n/* { */\n";
  EXPECT_NE(MustParse(decoys), nullptr);
}

// Message types that come from a reference on one side and are local on the other are compared
// once per field that reaches them: 40 levels of two fields each meant 2^40 comparisons. The
// check now gives up after a budget and reports it.
TEST(ProtobufCompatibilityTest, SharedMessageTypesAcrossOriginsAreComparedInBoundedTime) {
  std::string types;
  for (int i = 0; i < 40; ++i) {
    types += fmt::format("message M{0} {{ M{1} a = 1; M{1} b = 2; }}\n", i, i + 1);
  }
  types += "message M40 { int32 x = 1; }\n";
  auto writer = MustParse("syntax = \"proto3\";\n" + types + "message Root { M0 f = 1; }\n");
  std::vector<ResolvedReference> refs = {
      {"m.proto", "m", 1, "syntax = \"proto3\";\n" + types}};
  auto reader = MustParse(
      "syntax = \"proto3\";\nimport \"m.proto\";\nmessage Root { M0 f = 1; }\n", refs);
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  auto messages = reader->CheckCanRead(*writer);
  bool gave_up = false;
  for (const auto& m : messages) gave_up = gave_up || m.find("gave up") != std::string::npos;
  EXPECT_TRUE(gave_up) << messages.size() << " messages";
}

TEST(ProtobufParseTest, DefinitionErrorsNameLineAndColumn) {
  auto r = Parse("syntax = \"proto3\";\nmessage A {\n  Foo x = 1;\n}\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 3:3:"));
  EXPECT_THAT(r.status().message(), HasSubstr("\"Foo\" is not defined"));

  r = Parse("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n  string y = 1;\n}\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 4:"));
}

TEST(ProtobufParseTest, ImportsResolveThroughReferences) {
  std::vector<ResolvedReference> inner = {
      {"common/money.proto", "money", 2, "syntax = \"proto3\"; package common; "
                                         "message Money { int64 units = 1; string currency = 2; }"}};
  ResolvedReference outer("shop/item.proto", "item", 1,
                          "syntax = \"proto3\"; package shop; import \"common/money.proto\"; "
                          "message Item { string sku = 1; common.Money price = 2; }");
  outer.references = inner;
  std::vector<ResolvedReference> refs = {outer};
  // common/money.proto comes with the reference's own references.
  auto schema = MustParse("syntax = \"proto3\"; package shop; import \"shop/item.proto\"; "
                          "import \"common/money.proto\"; "
                          "message Order { repeated Item items = 1; common.Money total = 2; }",
                          refs);
  ASSERT_NE(schema, nullptr);
  EXPECT_THAT(schema->canonical(), HasSubstr("import \"shop/item.proto\";"));
}

TEST(ProtobufParseTest, UnresolvedImportIsNamed) {
  auto r = Parse("syntax = \"proto3\"; import \"missing/x.proto\"; message A {}", {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("import 'missing/x.proto' is not resolved"));

  std::vector<ResolvedReference> refs = {
      {"a.proto", "a", 1, "syntax = \"proto3\"; import \"b.proto\"; message A {}"}};
  r = Parse("syntax = \"proto3\"; import \"a.proto\"; message M { A a = 1; }", refs);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("import 'a.proto': import 'b.proto'"));
}

TEST(ProtobufParseTest, ErrorsInReferencesNameTheImport) {
  std::vector<ResolvedReference> refs = {{"a.proto", "a", 1, "syntax = \"proto3\";\nmessage A {"}};
  auto r = Parse("syntax = \"proto3\"; import \"a.proto\"; message M { A a = 1; }", refs);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("import 'a.proto': line 2:"));
}

TEST(ProtobufParseTest, ImportCycleIsAnError) {
  std::vector<ResolvedReference> refs = {
      {"a.proto", "a", 1, "syntax = \"proto3\"; import \"b.proto\"; message A {}"},
      {"b.proto", "b", 1, "syntax = \"proto3\"; import \"a.proto\"; message B {}"}};
  auto r = Parse("syntax = \"proto3\"; import \"a.proto\"; message M {}", refs);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("import cycle"));
}

TEST(ProtobufParseTest, WellKnownTypesNeedNoReferences) {
  auto schema = MustParse(R"(syntax = "proto3";
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/api.proto";
message M {
  google.protobuf.Any any = 1;
  google.protobuf.Struct s = 2;
  google.protobuf.StringValue w = 3;
  google.protobuf.Duration d = 4;
  google.protobuf.Empty e = 5;
  google.protobuf.Api api = 6;
})");
  EXPECT_NE(schema, nullptr);
}

TEST(ProtobufParseTest, FileWithoutSyntaxIsProto2AndPrintsNoSyntax) {
  auto schema = MustParse("message A { optional int32 x = 1; }");
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->canonical(), "\nmessage A {\n  optional int32 x = 1;\n}\n");
}

}  // namespace
}  // namespace sluice::schema::protobuf

namespace sluice::schema::protobuf {
namespace {

TEST(ProtobufParseTest, CustomOptionsPrintAndReparse) {
  auto a = MustParse(R"(syntax = "proto3";
package acme;
import "google/protobuf/descriptor.proto";
extend google.protobuf.FieldOptions { string pii = 50000; }
extend google.protobuf.MessageOptions { Meta meta = 50001; }
message Meta { string owner = 1; int32 tier = 2; }
message User {
  option (meta) = { owner: "team-a" tier: 2 };
  string email = 1 [(pii) = "high", deprecated = true];
  double score = 2 [(pii) = "low"];
}
)");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->canonical(), HasSubstr("option (meta) = { owner : \"team-a\" tier : 2 };"));
  EXPECT_THAT(a->canonical(), HasSubstr("string email = 1 [\n    (pii) = \"high\",\n    deprecated = true\n  ];"));
  EXPECT_THAT(a->canonical(), HasSubstr("extend google.protobuf.FieldOptions {\n  string pii = 50000;\n}\n"));
  auto b = MustParse(a->canonical());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->canonical(), b->canonical());
  auto c = MustParse(a->Normalized());
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(a->Normalized(), HasSubstr("extend .google.protobuf.FieldOptions {"));
  EXPECT_EQ(c->Normalized(), a->Normalized());
}

}  // namespace
}  // namespace sluice::schema::protobuf
