// Runs the declarative compatibility cases in testdata/compat/*.json (format in
// src/schema/README.md) through sluice::schema::CheckCompatibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codec/json_parser.h"
#include "schema/avro/avro.h"
#include "schema/compatibility.h"

namespace sluice::schema::avro {
namespace {

struct CompatCase {
  std::string file;
  std::string name;
  std::string level;
  std::vector<std::string> history;
  std::string candidate;
  bool compatible = true;
  std::string message;
};

void PrintTo(const CompatCase& c, std::ostream* os) { *os << c.file << ": " << c.name; }

std::string SchemaText(const codec::JsonValue& v) { return v.is_string() ? v.text() : v.ToJson(); }

std::vector<CompatCase> LoadCases() {
  std::vector<CompatCase> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(SLUICE_AVRO_TESTDATA "/compat")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  codec::JsonParser parser;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    auto doc = parser.Parse(buf.str());
    if (!doc.ok() || !doc->is_array()) {
      CompatCase broken;
      broken.file = path.filename().string();
      broken.name = "unparseable file: " + doc.status().message();
      cases.push_back(broken);
      continue;
    }
    for (const auto& c : doc->items()) {
      CompatCase cc;
      cc.file = path.filename().string();
      if (const auto* v = c.Find("name")) cc.name = v->text();
      if (const auto* v = c.Find("level")) cc.level = v->text();
      if (const auto* v = c.Find("history")) {
        for (const auto& h : v->items()) cc.history.push_back(SchemaText(h));
      }
      if (const auto* v = c.Find("candidate")) cc.candidate = SchemaText(*v);
      if (const auto* v = c.Find("compatible")) cc.compatible = v->bool_value();
      if (const auto* v = c.Find("message")) cc.message = v->text();
      cases.push_back(std::move(cc));
    }
  }
  return cases;
}

const std::vector<CompatCase>& AllCases() {
  static const std::vector<CompatCase> cases = LoadCases();
  return cases;
}

class AvroCompatCaseTest : public ::testing::TestWithParam<CompatCase> {};

TEST_P(AvroCompatCaseTest, VerdictMatchesTheReference) {
  const CompatCase& c = GetParam();
  SCOPED_TRACE(c.file + ": " + c.name);
  auto level = ParseCompatibilityLevel(c.level);
  ASSERT_TRUE(level.has_value()) << "unknown level " << c.level;
  std::vector<std::unique_ptr<AvroSchema>> history;
  for (const auto& h : c.history) {
    auto s = ParseAvro(h, {});
    ASSERT_TRUE(s.ok()) << h << ": " << s.status().message();
    history.push_back(std::move(s).value());
  }
  auto candidate = ParseAvro(c.candidate, {});
  ASSERT_TRUE(candidate.ok()) << c.candidate << ": " << candidate.status().message();
  std::vector<const ParsedSchema*> ptrs;
  for (const auto& h : history) ptrs.push_back(h.get());
  CompatibilityResult r = CheckCompatibility(*level, **candidate, ptrs);
  std::string all;
  for (const auto& m : r.messages) all += m + "\n";
  EXPECT_EQ(r.compatible, c.compatible) << all;
  if (!c.compatible && !c.message.empty()) {
    EXPECT_NE(all.find(c.message), std::string::npos) << "messages:\n" << all;
  }
}

std::string CaseName(const ::testing::TestParamInfo<CompatCase>& info) {
  std::string out = info.param.file.substr(0, info.param.file.find('.')) + "_" +
                    std::to_string(info.index);
  for (auto& ch : out) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Files, AvroCompatCaseTest, ::testing::ValuesIn(AllCases()), CaseName);

TEST(AvroCompatCaseFilesTest, CoverEveryLevelWithBothVerdicts) {
  const auto& cases = AllCases();
  EXPECT_GE(cases.size(), 90u);
  for (const char* level : {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
                            "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}) {
    int yes = 0, no = 0;
    for (const auto& c : cases) {
      if (c.level == level) (c.compatible ? yes : no)++;
    }
    EXPECT_GT(yes, 0) << level;
    if (std::string_view(level) != "NONE") {
      EXPECT_GT(no, 0) << level;
    }
  }
}

}  // namespace
}  // namespace sluice::schema::avro
