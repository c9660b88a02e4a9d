// Parse errors, drafts, $ref resolution and the canonical/normalized forms.
#include "schema/json/json_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "schema/json/internal/diff.h"
#include "schema/json/internal/schema_set.h"

namespace sluice::schema::json {
namespace {

using internal::Kind;
using ::testing::HasSubstr;

std::unique_ptr<ParsedSchema> MustParse(std::string_view text,
                                        std::span<const ResolvedReference> refs = {}) {
  auto r = Parse(text, refs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

const internal::Node* Root(const ParsedSchema& s) {
  return static_cast<const JsonSchema&>(s).set().root();
}

Status ParseError(std::string_view text) {
  auto r = Parse(text, {});
  EXPECT_FALSE(r.ok()) << text;
  return r.status();
}

TEST(JsonSchemaTest, CanonicalIsCompactAndKeepsMemberOrder) {
  auto s = MustParse(R"({ "type" : "object",
      "properties": { "b": {"type": "string"}, "a": { "type": "integer" } } })");
  EXPECT_EQ(s->canonical(),
            R"({"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}})");
  EXPECT_EQ(s->Normalized(),
            R"({"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"})");
  EXPECT_EQ(s->type(), SchemaType::kJson);
}

TEST(JsonSchemaTest, WhitespaceVariantsShareTheCanonicalForm) {
  EXPECT_EQ(MustParse("{\"type\":\"string\"}")->canonical(),
            MustParse("\n{ \"type\" :\t\"string\" }\n")->canonical());
}

TEST(JsonSchemaTest, BooleanSchemasParse) {
  EXPECT_EQ(Root(*MustParse("true"))->kind, Kind::kTrue);
  EXPECT_EQ(Root(*MustParse("false"))->kind, Kind::kFalse);
  EXPECT_EQ(Root(*MustParse("{}"))->kind, Kind::kEmpty);
}

TEST(JsonSchemaTest, RejectsNonSchemas) {
  EXPECT_EQ(ParseError("42").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseError("[1]").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseError("{not json").code(), ErrorCode::kInvalidArgument);
}

TEST(JsonSchemaTest, ErrorsNameTheJsonPointer) {
  EXPECT_THAT(ParseError(R"({"properties":{"age":{"type":5}}})").message(),
              HasSubstr("#/properties/age/type"));
  EXPECT_THAT(ParseError(R"({"required":"x"})").message(), HasSubstr("#/required"));
  EXPECT_THAT(ParseError(R"({"properties":{"a":{"$ref":"#/definitions/missing"}}})").message(),
              HasSubstr("#/properties/a/$ref"));
  EXPECT_THAT(ParseError(R"({"pattern":"[a-"})").message(), HasSubstr("#/pattern"));
  EXPECT_THAT(ParseError(R"({"patternProperties":{"(":{}}})").message(),
              HasSubstr("#/patternProperties/("));
  EXPECT_THAT(ParseError(R"({"type":"strin"})").message(), HasSubstr("unknown type 'strin'"));
  EXPECT_THAT(ParseError(R"({"minLength":-1})").message(), HasSubstr("#/minLength"));
  EXPECT_THAT(ParseError(R"({"items":[{"type":"string"}, 3]})").message(),
              HasSubstr("#/items/1"));
  EXPECT_THAT(ParseError(R"({"allOf":[]})").message(), HasSubstr("#/allOf"));
  EXPECT_THAT(ParseError(R"({"multipleOf":0})").message(), HasSubstr("#/multipleOf"));
  EXPECT_THAT(ParseError(R"({"definitions":{"x":{"type":[]}}})").message(),
              HasSubstr("#/definitions/x/type"));
}

TEST(JsonSchemaTest, Draft4UsesBooleanExclusiveBounds) {
  auto s = MustParse(R"({"$schema":"http://json-schema.org/draft-04/schema#",
      "type":"number","maximum":10,"exclusiveMaximum":true})");
  const internal::Node* n = Root(*s);
  ASSERT_EQ(n->kind, Kind::kNumber);
  EXPECT_FALSE(n->maximum.has_value());
  EXPECT_EQ(n->exclusive_maximum, 10.0);
  EXPECT_THAT(ParseError(R"({"$schema":"http://json-schema.org/draft-04/schema#",
      "maximum":10,"exclusiveMaximum":12})").message(), HasSubstr("#/exclusiveMaximum"));
  EXPECT_THAT(ParseError(R"({"maximum":10,"exclusiveMaximum":true})").message(),
              HasSubstr("#/exclusiveMaximum"));
  auto s7 = MustParse(R"({"type":"number","exclusiveMaximum":10})");
  const internal::Node* d7 = Root(*s7);
  EXPECT_EQ(d7->exclusive_maximum, 10.0);
}

TEST(JsonSchemaTest, Draft2020PrefixItemsAndItems) {
  auto s = MustParse(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
      "type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  const internal::Node* n = Root(*s);
  ASSERT_EQ(n->kind, Kind::kArray);
  EXPECT_EQ(n->item_schemas.size(), 2u);
  EXPECT_FALSE(n->permits_additional_items);
  auto old = MustParse(R"({"type":"array","items":[{"type":"string"}],"additionalItems":false})");
  const internal::Node* o = Root(*old);
  EXPECT_EQ(o->item_schemas.size(), 1u);
  EXPECT_FALSE(o->permits_additional_items);
}

TEST(JsonSchemaTest, DefinitionsAndDefsRefsAreFollowed) {
  auto s = MustParse(R"({"$schema":"https://json-schema.org/draft/2019-09/schema",
      "$defs":{"name":{"type":"string"}},
      "definitions":{"age":{"type":"integer"}},
      "type":"object",
      "properties":{"n":{"$ref":"#/$defs/name"},"a":{"$ref":"#/definitions/age"}}})");
  const internal::Node* n = Root(*s);
  ASSERT_EQ(n->kind, Kind::kObject);
  ASSERT_EQ(n->properties.size(), 2u);
  EXPECT_EQ(n->properties[0].second->kind, Kind::kReference);
  EXPECT_EQ(n->properties[0].second->target->kind, Kind::kString);
  EXPECT_EQ(n->properties[1].second->target->kind, Kind::kNumber);
}

TEST(JsonSchemaTest, IdBasedAndAnchorRefsResolve) {
  auto s = MustParse(R"({"$id":"https://example.com/root.json",
      "definitions":{"addr":{"$id":"address.json","type":"object"},
                     "tag":{"$id":"#tag","type":"string"}},
      "properties":{"a":{"$ref":"address.json"},"b":{"$ref":"https://example.com/address.json"},
                    "c":{"$ref":"#tag"}}})");
  const internal::Node* n = Root(*s);
  ASSERT_EQ(n->properties.size(), 3u);
  EXPECT_EQ(n->properties[0].second->target->kind, Kind::kObject);
  EXPECT_EQ(n->properties[1].second->target->kind, Kind::kObject);
  EXPECT_EQ(n->properties[2].second->target->kind, Kind::kString);
}

TEST(JsonSchemaTest, RecursiveRefsTerminate) {
  auto s = MustParse(R"({"type":"object","properties":{"name":{"type":"string"},
      "children":{"type":"array","items":{"$ref":"#"}}}})");
  const internal::Node* n = Root(*s);
  const internal::Node* items = n->properties[1].second->all_items;
  EXPECT_EQ(items->target, n);
  EXPECT_TRUE(s->CheckCanRead(*s).empty());
}

