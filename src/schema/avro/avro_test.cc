// Parser, canonical text, normalized text, Parsing Canonical Form and reference tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "schema/avro/avro.h"

namespace sluice::schema::avro {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<AvroSchema> MustParse(std::string_view text,
                                      std::span<const ResolvedReference> refs = {}) {
  auto r = ParseAvro(text, refs);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::string ParseError(std::string_view text) {
  auto r = ParseAvro(text, {});
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? (*r)->canonical() : "");
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

std::string Canonical(std::string_view text) {
  auto s = MustParse(text);
  return s ? s->canonical() : "";
}

TEST(AvroParseTest, RejectsInvalidNames) {
  EXPECT_THAT(ParseError(R"({"type":"record","name":"1abc","fields":[]})"),
              HasSubstr("invalid name '1abc'"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"a-b","fields":[]})"),
              HasSubstr("invalid name"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","namespace":"com..x","fields":[]})"),
              HasSubstr("invalid namespace"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"my-field","type":"int"}]})"),
              HasSubstr("field 'my-field' of record 'R': invalid field name"));
  EXPECT_THAT(ParseError(R"({"type":"enum","name":"E","symbols":["A","1B"]})"),
              HasSubstr("invalid enum symbol \"1B\""));
  EXPECT_THAT(ParseError(R"({"type":"fixed","name":"int","size":4})"),
              HasSubstr("named after the primitive type"));
}

TEST(AvroParseTest, RejectsBadDefaults) {
  EXPECT_EQ(ParseError(R"({"type":"record","name":"Order","namespace":"com.acme",
      "fields":[{"name":"price","type":"string","default":null}]})"),
            "field 'price' of record 'com.acme.Order': default null is not a valid \"string\"");
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[
      {"name":"a","type":["string","null"],"default":null}]})"),
              HasSubstr("default null is not a valid [\"string\",\"null\"]"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1.5}]})"),
              HasSubstr("default 1.5"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"int","default":3000000000}]})"),
              HasSubstr("not a valid \"int\""));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"boolean","default":"true"}]})"),
              HasSubstr("not a valid \"boolean\""));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":"int"},"default":[1,"x"]}]})"),
              HasSubstr("not a valid"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"double","default":"abc"}]})"),
              HasSubstr("not a valid \"double\""));
  EXPECT_THAT(ParseError(R"({"type":"enum","name":"E","symbols":["A","B"],"default":"C"})"),
              HasSubstr("enum default 'C' is not one of its symbols"));
  // Valid ones.
  MustParse(R"({"type":"record","name":"R","fields":[
      {"name":"a","type":["null","string"],"default":null},
      {"name":"b","type":["string","null"],"default":"x"},
      {"name":"c","type":"long","default":9000000000},
      {"name":"d","type":"double","default":1},
      {"name":"e","type":"float","default":"NaN"},
      {"name":"f","type":{"type":"map","values":"int"},"default":{"k":1}},
      {"name":"g","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"},
        {"name":"y","type":"int","default":2}]},"default":{"x":1}},
      {"name":"h","type":{"type":"enum","name":"E","symbols":["A"]},"default":"A"}]})");
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[
      {"name":"g","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]},
       "default":{}}]})"),
              HasSubstr("field 'g'"));
}

TEST(AvroParseTest, RejectsUnknownTypesAndDuplicates) {
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"Money"}]})"),
              HasSubstr("field 'a' of record 'R': unknown type \"Money\""));
  EXPECT_THAT(ParseError(R"({"type":"strng"})"), HasSubstr("unknown type \"strng\""));
  EXPECT_THAT(ParseError(R"("integer")"), HasSubstr("unknown type"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},
      {"name":"a","type":"long"}]})"),
              HasSubstr("field 'a' of record 'R': duplicate field name"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R","fields":[
      {"name":"a","type":{"type":"fixed","name":"R","size":1}}]})"),
              HasSubstr("defined twice"));
  EXPECT_THAT(ParseError(R"({"type":"enum","name":"E","symbols":["A","A"]})"),
              HasSubstr("duplicate enum symbol 'A'"));
  EXPECT_THAT(ParseError(R"({"type":"record","name":"R"})"), HasSubstr("no \"fields\""));
  EXPECT_THAT(ParseError(R"({"type":"fixed","name":"F","size":-1})"), HasSubstr("fixed size"));
  EXPECT_THAT(ParseError(R"({"type":"array"})"), HasSubstr("no \"items\""));
  EXPECT_THAT(ParseError(R"({"name":"x"})"), HasSubstr("no \"type\""));
  EXPECT_THAT(ParseError("{not json"), HasSubstr("not valid JSON"));
}

