// Logging setup: a registry of component loggers sharing one switchable sink, and the JSON-lines
// formatter.
#include "base/logging.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <new>
#include <string>

namespace sluice::logging {
namespace {

constexpr const char* kHumanPattern = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] [%n] %v";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Appends s as the inside of a JSON string. Invalid UTF-8 bytes become U+FFFD so every line
// stays valid JSON whatever a message contains.
void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
}

std::string_view JsonLevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    std::string line = FormatJsonLine(
        std::string_view(msg.logger_name.data(), msg.logger_name.size()), JsonLevelName(msg.level),
        ms, std::string_view(msg.payload.data(), msg.payload.size()));
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Forwards to the current target sink; Setup() swaps the target without touching the loggers
// (spdlog's logger sink lists are not safe to change while other threads log).
class SwitchSink final : public spdlog::sinks::sink {
 public:
  explicit SwitchSink(spdlog::sink_ptr target) : target_(std::move(target)) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(mu_);
    target_->log(msg);
  }
  void flush() override {
    std::lock_guard lock(mu_);
    target_->flush();
  }
  // The formatter belongs to the target; SetTarget installs it.
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}
  void SetTarget(spdlog::sink_ptr target) {
    std::lock_guard lock(mu_);
    target_ = std::move(target);
  }

 private:
  std::mutex mu_;
  spdlog::sink_ptr target_;
};

spdlog::sink_ptr MakeStderrSink() {
  return std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
}

std::unique_ptr<spdlog::formatter> MakeFormatter(Format format) {
  if (format == Format::kJson) return std::make_unique<JsonFormatter>();
  return std::make_unique<spdlog::pattern_formatter>(kHumanPattern);
}

// The component loggers. Never destroyed, so code running in static destructors can still log.
class LoggerRegistry {
 public:
  static LoggerRegistry& Instance() {
    alignas(LoggerRegistry) static unsigned char storage[sizeof(LoggerRegistry)];
    static LoggerRegistry* const registry = ::new (storage) LoggerRegistry();
    return *registry;
  }

  spdlog::logger& Get(std::string_view component) {
    std::lock_guard lock(mu_);
    auto it = loggers_.find(component);
    if (it == loggers_.end()) {
      auto logger = std::make_shared<spdlog::logger>(std::string(component), switch_sink_);
      logger->set_level(level_);
      logger->flush_on(spdlog::level::warn);
      it = loggers_.emplace(std::string(component), std::move(logger)).first;
    }
    return *it->second;
  }

  void Setup(Level level, Format format, spdlog::sink_ptr sink) {
    sink->set_formatter(MakeFormatter(format));
    std::lock_guard lock(mu_);
    level_ = ToSpdlog(level);
    switch_sink_->SetTarget(std::move(sink));
    for (auto& [name, logger] : loggers_) logger->set_level(level_);
    if (!default_installed_) {
      // Third-party code calling spdlog::info() ends up in the same place.
      auto def = std::make_shared<spdlog::logger>("sluice", switch_sink_);
      spdlog::set_default_logger(def);
      default_installed_ = true;
    }
    spdlog::default_logger_raw()->set_level(level_);
  }

 private:
  LoggerRegistry() {
    auto sink = MakeStderrSink();
    sink->set_formatter(MakeFormatter(Format::kHuman));
    switch_sink_ = std::make_shared<SwitchSink>(std::move(sink));
  }

  std::mutex mu_;
  std::shared_ptr<SwitchSink> switch_sink_;
  spdlog::level::level_enum level_ = spdlog::level::info;
  bool default_installed_ = false;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers_;
};

}  // namespace

Result<Level> ParseLevel(std::string_view s) {
  std::string l = Lower(s);
  if (l == "trace") return Level::kTrace;
  if (l == "debug") return Level::kDebug;
  if (l == "info") return Level::kInfo;
  if (l == "warn" || l == "warning") return Level::kWarn;
  if (l == "error") return Level::kError;
  if (l == "off") return Level::kOff;
  return InvalidArgument("unknown log level '{}' (known: trace, debug, info, warn, error, off)", s);
}

Result<Format> ParseFormat(std::string_view s) {
  std::string l = Lower(s);
  if (l == "human") return Format::kHuman;
  if (l == "json") return Format::kJson;
  return InvalidArgument("unknown log format '{}' (known: human, json)", s);
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

std::string_view FormatName(Format format) { return format == Format::kJson ? "json" : "human"; }

void Setup(Level level, Format format) { Setup(level, format, MakeStderrSink()); }

void Setup(Level level, Format format, spdlog::sink_ptr sink) {
  LoggerRegistry::Instance().Setup(level, format, std::move(sink));
}

spdlog::logger& Get(std::string_view component) {
  return LoggerRegistry::Instance().Get(component);
}

std::string FormatJsonLine(std::string_view logger, std::string_view level, int64_t unix_ms,
                           std::string_view msg) {
  int64_t secs = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out;
  out.reserve(80 + msg.size());
  fmt::format_to(std::back_inserter(out),
                 "{{\"ts\":\"{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z\",\"level\":\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
  AppendJsonEscaped(out, level);
  out += "\",\"logger\":\"";
  AppendJsonEscaped(out, logger);
  out += "\",\"msg\":\"";
  AppendJsonEscaped(out, msg);
  out += "\"}";
  return out;
}

}  // namespace sluice::logging
