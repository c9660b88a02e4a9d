// Client command helpers.
#include "app/client_common.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"
#include "stream/pipeline_spec.h"

namespace sluice::app {

std::optional<std::string> Args::Get(const std::string& f) const {
  auto it = flags.find(f);
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

Result<std::optional<int64_t>> IntFlag(const Args& args, const std::string& flag, int64_t min,
                                       int64_t max) {
  auto v = args.Get(flag);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n < min || n > max) {
    if (min == INT64_MIN && max == INT64_MAX) {
      return InvalidArgument("{} takes an integer, got '{}'", flag, *v);
    }
    if (max == INT64_MAX) {
      return InvalidArgument("{} takes an integer of at least {}, got '{}'", flag, min, *v);
    }
    return InvalidArgument("{} takes an integer from {} to {}, got '{}'", flag, min, max, *v);
  }
  return std::optional<int64_t>(n);
}

Result<int64_t> ParseSinceMs(std::string_view value, int64_t now_ms, std::string_view flag) {
  int64_t ms = -1;
  if (auto t = gateway::ParseTimeMillis(value)) {
    ms = *t;
  } else if (auto ago = stream::ParseDurationMs(value)) {
    ms = std::max<int64_t>(0, now_ms - *ago);
  }
  if (ms < 0) {
    return InvalidArgument(
        "{} takes milliseconds since the epoch, an RFC 3339 time (2026-12-01T09:30:00Z) "
        "or a duration back from now (90s, 15m, 2h, 7d); got '{}'",
        flag, value);
  }
  return ms;
}

Result<Args> ParseArgs(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
                       const std::vector<std::string>& boolean) {
  Args out;
  auto is = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    }
    if (!a.starts_with("--") || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (is(valued, name) || name == "--server" || name == "--ca-file") {
      if (!has_value) {
        if (i + 1 >= argv.size()) return InvalidArgument("{}: missing value", name);
        value = argv[++i];
      }
      out.flags[name].push_back(value);
    } else if (is(boolean, name) || name == "--json") {
      if (has_value) return InvalidArgument("{} takes no value", name);
      out.flags[name].push_back("true");
    } else {
      return InvalidArgument("unknown flag {}", name);
    }
  }
  return out;
}

std::string ServerUrl(const Args& args) {
  if (auto s = args.Get("--server")) return *s;
  if (const char* e = std::getenv("SLUICE_SERVER"); e != nullptr && *e != '\0') return e;
  return "http://127.0.0.1:8080";
}

Result<std::unique_ptr<Api>> Api::Connect(const Args& args) {
  // https:// servers: the CA certificates to trust (--ca-file or $SLUICE_CA_FILE; default the
  // system's).
  gateway::HttpClientOptions options;
  if (auto f = args.Get("--ca-file")) {
    options.ca_file = *f;
  } else if (const char* e = std::getenv("SLUICE_CA_FILE"); e != nullptr && *e != '\0') {
    options.ca_file = e;
  }
  auto c = gateway::HttpClient::Create(ServerUrl(args), options);
  if (!c.ok()) return c.status();
  auto api = std::make_unique<Api>();
  api->client_ = std::move(c).value();
  // Credentials for servers with auth on: a JWT (SLUICE_TOKEN) or an API key (SLUICE_API_KEY).
  if (const char* t = std::getenv("SLUICE_TOKEN"); t != nullptr && *t != '\0') {
    api->client_->SetHeader("Authorization", std::string("Bearer ") + t);
  }
  if (const char* k = std::getenv("SLUICE_API_KEY"); k != nullptr && *k != '\0') {
    api->client_->SetHeader("X-API-Key", k);
  }
  return api;
}

Result<codec::JsonValue> Api::Call(const std::string& method, const std::string& target,
                                   const std::string& body, const std::string& content_type,
                                   int64_t timeout_ms) {
  auto r = client_->Request(method, target, body, content_type, timeout_ms);
  if (!r.ok()) {
    if (r.status().code() == ErrorCode::kUnavailable) {
      return Unavailable("{} (is `sluice serve` running at {}?)", r.status().message(),
                         client_->base_url());
    }
    return r.status();
  }
  codec::JsonParser parser;
  if (r->status < 200 || r->status > 299) {
    auto v = parser.Parse(r->body);
    std::string msg = fmt::format("HTTP {}", r->status);
    ErrorCode code = ErrorCode::kInternal;
    if (v.ok() && v->Find("message") != nullptr) {
      msg = v->Find("message")->text();
      if (const auto* ec = v->Find("error_code")) msg += fmt::format(" ({})", ec->text());
    }
    if (r->status == 404) code = ErrorCode::kNotFound;
    if (r->status == 400 || r->status == 413 || r->status == 415) {
      code = ErrorCode::kInvalidArgument;
    }
    if (r->status == 409) code = ErrorCode::kAlreadyExists;
    if (r->status == 416) code = ErrorCode::kOutOfRange;
    if (r->status == 503) code = ErrorCode::kUnavailable;
    if (r->status == 401) code = ErrorCode::kUnauthenticated;
    if (r->status == 403) code = ErrorCode::kPermissionDenied;
    return Status(code, msg);
  }
  last_body_ = r->body;
  if (r->body.empty()) return codec::JsonValue();
  auto v = parser.Parse(r->body);
  if (!v.ok()) return Internal("server sent malformed JSON: {}", v.status().message());
  return v;
}

int Fail(const Status& st) {
  fmt::print(stderr, "sluice: {}\n", st.message());
  return 1;
}

int FailWithCode(const Status& st) {
  fmt::print(stderr, "sluice: {} ({})\n", st.message(), ErrorCodeName(st.code()));
  return 1;
}

int ConnectFailed(const Status& st, const char* usage) {
  if (st.code() == ErrorCode::kInvalidArgument) return UsageError(st.message(), usage);
  return Fail(st);
}

int UsageError(const std::string& message, const char* usage) {
  fmt::print(stderr, "sluice: {}\nusage: {}\n", message, usage);
  return 2;
}

int PrintUsage(const char* usage) {
  fmt::print("usage: {}\n", usage);
  return 0;
}

}  // namespace sluice::app