TEST(AvroParseTest, RejectsNestedAndDuplicateUnionBranches) {
  EXPECT_THAT(ParseError(R"(["null",["int","string"]])"), HasSubstr("may not be nested"));
  EXPECT_THAT(ParseError(R"(["int","string","int"])"), HasSubstr("union contains 'int' twice"));
  EXPECT_THAT(ParseError(R"([{"type":"array","items":"int"},{"type":"array","items":"long"}])"),
              HasSubstr("'array' twice"));
  MustParse(R"([{"type":"fixed","name":"A","size":1},{"type":"fixed","name":"B","size":1}])");
  MustParse("[]");
}

TEST(AvroParseTest, ResolvesNamespacesAndRecursion) {
  auto s = MustParse(R"({"type":"record","name":"Node","namespace":"a.b","fields":[
      {"name":"next","type":["null","Node"]},
      {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["X"]}},
      {"name":"other","type":{"type":"fixed","name":"c.Other","size":2}},
      {"name":"again","type":"a.b.Kind"},
      {"name":"o2","type":"c.Other"}]})");
  ASSERT_TRUE(s);
  const Node& root = s->root();
  EXPECT_EQ(root.full_name, "a.b.Node");
  EXPECT_EQ(root.fields[0].type->branches[1], &root);
  EXPECT_EQ(root.fields[1].type->full_name, "a.b.Kind");
  EXPECT_EQ(root.fields[2].type->full_name, "c.Other");
  EXPECT_EQ(root.fields[3].type, root.fields[1].type);
  EXPECT_EQ(root.fields[4].type, root.fields[2].type);
}

TEST(AvroParseTest, KeepsLogicalTypesAndIgnoresInvalidOnes) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[
      {"name":"a","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
      {"name":"b","type":{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}},
      {"name":"c","type":{"type":"fixed","name":"F","size":4,"logicalType":"decimal","precision":9}},
      {"name":"d","type":{"type":"fixed","name":"G","size":4,"logicalType":"decimal","precision":10}},
      {"name":"e","type":{"type":"int","logicalType":"date"}},
      {"name":"f","type":{"type":"string","logicalType":"date"}},
      {"name":"g","type":{"type":"long","logicalType":"timestamp-micros"}},
      {"name":"h","type":{"type":"fixed","name":"D","size":12,"logicalType":"duration"}},
      {"name":"i","type":{"type":"string","logicalType":"uuid"}},
      {"name":"j","type":{"type":"long","logicalType":"local-timestamp-millis"}},
      {"name":"k","type":{"type":"int","logicalType":"time-millis"}}]})");
  ASSERT_TRUE(s);
  const auto& f = s->root().fields;
  EXPECT_EQ(f[0].type->logical_type, LogicalType::kDecimal);
  EXPECT_EQ(f[0].type->precision, 9);
  EXPECT_EQ(f[0].type->scale, 2);
  EXPECT_EQ(f[1].type->logical_type, LogicalType::kNone);  // scale > precision
  EXPECT_EQ(f[2].type->logical_type, LogicalType::kDecimal);
  EXPECT_EQ(f[3].type->logical_type, LogicalType::kNone);  // 4 bytes hold 9 digits at most
  EXPECT_EQ(f[4].type->logical_type, LogicalType::kDate);
  EXPECT_EQ(f[5].type->logical_type, LogicalType::kNone);
  EXPECT_EQ(f[6].type->logical_type, LogicalType::kTimestampMicros);
  EXPECT_EQ(f[7].type->logical_type, LogicalType::kDuration);
  EXPECT_EQ(f[8].type->logical_type, LogicalType::kUuid);
  EXPECT_EQ(f[9].type->logical_type, LogicalType::kLocalTimestampMillis);
  EXPECT_EQ(f[10].type->logical_type, LogicalType::kTimeMillis);
  // The property stays either way.
  EXPECT_THAT(s->canonical(), HasSubstr(R"({"type":"string","logicalType":"date"})"));
}