TEST(JsonSchemaTest, JsonPointerEscapesInRefs) {
  auto s = MustParse(R"({"definitions":{"a/b":{"type":"string"},"c~d":{"type":"integer"},
      "e f":{"type":"boolean"}},
      "properties":{"x":{"$ref":"#/definitions/a~1b"},"y":{"$ref":"#/definitions/c~0d"},
                    "z":{"$ref":"#/definitions/e%20f"}}})");
  const internal::Node* n = Root(*s);
  EXPECT_EQ(n->properties[0].second->target->kind, Kind::kString);
  EXPECT_EQ(n->properties[1].second->target->kind, Kind::kNumber);
  EXPECT_EQ(n->properties[2].second->target->kind, Kind::kBoolean);
}

TEST(JsonSchemaTest, ReferencesToOtherRegisteredSchemas) {
  std::vector<ResolvedReference> refs;
  refs.emplace_back("address.json", "address-value", 1,
                    R"({"type":"object","properties":{"city":{"$ref":"city.json"}}})");
  refs.back().references.emplace_back("city.json", "city-value", 2, R"({"type":"string"})");
  auto s = MustParse(R"({"type":"object","properties":{"home":{"$ref":"address.json"}}})", refs);
  const internal::Node* home = Root(*s)->properties[0].second->target;
  ASSERT_EQ(home->kind, Kind::kObject);
  EXPECT_EQ(home->properties[0].second->target->kind, Kind::kString);
  EXPECT_THAT(ParseError(R"({"properties":{"home":{"$ref":"address.json"}}})").message(),
              HasSubstr("unresolvable $ref 'address.json'"));
}

