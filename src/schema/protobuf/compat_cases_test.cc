// Runs the declarative compatibility cases in testdata/compat/*.json (format: ../README.md)
// through sluice::schema::CheckCompatibility, one parameterised test per case.
//
// Protobuf extension of the format: besides a string, a schema may be an object
//   {"schema": "<.proto text>", "references": [{"name": "x.proto", "subject": "x",
//    "version": 1, "schema": "<.proto text>"}, ...]}
// giving the imports that schema resolves (a reference's own imports may be listed in the same
// array: Parse looks names up across the whole list).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codec/json_parser.h"
#include "schema/compatibility.h"
#include "schema/protobuf/protobuf.h"

namespace sluice::schema::protobuf {
namespace {

struct SchemaSpec {
  std::string text;
  std::vector<ResolvedReference> references;
};

struct Case {
  std::string file;
  std::string name;
  std::string level;
  std::vector<SchemaSpec> history;
  SchemaSpec candidate;
  bool compatible = true;
  std::string message;
};

SchemaSpec ToSpec(const codec::JsonValue& v) {
  SchemaSpec spec;
  if (v.is_string()) {
    spec.text = v.text();
    return spec;
  }
  if (const auto* s = v.Find("schema"); s != nullptr) spec.text = s->text();
  if (const auto* refs = v.Find("references"); refs != nullptr) {
    for (const auto& r : refs->items()) {
      ResolvedReference ref;
      ref.name = r.Find("name") != nullptr ? r.Find("name")->text() : "";
      ref.subject = r.Find("subject") != nullptr ? r.Find("subject")->text() : ref.name;
      ref.version = r.Find("version") != nullptr
                        ? static_cast<int32_t>(r.Find("version")->AsInt64().value_or(1))
                        : 1;
      ref.schema = r.Find("schema") != nullptr ? r.Find("schema")->text() : "";
      spec.references.push_back(std::move(ref));
    }
  }
  return spec;
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(SLUICE_PROTOBUF_TESTDATA "/compat")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  codec::JsonParser parser;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto doc = parser.Parse(buffer.str());
    if (!doc.ok()) {
      ADD_FAILURE() << path << ": " << doc.status().ToString();
      continue;
    }
    for (const auto& c : doc->items()) {
      Case k;
      k.file = path.filename().string();
      k.name = c.Find("name")->text();
      k.level = c.Find("level")->text();
      for (const auto& h : c.Find("history")->items()) k.history.push_back(ToSpec(h));
      k.candidate = ToSpec(*c.Find("candidate"));
      k.compatible = c.Find("compatible")->bool_value();
      if (const auto* m = c.Find("message"); m != nullptr) k.message = m->text();
      cases.push_back(std::move(k));
    }
  }
  return cases;
}

class ProtobufCompatCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProtobufCompatCaseTest, MatchesConfluentVerdict) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.file + ": " + c.name);
  auto level = ParseCompatibilityLevel(c.level);
  ASSERT_TRUE(level.has_value()) << c.level;
  std::vector<std::unique_ptr<ParsedSchema>> owned;
  std::vector<const ParsedSchema*> history;
  for (const auto& h : c.history) {
    auto parsed = Parse(h.text, h.references);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << h.text;
    owned.push_back(std::move(parsed).value());
    history.push_back(owned.back().get());
  }
  auto candidate = Parse(c.candidate.text, c.candidate.references);
  ASSERT_TRUE(candidate.ok()) << candidate.status().ToString() << "\n" << c.candidate.text;
  CompatibilityResult result = CheckCompatibility(*level, **candidate, history);
  std::string all;
  for (const auto& m : result.messages) all += "\n  " + m;
  EXPECT_EQ(result.compatible, c.compatible) << "messages:" << all;
  if (!c.compatible && !c.message.empty()) {
    bool found = std::any_of(result.messages.begin(), result.messages.end(),
                             [&](const std::string& m) { return m.find(c.message) != std::string::npos; });
    EXPECT_TRUE(found) << "no message contains '" << c.message << "'; messages:" << all;
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.')) + "_" +
                     std::to_string(info.index) + "_";
  for (char ch : info.param.name) {
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, ProtobufCompatCaseTest, ::testing::ValuesIn(LoadCases()),
                         CaseName);

TEST(ProtobufCompatCasesTest, AtLeastThirtyFiveCases) {
  auto cases = LoadCases();
  EXPECT_GE(cases.size(), 35u);
  size_t incompatible = std::count_if(cases.begin(), cases.end(),
                                      [](const Case& c) { return !c.compatible; });
  EXPECT_GE(incompatible, 10u);
  EXPECT_GE(cases.size() - incompatible, 10u);
}

}  // namespace
}  // namespace sluice::schema::protobuf