TEST(AvroCanonicalTest, PrintsLikeJavaToString) {
  EXPECT_EQ(Canonical(R"( { "type" : "int" } )"), R"("int")");
  EXPECT_EQ(Canonical(R"({"fields":[{"type":"string","name":"name"},
        {"default":null,"type":["null","long"],"name":"age","doc":"years"}],
      "doc":"a user","namespace":"com.acme","name":"User","type":"record","aliases":["Person"],
      "owner":"team-a"})"),
            R"({"type":"record","name":"User","namespace":"com.acme","doc":"a user","fields":[)"
            R"({"name":"name","type":"string"},{"name":"age","type":["null","long"],"doc":"years",)"
            R"("default":null}],"owner":"team-a","aliases":["Person"]})");
  EXPECT_EQ(Canonical(R"({"type":"enum","symbols":["A","B"],"name":"E","default":"A","x":1})"),
            R"({"type":"enum","name":"E","symbols":["A","B"],"default":"A","x":1})");
  EXPECT_EQ(Canonical(R"({"size":16,"type":"fixed","name":"md5","namespace":"h","aliases":["h.old","x.y"]})"),
            R"({"type":"fixed","name":"md5","namespace":"h","size":16,"aliases":["old","x.y"]})");
  EXPECT_EQ(Canonical(R"({"type":"map","values":{"type":"array","items":"bytes","p":[1]}})"),
            R"({"type":"map","values":{"type":"array","items":"bytes","p":[1]}})");
  // Field attributes: name, type, doc, default, order, aliases, then properties.
  EXPECT_EQ(Canonical(R"({"type":"record","name":"R","fields":[{"x-prop":true,"aliases":["old"],
      "order":"DESCENDING","default":1.50,"doc":"d","type":"double","name":"f"}]})"),
            R"({"type":"record","name":"R","fields":[{"name":"f","type":"double","doc":"d",)"
            R"("default":1.5,"order":"descending","aliases":["old"],"x-prop":true}]})");
}

TEST(AvroCanonicalTest, WritesNamesRelativeToTheEnclosingNamespace) {
  EXPECT_EQ(Canonical(R"({"type":"record","name":"a.Outer","fields":[
      {"name":"x","type":{"type":"record","name":"Inner","fields":[]}},
      {"name":"y","type":"Inner"},
      {"name":"z","type":{"type":"enum","name":"b.E","symbols":["S"]}},
      {"name":"w","type":"b.E"},
      {"name":"v","type":{"type":"record","name":"Top","namespace":"","fields":[
        {"name":"q","type":"a.Inner"}]}}]})"),
            R"({"type":"record","name":"Outer","namespace":"a","fields":[)"
            R"({"name":"x","type":{"type":"record","name":"Inner","fields":[]}},)"
            R"({"name":"y","type":"Inner"},)"
            R"({"name":"z","type":{"type":"enum","name":"E","namespace":"b","symbols":["S"]}},)"
            R"({"name":"w","type":"b.E"},)"
            R"({"name":"v","type":{"type":"record","name":"Top","namespace":"","fields":[)"
            R"({"name":"q","type":"a.Inner"}]}}]})");
}

TEST(AvroCanonicalTest, WhitespaceAndAttributeOrderDoNotChangeTheText) {
  std::string a = Canonical(R"({"type":"record","name":"User","namespace":"com.acme","fields":[
      {"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]})");
  std::string b = Canonical(R"(
  {
    "fields" : [ { "type" : "long", "name" : "id" },
                 { "default" : null, "name" : "email", "type" : [ "null", "string" ] } ],
    "namespace" : "com.acme",
    "name" : "User",
    "type" : "record"
  })");
  std::string c = Canonical(R"({"type":"record","name":"com.acme.User","fields":[
      {"name":"id","type":{"type":"long"}},{"name":"email","type":["null","string"],"default":null}]})");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  std::string with_doc = Canonical(R"({"type":"record","name":"User","namespace":"com.acme",
      "doc":"changed","fields":[{"name":"id","type":"long"},
      {"name":"email","type":["null","string"],"default":null}]})");
  EXPECT_NE(a, with_doc);
}