TEST(JsonSchemaTest, MixedKeywordKindsBecomeSyntheticAllOf) {
  auto s1 = MustParse(R"({"type":"string","enum":["a","b"]})");
  const internal::Node* n = Root(*s1);
  ASSERT_EQ(n->kind, Kind::kCombined);
  EXPECT_TRUE(n->synthetic);
  EXPECT_EQ(n->criterion, internal::Criterion::kAllOf);
  EXPECT_EQ(n->subschemas.size(), 2u);
  auto s2 = MustParse(R"({"type":["string","null"]})");
  const internal::Node* multi = Root(*s2);
  ASSERT_EQ(multi->kind, Kind::kCombined);
  EXPECT_EQ(multi->criterion, internal::Criterion::kAnyOf);
  auto s3 = MustParse(R"({"minLength":2})");
  const internal::Node* sniffed = Root(*s3);
  EXPECT_EQ(sniffed->kind, Kind::kString);
  EXPECT_FALSE(sniffed->requires_string);
}

TEST(JsonSchemaTest, SiblingsOfRefAreIgnoredBeforeDraft2019) {
  auto s7 = MustParse(R"({"definitions":{"s":{"type":"string"}},"$ref":"#/definitions/s",
                          "maxLength":3})");
  const internal::Node* d7 = Root(*s7);
  EXPECT_EQ(d7->kind, Kind::kReference);
  auto s19 = MustParse(R"({"$schema":"https://json-schema.org/draft/2019-09/schema",
          "$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s","maxLength":3})");
  const internal::Node* d19 = Root(*s19);
  EXPECT_EQ(d19->kind, Kind::kCombined);
}

TEST(JsonSchemaTest, DifferentSchemaTypeIsOneMessage) {
  class Fake : public ParsedSchema {
   public:
    SchemaType type() const override { return SchemaType::kAvro; }
    const std::string& canonical() const override { return text_; }
    std::string Normalized() const override { return text_; }
    std::vector<std::string> CheckCanRead(const ParsedSchema&) const override { return {}; }
    Result<std::unique_ptr<Validator>> CompileValidator(
        std::span<const int32_t>) const override {
      return Unimplemented("fake");
    }
    Result<std::unique_ptr<ValueDecoder>> CompileDecoder(std::span<const int32_t>) const override {
      return Unimplemented("fake");
    }
    std::string text_ = "\"string\"";
  } avro;
  EXPECT_EQ(MustParse("{}")->CheckCanRead(avro).size(), 1u);
}

TEST(JsonSchemaTest, MessagesNameThePointerAndTheDifference) {
  auto writer = MustParse(R"({"type":"object","properties":{"name":{"type":"string"}}})");
  auto reader = MustParse(R"({"type":"object","properties":{"name":{"type":"string"},
      "email":{"type":"string"}}})");
  auto messages = reader->CheckCanRead(*writer);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0],
            "property 'email' at #/properties/email was added to an open content model: old "
            "documents may hold any value under that name [PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL]");
  EXPECT_TRUE(writer->CheckCanRead(*reader).empty());
}


// {"$ref":"#/$defs/d0","$defs":{"d0":{"properties":{"a":{"$ref":"#/$defs/d1"}}},...}}: each link
// takes two levels of the builder (the property and the $ref'd definition).
std::string RefChain(int links) {
  std::string defs;
  for (int i = 0; i < links; ++i) {
    defs += fmt::format(R"("d{}":{{"properties":{{"a":{{"$ref":"#/$defs/d{}"}}}}}},)", i, i + 1);
  }
  defs += fmt::format(R"("d{}":{{"type":"string"}})", links);
  return R"({"$ref":"#/$defs/d0","$defs":{)" + defs + "}}";
}

TEST(JsonSchemaTest, ALongRefChainIsRefusedNotAStackOverflow) {
  // 3000 links crashed the registry; the limit is 512 levels of nesting.
  Status st = ParseError(RefChain(3000));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("deeper than 512 levels"));
  auto ok = MustParse(RefChain(200));
  ASSERT_NE(ok, nullptr);
  EXPECT_TRUE(ok->CheckCanRead(*ok).empty());
}

TEST(JsonSchemaTest, ComparingHeavilySharedSubschemasGivesUpInBoundedTime) {
  // Every level refers to the next one twice, so the paths through 40 levels number 2^40.
  auto shared = [](const char* leaf) {
    std::string defs;
    for (int i = 0; i < 40; ++i) {
      defs += fmt::format(
          R"("d{0}":{{"type":"object","properties":{{"a":{{"$ref":"#/$defs/d{1}"}},)"
          R"("b":{{"$ref":"#/$defs/d{1}"}}}}}},)",
          i, i + 1);
    }
    defs += fmt::format(R"("d40":{{"type":"{}"}})", leaf);
    return R"({"$ref":"#/$defs/d0","$defs":{)" + defs + "}}";
  };
  auto writer = MustParse(shared("string"));
  auto reader = MustParse(shared("integer"));
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  auto messages = reader->CheckCanRead(*writer);
  ASSERT_FALSE(messages.empty());
  EXPECT_THAT(messages.back(), HasSubstr("COMPARISON_TOO_COMPLEX"));
}

}  // namespace
}  // namespace sluice::schema::json
