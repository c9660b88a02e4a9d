// The compiled validator: messages and paths, keyword coverage, and a differential test against
// valijson (an independent implementation) over generated valid and invalid documents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <atomic>
#include <random>
#include <thread>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "base/alloc_counter.h"
#include "schema/json/json_schema.h"

namespace sluice::schema::json {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Validator> Compile(std::string_view schema) {
  auto parsed = Parse(schema, {});
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return nullptr;
  auto v = (*parsed)->CompileValidator({});
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : nullptr;
}

TEST(JsonValidatorTest, ErrorsNameThePath) {
  auto v = Compile(R"({"type":"object","properties":{"user":{"type":"object",
      "properties":{"age":{"type":"integer"}}}}})");
  EXPECT_TRUE(v->Validate(R"({"user":{"age":3}})").ok());
  Status st = v->Validate(R"({"user":{"age":"x"}})");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "/user/age: expected integer, got string");
  auto arr = Compile(R"({"type":"array","items":{"type":"object","properties":{"price":{"type":"number"}}}})");
  EXPECT_EQ(arr->Validate(R"([{"price":1},{"price":2},{"price":"3"}])").message(),
            "/2/price: expected number, got string");
}

TEST(JsonValidatorTest, RejectsInvalidJson) {
  auto v = Compile("{}");
  EXPECT_THAT(v->Validate("{\"a\":").message(), HasSubstr("not valid JSON"));
  EXPECT_TRUE(v->Validate("[1,2]").ok());
}

TEST(JsonValidatorTest, RequiredAndAdditionalProperties) {
  auto v = Compile(R"({"type":"object","properties":{"a":{"type":"string"}},
      "required":["a","b"],"additionalProperties":false})");
  EXPECT_THAT(v->Validate(R"({"a":"x"})").message(), HasSubstr("required property 'b'"));
  // "b" is required but not declared, so additionalProperties:false forbids it: unsatisfiable.
  EXPECT_THAT(v->Validate(R"({"a":"x","b":1})").message(), HasSubstr("'b' is not allowed"));
}

TEST(JsonValidatorTest, FormatsAndPatterns) {
  auto v = Compile(R"({"type":"object","properties":{
      "ts":{"type":"string","format":"date-time"},"mail":{"format":"email"},
      "id":{"format":"uuid"},"ip":{"format":"ipv4"},"code":{"pattern":"^[A-Z]{3}-\\d+$"},
      "word":{"pattern":"(cat|dog)s?"}}})");
  EXPECT_TRUE(v->Validate(R"({"ts":"2024-02-29T10:20:30.5+01:00","mail":"a.b@example.com",
      "id":"123e4567-e89b-12d3-a456-426614174000","ip":"10.0.0.255","code":"ABC-12",
      "word":"hotdogs"})").ok());
  EXPECT_THAT(v->Validate(R"({"ts":"2023-02-29T10:20:30Z"})").message(), HasSubstr("/ts"));
  EXPECT_THAT(v->Validate(R"({"mail":"a@@b"})").message(), HasSubstr("/mail"));
  EXPECT_THAT(v->Validate(R"({"id":"123e4567e89b12d3a456426614174000"})").message(),
              HasSubstr("/id"));
  EXPECT_THAT(v->Validate(R"({"ip":"10.0.0.256"})").message(), HasSubstr("/ip"));
  EXPECT_THAT(v->Validate(R"({"code":"AB-12"})").message(), HasSubstr("/code"));
  EXPECT_THAT(v->Validate(R"({"word":"bird"})").message(), HasSubstr("/word"));
}

TEST(JsonValidatorTest, RecursiveRefs) {
  auto v = Compile(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
      "$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
      "next":{"$ref":"#/$defs/node"}},"required":["v"]}},"$ref":"#/$defs/node"})");
  EXPECT_TRUE(v->Validate(R"({"v":1,"next":{"v":2,"next":{"v":3}}})").ok());
  EXPECT_EQ(v->Validate(R"({"v":1,"next":{"v":2,"next":{"v":"x"}}})").message(),
            "/next/next/v: expected integer, got string");
}