TEST(AvroCanonicalTest, EscapesStringsAndNormalizesNumbersLikeJackson) {
  EXPECT_EQ(Canonical(R"({"type":"record","name":"R","doc":"line\nbreak \"q\" \u0001 \u00e9 /",
      "fields":[{"name":"a","type":"double","default":1e3},
                {"name":"b","type":"double","default":12345678.9},
                {"name":"c","type":"double","default":0.0001},
                {"name":"d","type":"long","default":-0},
                {"name":"e","type":"double","default":"2.5"}]})"),
            "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"line\\nbreak \\\"q\\\" \\u0001 \xc3\xa9 /\","
            "\"fields\":[{\"name\":\"a\",\"type\":\"double\",\"default\":1000.0},"
            "{\"name\":\"b\",\"type\":\"double\",\"default\":1.23456789E7},"
            "{\"name\":\"c\",\"type\":\"double\",\"default\":1.0E-4},"
            "{\"name\":\"d\",\"type\":\"long\",\"default\":0},"
            "{\"name\":\"e\",\"type\":\"double\",\"default\":2.5}]}");
}

TEST(AvroNormalizedTest, UsesFullNamesSortedPropertiesAndAliases) {
  auto a = MustParse(R"({"type":"record","name":"User","namespace":"com.acme","z":1,"a":2,
      "aliases":["Zed","Alpha"],"fields":[{"name":"id","type":"int","doc":"x"},
      {"name":"amount","type":"double","default":1}]})");
  auto b = MustParse(R"({"namespace":"com.acme","a":2,"z":1,"name":"User","type":"record",
      "aliases":["Alpha","Zed"],"fields":[{"doc":"x","name":"id","type":"int"},
      {"name":"amount","type":"double","default":1.0}]})");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->canonical(), b->canonical());  // property and alias order differ
  EXPECT_EQ(a->Normalized(), b->Normalized());
  EXPECT_EQ(a->Normalized(),
            R"({"type":"record","name":"User","namespace":"com.acme","fields":[)"
            R"({"name":"id","type":"int","doc":"x"},)"
            R"({"name":"amount","type":"double","default":1.0}],"a":2,"z":1,)"
            R"("aliases":["Alpha","Zed"]})");
}

TEST(AvroNormalizedTest, SpellsOutLogicalTypesOnce) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[
      {"name":"a","type":{"scale":2,"precision":4,"logicalType":"decimal","type":"bytes"}},
      {"name":"b","type":{"type":"fixed","name":"D","size":12,"logicalType":"duration","x":1}},
      {"name":"c","type":{"type":"int","logicalType":"nonsense"}}]})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Normalized(),
            R"({"type":"record","name":"R","fields":[)"
            R"({"name":"a","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}},)"
            R"({"name":"b","type":{"type":"fixed","name":"D","size":12,"logicalType":"duration","x":1}},)"
            R"({"name":"c","type":{"type":"int","logicalType":"nonsense"}}]})");
}

