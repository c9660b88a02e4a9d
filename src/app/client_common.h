// Shared pieces of the client commands: flag parsing, the HTTP client, error reporting.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/json_value.h"
#include "gateway/http_client.h"

namespace sluice::app {

// Parsed command line: positional arguments, and flags (repeatable ones keep every value).
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;
  // --help or -h was given: the command prints its usage on stdout and exits 0 (PrintUsage).
  bool help = false;
  bool Has(const std::string& f) const { return flags.count(f) != 0; }
  std::optional<std::string> Get(const std::string& f) const;
};

// Parses argv. `valued` flags take a value ("--x v" or "--x=v"); `boolean` ones do not.
// --help and -h anywhere set `help` and end the parse (nothing after them is checked).
// Errors: unknown flag, missing value.
Result<Args> ParseArgs(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
                       const std::vector<std::string>& boolean);

// A numeric flag's value, strictly: the whole value an integer in [min, max] ("10x", "1.5" and
// "-1" for a count are errors, never read as 10, 1 or a huge number). nullopt when absent.
// Errors: kInvalidArgument naming the flag and the range.
Result<std::optional<int64_t>> IntFlag(const Args& args, const std::string& flag, int64_t min,
                                       int64_t max);

// --since's value as milliseconds since the epoch: an integer (already ms), an RFC 3339 time
// ("2026-12-01T09:30:00Z", "...+01:00"), or a duration back from now_ms ("90s", "15m", "2h",
// "7d"). Errors: kInvalidArgument naming `flag` and listing the three forms.
Result<int64_t> ParseSinceMs(std::string_view value, int64_t now_ms,
                             std::string_view flag = "--since");

// --server, else $SLUICE_SERVER, else http://127.0.0.1:8080.
std::string ServerUrl(const Args& args);

// Sends a request and parses the JSON body of a 2xx response. Non-2xx responses become a Status
// carrying the server's message; connection failures mention `sluice serve`.
class Api {
 public:
  static Result<std::unique_ptr<Api>> Connect(const Args& args);
  Result<codec::JsonValue> Call(const std::string& method, const std::string& target,
                                const std::string& body = "",
                                const std::string& content_type = "application/json",
                                int64_t timeout_ms = 30000);
  // Raw body of the last successful call (for --json).
  const std::string& last_body() const { return last_body_; }

 private:
  std::unique_ptr<gateway::HttpClient> client_;
  std::string last_body_;
};

// Prints "sluice: <message>" to stderr and returns 1. For errors from the server, whose message
// Api::Call already ends with "(<error_code>)".
int Fail(const Status& st);
// Prints "sluice: <message> (<error_code>)" to stderr and returns 1: for errors the CLI finds
// itself, worded like the server's (docs/cli.md).
int FailWithCode(const Status& st);
// Api::Connect failed: a server URL or CA file that cannot be used is a usage error (exit 2,
// as docs/cli.md says of bad flag values), anything else a failure (exit 1).
int ConnectFailed(const Status& st, const char* usage);
// Prints "sluice: <message>\n<usage>" to stderr and returns 2.
int UsageError(const std::string& message, const char* usage);
// Prints "usage: <usage>" to stdout and returns 0 (the answer to --help).
int PrintUsage(const char* usage);

}  // namespace sluice::app
