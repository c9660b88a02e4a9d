// Logging: spdlog loggers, one per component ("storage", "gateway", ...), all writing through one
// process-wide sink whose format (human text or JSON lines) and level are chosen by Setup().
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sluice::logging {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format {
  kHuman,  // "[2024-05-01 12:00:00.123] [info] [storage] message"
  kJson,   // {"ts":"2024-05-01T12:00:00.123Z","level":"info","logger":"storage","msg":"message"}
};

// Parses trace|debug|info|warn|error|off ("warning" is accepted for warn), case-insensitive.
// Errors: kInvalidArgument naming the accepted values.
Result<Level> ParseLevel(std::string_view s);
// Parses human|json, case-insensitive. Errors: kInvalidArgument naming the accepted values.
Result<Format> ParseFormat(std::string_view s);
std::string_view LevelName(Level level);
std::string_view FormatName(Format format);

// Sets the level and format of every component logger, existing and future, and makes them
// (and spdlog's default logger) write to stderr. Thread-safe; may be called again at any time.
// Before the first call, loggers write human lines at info to stderr.
void Setup(Level level, Format format);
// As above, but writes to `sink` (tests pass an ostream sink). The sink's formatter is replaced.
void Setup(Level level, Format format, spdlog::sink_ptr sink);

// The logger of one component, created on first use; the reference stays valid for the life of
// the process. Thread-safe. Lookups take a mutex: keep the reference, e.g. in the component's
// logger.h:  inline spdlog::logger& Log() { static auto& l = logging::Get("storage"); return l; }
spdlog::logger& Get(std::string_view component);

// Formats one message as a JSON line (no trailing newline); exposed for tests.
// `level` is spdlog's short name ("info", "warn", "critical"); `unix_ms` is the event time.
std::string FormatJsonLine(std::string_view logger, std::string_view level, int64_t unix_ms,
                           std::string_view msg);

}  // namespace sluice::logging