// Parsing Canonical Form and fingerprints: vectors from the Avro specification's test suite.
TEST(AvroPcfTest, MatchesTheSpecificationVectors) {
  struct Case {
    const char* input;
    const char* pcf;
    int64_t fingerprint;
  };
  const Case cases[] = {
      {R"("null")", R"("null")", 7195948357588979594},
      {R"({"type":"boolean"})", R"("boolean")", -6970731678124411036},
      {R"("int")", R"("int")", 8247732601305521295},
      {R"({"type":"long"})", R"("long")", -3434872931120570953},
      {R"("float")", R"("float")", 5583340709985441680},
      {R"("double")", R"("double")", -8181574048448539266},
      {R"("bytes")", R"("bytes")", 5746618253357095269},
      {R"("string")", R"("string")", -8142146995180207161},
      {"[ ]", "[]", -1241056759729112623},
      {R"([ "int" ])", R"(["int"])", -5232228896498058493},
      {R"([ "int" , {"type":"boolean"} ])", R"(["int","boolean"])", 5392556393470105090},
      {R"({"fields":[], "type":"record", "name":"foo"})", R"({"name":"foo","type":"record","fields":[]})",
       -4824392279771201922},
      {R"({"fields":[], "type":"record", "name":"foo", "namespace":"x.y"})",
       R"({"name":"x.y.foo","type":"record","fields":[]})", 5916914534497305771},
      {R"({"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"})",
       R"({"name":"a.b.foo","type":"record","fields":[]})", -4616218487480524110},
      {R"({"fields":[], "type":"record", "name":"foo", "doc":"Useful info", "aliases":["bar"]})",
       R"({"name":"foo","type":"record","fields":[]})", -4824392279771201922},
      {R"({"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"})",
       R"({"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]})",
       7843277075252814651},
      {R"({"fields":[{"type":"boolean","aliases":[],"name":"f1","default":true},
          {"order":"descending","name":"f2","doc":"Hello","type":"int"}],"type":"record","name":"foo"})",
       R"({"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]})",
       -4860222112080293046},
      {R"({"type":"enum", "name":"foo", "symbols":["A1"]})",
       R"({"name":"foo","type":"enum","symbols":["A1"]})", -6342190197741309591},
      {R"({"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]})",
       R"({"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]})", -4448647247586288245},
      {R"({"name":"foo","type":"fixed","size":15})", R"({"name":"foo","type":"fixed","size":15})",
       1756455273707447556},
      {R"({"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32})",
       R"({"name":"x.y.z.foo","type":"fixed","size":32})", -3064184465700546786},
      {R"({ "items":{"type":"null"}, "type":"array"})", R"({"type":"array","items":"null"})",
       -589620603366471059},
      {R"({ "values":"string", "type":"map"})", R"({"type":"map","values":"string"})",
       -8732877298790414990},
      {R"({"name":"PigValue","type":"record",
          "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]})",
       R"({"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]})",
       -1759257747318642341},
  };
  for (const auto& c : cases) {
    auto s = MustParse(c.input);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->ParsingCanonicalForm(), c.pcf) << c.input;
    EXPECT_EQ(static_cast<int64_t>(s->Fingerprint()), c.fingerprint) << c.input;
  }
  EXPECT_EQ(Fingerprint64(""), 0xc15d213aa4d7a795ULL);
}

TEST(AvroReferenceTest, ReferencedTypesAreUsableByNameAndPrintedByName) {
  ResolvedReference country("com.acme.Country", "country", 1,
                            R"({"type":"enum","name":"Country","namespace":"com.acme","symbols":["DE","FR"]})");
  ResolvedReference address("com.acme.Address", "address", 2,
                            R"({"type":"record","name":"Address","namespace":"com.acme","fields":[
                               {"name":"street","type":"string"},{"name":"country","type":"Country"}]})");
  address.references.push_back(country);
  std::vector<ResolvedReference> refs = {address};
  auto s = MustParse(R"({"type":"record","name":"Customer","namespace":"com.acme","fields":[
      {"name":"home","type":"Address"},{"name":"work","type":["null","com.acme.Address"]}]})",
                     refs);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->canonical(),
            R"({"type":"record","name":"Customer","namespace":"com.acme","fields":[)"
            R"({"name":"home","type":"Address"},{"name":"work","type":["null","Address"]}]})");
  EXPECT_EQ(s->root().fields[0].type->fields[1].type->symbols.size(), 2u);
  // Without the reference the name is unknown.
  EXPECT_THAT(ParseError(R"({"type":"record","name":"Customer","namespace":"com.acme","fields":[
      {"name":"home","type":"Address"}]})"),
              HasSubstr("unknown type \"Address\""));
  // A broken reference is reported as such.
  std::vector<ResolvedReference> bad = {ResolvedReference("x.Bad", "bad", 1, R"({"type":"nope"})")};
  auto r = ParseAvro(R"("int")", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("reference 'x.Bad' (subject 'bad' version 1)"));
  // Normalized keeps references by name too.
  EXPECT_EQ(s->Normalized(), s->canonical());
}

TEST(AvroCompatibilityTest, MessagesNameWhatAndWhere) {
  auto reader = MustParse(R"({"type":"record","name":"User","fields":[
      {"name":"id","type":"int"},{"name":"name","type":"string"},{"name":"email","type":"string"}]})");
  auto writer = MustParse(R"({"type":"record","name":"User","fields":[
      {"name":"id","type":"long"},{"name":"name","type":"string"}]})");
  ASSERT_TRUE(reader && writer);
  auto messages = reader->CheckCanRead(*writer);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0],
            "writer's type 'long' at /fields/0/type cannot be promoted to the reader's 'int'");
  EXPECT_EQ(messages[1],
            "reader's field 'email' (at /fields/2) has no default value and is missing from the "
            "writer's record 'User'");
  EXPECT_TRUE(writer->CheckCanRead(*reader).empty());
}