TEST(JsonValidatorTest, Draft2020PrefixItemsAndUnevaluated) {
  auto v = Compile(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array",
      "prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  EXPECT_TRUE(v->Validate(R"(["a",1])").ok());
  EXPECT_FALSE(v->Validate(R"(["a",1,2])").ok());
  EXPECT_FALSE(v->Validate(R"([1])").ok());
  auto u = Compile(R"({"$schema":"https://json-schema.org/draft/2019-09/schema",
      "allOf":[{"properties":{"a":{"type":"string"}}}],"properties":{"b":{}},
      "unevaluatedProperties":false})");
  EXPECT_TRUE(u->Validate(R"({"a":"x","b":1})").ok());
  EXPECT_FALSE(u->Validate(R"({"a":"x","c":1})").ok());
  auto c = Compile(R"({"$schema":"https://json-schema.org/draft/2019-09/schema",
      "contains":{"type":"integer"},"minContains":2,"maxContains":3})");
  EXPECT_FALSE(c->Validate("[1,\"a\"]").ok());
  EXPECT_TRUE(c->Validate("[1,2,\"a\"]").ok());
  EXPECT_FALSE(c->Validate("[1,2,3,4]").ok());
}

TEST(JsonValidatorTest, IntegralFloatsAreIntegers) {
  auto v = Compile(R"({"type":"integer","multipleOf":2})");
  EXPECT_TRUE(v->Validate("4.0").ok());
  EXPECT_FALSE(v->Validate("4.5").ok());
  EXPECT_FALSE(v->Validate("3").ok());
}

TEST(JsonValidatorTest, SteadyStateValidationDoesNotAllocate) {
  auto v = Compile(R"({"type":"object","properties":{"id":{"type":"string","pattern":"^[a-f0-9]{4}$"},
      "n":{"type":"integer","minimum":1},"c":{"enum":["USD","EUR"]},"ts":{"format":"date-time"},
      "tags":{"type":"array","items":{"type":"string"}},"o":{"type":"object",
      "properties":{"x":{"type":["string","null"]}},"required":["x"]}},"required":["id","n"],
      "additionalProperties":false})");
  std::string doc = R"({"id":"ab12","n":5,"c":"EUR","ts":"2024-01-01T00:00:00Z",
      "tags":["a","b"],"o":{"x":null}})";
  ASSERT_TRUE(v->Validate(doc).ok());  // warms up the thread's parser and buffers
  if (!g_counting_available) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  g_allocations = 0;
  g_counting = true;
  bool ok = true;
  for (int i = 0; i < 100; ++i) ok = ok && v->Validate(doc).ok();
  g_counting = false;
  EXPECT_TRUE(ok);
  EXPECT_EQ(g_allocations, 0u);
}

