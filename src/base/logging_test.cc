#include "base/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace sluice::logging {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class LoggingTest : public ::testing::Test {
 protected:
  void SetupCapture(Level level, Format format) {
    logging::Setup(level, format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  void TearDown() override { logging::Setup(Level::kInfo, Format::kHuman); }
  std::ostringstream out_;
};

TEST(LoggingParseTest, ParseLevelAcceptsEveryName) {
  EXPECT_EQ(*ParseLevel("trace"), Level::kTrace);
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("INFO"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  EXPECT_EQ(*ParseLevel("off"), Level::kOff);
  for (Level l :
       {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    EXPECT_EQ(*ParseLevel(LevelName(l)), l);
  }
}

TEST(LoggingParseTest, ParseLevelRejectsUnknownNamesListingKnownOnes) {
  auto r = ParseLevel("verbose");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "unknown log level 'verbose' (known: trace, debug, info, warn, error, off)");
}

TEST(LoggingParseTest, ParseFormatAcceptsHumanAndJson) {
  EXPECT_EQ(*ParseFormat("human"), Format::kHuman);
  EXPECT_EQ(*ParseFormat("JSON"), Format::kJson);
  EXPECT_EQ(FormatName(Format::kJson), "json");
  auto r = ParseFormat("xml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown log format 'xml' (known: human, json)");
}

TEST(LoggingJsonTest, FormatJsonLineWritesRfc3339UtcWithMillis) {
  EXPECT_EQ(FormatJsonLine("storage", "info", 1'700'000'000'123, "hello"),
            R"({"ts":"2023-11-14T22:13:20.123Z","level":"info","logger":"storage","msg":"hello"})");
  EXPECT_EQ(FormatJsonLine("x", "warn", 5, "m"),
            R"({"ts":"1970-01-01T00:00:00.005Z","level":"warn","logger":"x","msg":"m"})");
}

TEST(LoggingJsonTest, FormatJsonLineEscapesQuotesBackslashesAndControls) {
  std::string msg =
      "a\"b\\c\nd\te\x01"
      "f\x7f";
  EXPECT_EQ(
      FormatJsonLine("l", "info", 0, msg),
      R"({"ts":"1970-01-01T00:00:00.000Z","level":"info","logger":"l","msg":"a\"b\\c\nd\te\u0001f\u007f"})");
}

TEST(LoggingJsonTest, FormatJsonLineKeepsUtf8AndReplacesInvalidBytes) {
  std::string msg = "caf\xc3\xa9 \xe2\x82\xac \xff\xc3";
  EXPECT_EQ(FormatJsonLine("l", "info", 0, msg),
            "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"info\",\"logger\":\"l\",\"msg\":"
            "\"caf\xc3\xa9 \xe2\x82\xac \\ufffd\\ufffd\"}");
}

TEST_F(LoggingTest, JsonFormatWritesOneObjectPerLine) {
  SetupCapture(Level::kInfo, Format::kJson);
  Get("storage").info("opened {} partitions", 3);
  Get("gateway").warn("slow \"client\"\nnext");
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u);
  std::regex re(
      R"(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info","logger":"storage","msg":"opened 3 partitions"\})");
  EXPECT_TRUE(std::regex_match(lines[0], re)) << lines[0];
  EXPECT_NE(lines[1].find(R"("level":"warn","logger":"gateway","msg":"slow \"client\"\nnext"})"),
            std::string::npos)
      << lines[1];
}

TEST_F(LoggingTest, HumanFormatShowsTimeLevelAndLoggerName) {
  SetupCapture(Level::kInfo, Format::kHuman);
  Get("metrics").error("boom");
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  std::regex re(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[error\] \[metrics\] boom)");
  EXPECT_TRUE(std::regex_match(lines[0], re)) << lines[0];
}

TEST_F(LoggingTest, LevelFiltersExistingAndNewLoggers) {
  auto& before = Get("before");
  SetupCapture(Level::kWarn, Format::kJson);
  before.info("dropped");
  before.warn("kept");
  Get("after").debug("dropped");
  Get("after").error("kept");
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("logger":"before","msg":"kept")"), std::string::npos);
  EXPECT_NE(lines[1].find(R"("logger":"after","msg":"kept")"), std::string::npos);
}

TEST_F(LoggingTest, OffSilencesEverything) {
  SetupCapture(Level::kOff, Format::kJson);
  Get("x").error("nothing");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LoggingTest, GetReturnsTheSameLoggerFromManyThreads) {
  SetupCapture(Level::kInfo, Format::kJson);
  std::vector<spdlog::logger*> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&seen, i] {
      seen[i] = &Get("shared");
      seen[i]->info("from {}", i);
    });
  }
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(seen[0]->name(), "shared");
  EXPECT_EQ(Lines(out_.str()).size(), 8u);
}

TEST_F(LoggingTest, SpdlogDefaultLoggerGoesToTheSameSink) {
  SetupCapture(Level::kInfo, Format::kJson);
  spdlog::info("via default");
  EXPECT_NE(out_.str().find(R"("logger":"sluice","msg":"via default")"), std::string::npos);
}

}  // namespace
}  // namespace sluice::logging