TEST(AvroCompatibilityTest, RecursiveSchemasTerminate) {
  auto a = MustParse(R"({"type":"record","name":"List","fields":[{"name":"v","type":"int"},
      {"name":"next","type":["null","List"]}]})");
  auto b = MustParse(R"({"type":"record","name":"List","fields":[{"name":"v","type":"long"},
      {"name":"next","type":["null","List"]}]})");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(b->CheckCanRead(*a).empty());
  EXPECT_FALSE(a->CheckCanRead(*b).empty());
}

// A union of n records R0..R(n-1), each R(i) holding an R(i-1); `r0_extra` is added to R0's
// fields.
std::string RecordChain(int n, std::string_view r0_extra) {
  std::string s = R"([{"type":"record","name":"R0","fields":[)" + std::string(r0_extra) + "]}";
  for (int i = 1; i < n; ++i) {
    s += fmt::format(R"(,{{"type":"record","name":"R{}","fields":[{{"name":"f","type":"R{}"}}]}})",
                     i, i - 1);
  }
  return s + "]";
}

// Each record pair is checked once and the messages are capped: this chain used to take time
// and memory cubic in n (32 s and 3.3 GB at n=400; at n=2000 the process was killed).
TEST(AvroCompatibilityTest, LongChainsOfNamedRecordsAreCheckedOnce) {
  constexpr int kN = 2000;
  auto v1 = MustParse(RecordChain(kN, ""));
  auto v2 = MustParse(RecordChain(kN, R"({"name":"z","type":"int"})"));
  auto v2_default = MustParse(RecordChain(kN, R"({"name":"z","type":"int","default":0})"));
  ASSERT_TRUE(v1 && v2 && v2_default);
  auto messages = v2->CheckCanRead(*v1);
  ASSERT_FALSE(messages.empty());
  EXPECT_LE(messages.size(), 101u);
  std::string all;
  for (const auto& m : messages) all += m + "\n";
  EXPECT_THAT(all, HasSubstr("writer's union branch 0 (record 'R0')")) << all;
  EXPECT_THAT(all, HasSubstr("reader's field 'z' (at /0/fields/0) has no default value and is "
                             "missing from the writer's record 'R0'"))
      << all;
  EXPECT_THAT(messages.back(), HasSubstr("only the first 100 are listed"));
  // Dropping a field is fine: the other direction (FORWARD) is compatible.
  EXPECT_TRUE(v1->CheckCanRead(*v2).empty());
  EXPECT_TRUE(v2_default->CheckCanRead(*v1).empty());
  EXPECT_TRUE(v1->CheckCanRead(*v2_default).empty());
}

// Named types referring to each other nest without bound while the JSON stays shallow; past
// 1000 levels the check answers incompatible instead of overflowing the stack.
TEST(AvroCompatibilityTest, NestingPastTheDepthLimitIsIncompatible) {
  // A record Top whose field "deep" is R(n-1). The records are defined in a union field the
  // other schema lacks (under another name, with a default), so the first pair compared is the
  // deepest record.
  auto top = [](int n, std::string_view defs) {
    std::string chain = RecordChain(n, "");
    return fmt::format(R"({{"type":"record","name":"Top","fields":[)"
                       R"({{"name":"{}","type":["null",{}],"default":null}},)"
                       R"({{"name":"deep","type":"R{}"}}]}})",
                       defs, chain.substr(1, chain.size() - 2), n - 1);
  };
  auto shallow_r = MustParse(top(900, "defs"));
  auto shallow_w = MustParse(top(900, "other"));
  auto deep_r = MustParse(top(1500, "defs"));
  auto deep_w = MustParse(top(1500, "other"));
  ASSERT_TRUE(shallow_r && shallow_w && deep_r && deep_w);
  EXPECT_TRUE(shallow_r->CheckCanRead(*shallow_w).empty());
  auto messages = deep_r->CheckCanRead(*deep_w);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], HasSubstr("nest more than 1000 levels deep"));
  EXPECT_THAT(messages[0], HasSubstr("at /fields/1/type/fields/0/type/fields/0/type/"));
}

}  // namespace
}  // namespace sluice::schema::avro