TEST(JsonValidatorTest, SelfReferenceWithoutDescentFailsInsteadOfOverflowing) {
  auto v = Compile(R"({"allOf":[{"$ref":"#"}]})");
  EXPECT_THAT(v->Validate("1").message(), HasSubstr("recursion"));
}

TEST(JsonValidatorTest, ThreadSafe) {
  auto v = Compile(R"({"type":"object","properties":{"n":{"type":"integer","maximum":100}}})");
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        int n = (i * 7 + t) % 150;
        bool ok = v->Validate("{\"n\":" + std::to_string(n) + "}").ok();
        if (ok != (n <= 100)) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---- differential testing against valijson -------------------------------------------------

// Random JSON biased towards the names and values the schemas use.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}
  nlohmann::json Value(int depth) {
    switch (Pick(depth > 2 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return Pick(2) == 1;
      case 2:
        return static_cast<int64_t>(Pick(40)) - 10;
      case 3:
        // Never integral: valijson (strong types) treats 2.0 as a non-integer, the specs since
        // draft 6 do not; IntegralFloatsAreIntegers pins our behaviour.
        return (static_cast<double>(Pick(4000)) - 1000) / 8.0 + 0.3;
      case 4:
      case 5:
        return String();
      case 6: {
        nlohmann::json a = nlohmann::json::array();
        for (int i = Pick(5); i > 0; --i) a.push_back(Value(depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (int i = Pick(5); i > 0; --i) o[Key()] = Value(depth + 1);
        return o;
      }
    }
  }
  std::string String() {
    static const char* kStrings[] = {"", "a", "abc", "ABC-12", "x_1", "hello world",
                                     "2024-01-31T12:00:00Z", "2024-13-01T00:00:00Z", "red",
                                     "green", "cat", "dogs", "s_1", "a.b@example.com", "USD"};
    return kStrings[Pick(std::size(kStrings))];
  }
  std::string Key() {
    static const char* kKeys[] = {"a", "b", "c", "n", "s", "s_x", "s_y", "id", "tags", "next",
                                  "kind", "v"};
    return kKeys[Pick(std::size(kKeys))];
  }
  uint32_t Pick(size_t n) { return static_cast<uint32_t>(rng_() % n); }

 private:
  std::mt19937 rng_;
};

bool ValijsonVerdict(const valijson::Schema& schema, const nlohmann::json& doc) {
  valijson::Validator validator;
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  return validator.validate(schema, adapter, nullptr);
}

void Differential(const std::string& schema_text, valijson::SchemaParser::Version version,
                  const std::vector<std::string>& fixed_docs, int random_docs) {
  SCOPED_TRACE(schema_text);
  auto ours = Compile(schema_text);
  ASSERT_NE(ours, nullptr);
  nlohmann::json schema_json = nlohmann::json::parse(schema_text);
  valijson::Schema theirs;
  valijson::SchemaParser parser(version);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_json);
  try {
    parser.populateSchema(schema_adapter, theirs);
  } catch (const std::exception& e) {
    FAIL() << "valijson rejects the schema: " << e.what();
  }

  std::vector<std::string> docs = fixed_docs;
  Generator gen(static_cast<uint32_t>(std::hash<std::string>()(schema_text)));
  for (int i = 0; i < random_docs; ++i) docs.push_back(gen.Value(0).dump());
  int valid = 0;
  for (const std::string& doc : docs) {
    bool expected = false;
    try {
      expected = ValijsonVerdict(theirs, nlohmann::json::parse(doc));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "valijson throws on " << doc << ": " << e.what();
      continue;
    }
    Status got = ours->Validate(doc);
    EXPECT_EQ(got.ok(), expected) << "document: " << doc << "\nours: " << got.ToString();
    valid += expected;
  }
  // Both verdicts must actually occur for the comparison to mean something.
  EXPECT_GT(valid, 0);
  EXPECT_LT(valid, static_cast<int>(docs.size()));
}

constexpr const char* kEventSchema = R"({
  "type": "object",
  "properties": {
    "id": {"type": "string", "pattern": "^[a-f0-9]{8}-[a-f0-9]{4}$"},
    "user_id": {"type": "integer", "minimum": 1},
    "amount": {"type": "number", "minimum": 0, "maximum": 1000000},
    "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
    "active": {"type": "boolean"},
    "ts": {"type": "string", "format": "date-time"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 5},
    "address": {"type": "object", "properties": {"city": {"type": "string", "minLength": 1},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["city"], "additionalProperties": false},
    "score": {"type": "integer", "multipleOf": 5},
    "note": {"type": ["string", "null"], "maxLength": 50}
  },
  "required": ["id", "user_id", "amount", "currency", "active", "ts"],
  "additionalProperties": false
})";

// Valid events and single-field mutations of them.
std::vector<std::string> EventCorpus(int n) {
  std::mt19937 rng(42);
  auto pick = [&](size_t k) { return rng() % k; };
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "%08x-%04x", static_cast<unsigned>(rng()),
                  static_cast<unsigned>(rng() & 0xffff));
    nlohmann::json e = {{"id", id},
                        {"user_id", 1 + pick(100000)},
                        {"amount", static_cast<double>(pick(10000000)) / 100.0},
                        {"currency", std::vector<std::string>{"USD", "EUR", "GBP"}[pick(3)]},
                        {"active", pick(2) == 1},
                        {"ts", "2024-0" + std::to_string(1 + pick(9)) + "-1" +
                                   std::to_string(pick(10)) + "T12:34:56.789Z"},
                        {"tags", {"a", "bb"}},
                        {"address", {{"city", "Paris"}, {"zip", "75001"}}},
                        {"score", 5 * pick(20)},
                        {"note", pick(2) ? nlohmann::json(nullptr) : nlohmann::json("ok")}};
    switch (pick(16)) {
      case 0: e["id"] = "XYZ"; break;
      case 1: e["user_id"] = 0; break;
      case 2: e["user_id"] = "12"; break;
      case 3: e["amount"] = -1.5; break;
      case 4: e["currency"] = "JPY"; break;
      case 5: e["active"] = "yes"; break;
      case 6: e["ts"] = "2024-02-30T12:00:00Z"; break;
      case 7: e["tags"].push_back("this-tag-is-way-too-long"); break;
      case 8: e["address"].erase("city"); break;
      case 9: e["address"]["country"] = "FR"; break;
      case 10: e["score"] = 7; break;
      case 11: e.erase("currency"); break;
      case 12: e["extra"] = 1; break;
      case 13: e["note"] = 5; break;
      case 14: e["user_id"] = 2.5; break;
      default: break;  // valid
    }
    out.push_back(e.dump());
  }
  return out;
}

