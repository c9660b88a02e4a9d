// The table of ServerConfig keys: YAML path, flag, member, parsing from text and per-key checks.
// Shared by the loader, Validate() and ToYaml() so the three never disagree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "config/server_config.h"

namespace sluice::config::internal {

using Member =
    std::variant<std::string ServerConfig::*, int64_t ServerConfig::*, int32_t ServerConfig::*,
                 uint32_t ServerConfig::*, bool ServerConfig::*>;

struct Field {
  std::string_view path;  // YAML path, "http.max_event_bytes"
  std::string_view flag;  // dedicated flag ("--http-listen"), or empty
  Member member;
  int64_t min = 0;  // integers: inclusive range
  int64_t max = 0;
  // Strings (and special integer rules): reason the value is bad, or empty.
  std::string (*check)(const ServerConfig&) = nullptr;
};

// Every scalar key, in YAML order. kafka.properties (a map) is handled by the callers.
const std::vector<Field>& Fields();
const Field* FindField(std::string_view path);
const Field* FindFlag(std::string_view flag);
inline constexpr std::string_view kKafkaProperties = "kafka.properties";

// Parses `text` into the field. Errors: kInvalidArgument with the reason only
// ("'abc' is not an integer").
Status SetField(const Field& f, ServerConfig& c, std::string_view text);
// The value as text (YAML scalar).
std::string GetField(const Field& f, const ServerConfig& c);
// The reason the field's current value is bad, or empty.
std::string CheckField(const Field& f, const ServerConfig& c);

// A problem found by CheckAll: the keys involved (first one is the main one) and the reason.
struct Issue {
  std::vector<std::string> keys;
  std::string reason;
};
// Every per-key check, then the checks across keys; empty when the config is valid.
std::vector<Issue> CheckAll(const ServerConfig& c);

// The keys directly under `prefix` ("" for the top level), in YAML order: "listen, ...".
std::vector<std::string> ChildKeys(std::string_view prefix);
// True when `path` is a section (has keys under it): "http", "kafka".
bool IsSection(std::string_view path);
// "http.listen" -> "SLUICE_HTTP_LISTEN".
std::string EnvName(std::string_view path);

}  // namespace sluice::config::internal
