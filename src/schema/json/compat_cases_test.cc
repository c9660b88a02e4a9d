// Runs the declarative compatibility cases in testdata/compat/*.json through CheckCompatibility.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "codec/json_parser.h"
#include "schema/compatibility.h"
#include "schema/json/json_schema.h"

namespace sluice::schema::json {
namespace {

struct Case {
  std::string file;
  std::string name;
  std::string level;
  std::vector<std::string> history;
  std::string candidate;
  bool compatible = true;
  std::string message;
};

std::string SchemaText(const codec::JsonValue& v) { return v.is_string() ? v.text() : v.ToJson(); }

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(SLUICE_JSON_COMPAT_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    codec::JsonParser parser;
    auto doc = parser.Parse(buf.str());
    EXPECT_TRUE(doc.ok()) << path << ": " << doc.status().ToString();
    if (!doc.ok()) continue;
    for (const codec::JsonValue& c : doc->items()) {
      Case k;
      k.file = path.filename().string();
      k.name = c.Find("name")->text();
      k.level = c.Find("level")->text();
      for (const codec::JsonValue& h : c.Find("history")->items()) k.history.push_back(SchemaText(h));
      k.candidate = SchemaText(*c.Find("candidate"));
      k.compatible = c.Find("compatible")->bool_value();
      if (const codec::JsonValue* m = c.Find("message")) k.message = m->text();
      cases.push_back(std::move(k));
    }
  }
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.file << ": " << c.name; }

class JsonCompatCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(JsonCompatCaseTest, MatchesTheReferenceVerdict) {
  const Case& c = GetParam();
  auto level = ParseCompatibilityLevel(c.level);
  ASSERT_TRUE(level.has_value()) << c.level;
  std::vector<std::unique_ptr<ParsedSchema>> history;
  std::vector<const ParsedSchema*> ptrs;
  for (const std::string& text : c.history) {
    auto s = Parse(text, {});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    history.push_back(std::move(s).value());
    ptrs.push_back(history.back().get());
  }
  auto candidate = Parse(c.candidate, {});
  ASSERT_TRUE(candidate.ok()) << candidate.status().ToString();
  CompatibilityResult r = CheckCompatibility(*level, **candidate, ptrs);
  std::string all;
  for (const auto& m : r.messages) all += m + "\n";
  EXPECT_EQ(r.compatible, c.compatible) << c.file << ": " << c.name << "\n" << all;
  if (!c.compatible && !c.message.empty()) {
    EXPECT_NE(all.find(c.message), std::string::npos)
        << c.name << ": expected a message containing '" << c.message << "', got:\n" << all;
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string out = std::to_string(info.index) + "_";
  for (char ch : info.param.name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out.substr(0, 90);
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonCompatCaseTest, ::testing::ValuesIn(LoadCases()), CaseName);

TEST(JsonCompatCaseFilesTest, HaveEnoughCases) {
  auto cases = LoadCases();
  size_t compatible = 0, transitive = 0;
  for (const Case& c : cases) {
    compatible += c.compatible;
    transitive += c.level.find("TRANSITIVE") != std::string::npos;
  }
  EXPECT_GE(cases.size(), 45u);
  EXPECT_GE(compatible, 15u);
  EXPECT_GE(cases.size() - compatible, 15u);
  EXPECT_GE(transitive, 4u);
}

}  // namespace
}  // namespace sluice::schema::json