TEST(JsonValidatorOracleTest, EventCorpusMatchesValijson) {
  Differential(kEventSchema, valijson::SchemaParser::kDraft7, EventCorpus(3000), 200);
}

TEST(JsonValidatorOracleTest, GeneratedDocumentsMatchValijson) {
  const std::vector<std::string> schemas = {
      R"({"type":"object","properties":{"a":{"type":"string","minLength":2},"n":{"type":"integer"}},"required":["a"]})",
      R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":0}]})",
      // "integer": valijson truncates fractions before an integral multipleOf (70.5 passes 2).
      R"({"oneOf":[{"type":"integer","multipleOf":2},{"type":"integer","multipleOf":3}]})",
      R"({"not":{"type":["object","array"]}})",
      R"({"allOf":[{"type":"object"},{"properties":{"a":{"type":"string"}}},{"required":["a"]}]})",
      R"({"enum":["red","green",1,null,[1,2],{"a":1}]})",
      R"({"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false})",
      R"({"type":"array","items":{"type":["integer","string"]},"uniqueItems":true,"minItems":1})",
      R"({"type":"array","contains":{"type":"string","pattern":"^a"}})",
      R"({"type":"object","patternProperties":{"^s_":{"type":"string"}},"additionalProperties":{"type":"integer"}})",
      R"({"type":"object","dependencies":{"a":["b"],"c":{"required":["n"]}}})",
      R"({"type":"object","propertyNames":{"maxLength":1},"minProperties":1,"maxProperties":3})",
      R"({"type":"object","if":{"properties":{"kind":{"const":"a"}},"required":["kind"]},"then":{"required":["a"]},"else":{"required":["b"]}})",
      R"({"definitions":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#/definitions/node"}}}},"$ref":"#/definitions/node"})",
      R"({"type":"number","exclusiveMinimum":-5,"exclusiveMaximum":100})",
      R"({"type":"string","pattern":"^(cat|dog)s?$"})",
      R"({"properties":{"tags":{"type":"array","maxItems":2,"items":{"enum":["a","abc",true]}}}})",
      R"({"type":["object","null"],"properties":{"s":{"type":"string","maxLength":3}},"additionalProperties":false})",
  };
  for (const std::string& s : schemas) Differential(s, valijson::SchemaParser::kDraft7, {}, 1500);
  // valijson aborts on "format" over non-strings, so date-time gets string documents only.
  Differential(R"({"type":"string","format":"date-time"})", valijson::SchemaParser::kDraft7,
               {"\"2024-01-31T12:00:00Z\"", "\"2024-01-31t12:00:00.123+05:30\"",
                "\"2024-01-32T12:00:00Z\"", "\"2024-04-31T12:00:00Z\"",
                "\"2024-01-31 12:00:00Z\"", "\"2024-01-31T24:00:00Z\"",
                "\"2024-01-31T12:00:00\"", "\"2024-12-01T23:59:60-01:00\"", "\"\""},
               0);
  // Draft 4: boolean exclusive bounds.
  Differential(R"({"$schema":"http://json-schema.org/draft-04/schema#","type":"number",
                   "minimum":0,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":true})",
               valijson::SchemaParser::kDraft4, {"0", "0.5", "10", "9.75", "-1", "\"x\""}, 500);
}

}  // namespace
}  // namespace sluice::schema::json
