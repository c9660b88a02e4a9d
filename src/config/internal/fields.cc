// The ServerConfig key table and the per-key parsing and checks.
#include "config/internal/fields.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "base/logging.h"

namespace sluice::config::internal {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

std::string CheckDataDir(const ServerConfig& c) {
  return c.data_dir.empty() ? "must not be empty" : "";
}

std::string CheckListen(const ServerConfig& c) {
  auto hp = ParseHostPort(c.http_listen);
  return hp.ok() ? "" : hp.status().message();
}

std::string CheckRegistryListen(const ServerConfig& c) {
  if (c.registry_listen.empty()) return "";
  auto hp = ParseHostPort(c.registry_listen);
  return hp.ok() ? "" : hp.status().message() + " (empty disables the registry)";
}

std::string CheckJwksUrl(const ServerConfig& c) {
  const std::string& u = c.auth_jwks_url;
  if (u.empty() || u.starts_with("http://") || u.starts_with("https://")) return "";
  return fmt::format("must be an http:// or https:// URL (got '{}')", u);
}

std::string CheckClaimName(const ServerConfig& c) {
  return c.auth_principal_claim.empty() || c.auth_roles_claim.empty() ? "must not be empty" : "";
}

std::string CheckGrpcListen(const ServerConfig& c) {
  if (c.grpc_listen.empty()) return "";
  auto hp = ParseHostPort(c.grpc_listen);
  return hp.ok() ? "" : hp.status().message() + " (empty disables gRPC)";
}

std::string CheckLogBackend(const ServerConfig& c) {
  constexpr std::string_view kPrefix = "kafka://";
  const std::string& b = c.log_backend;
  std::string usage =
      fmt::format("must be 'embedded' or 'kafka://HOST:PORT[,HOST:PORT...]' (got '{}')", b);
  if (b == "embedded") return "";
  if (!b.starts_with(kPrefix)) return usage;
  std::string_view list = std::string_view(b).substr(kPrefix.size());
  if (list.empty()) return usage;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string_view broker = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto hp = ParseHostPort(broker);
    if (!hp.ok()) return fmt::format("broker '{}': {}", broker, hp.status().message());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return "";
}

std::string CheckLogLevel(const ServerConfig& c) {
  auto r = logging::ParseLevel(c.log_level);
  return r.ok() ? "" : r.status().message();
}

std::string CheckLogFormat(const ServerConfig& c) {
  auto r = logging::ParseFormat(c.log_format);
  return r.ok() ? "" : r.status().message();
}

std::string CheckDurability(const ServerConfig& c) {
  const std::string& d = c.default_durability;
  if (d == "always" || d == "interval" || d == "never") return "";
  return fmt::format("unknown durability '{}' (known: always, interval, never)", d);
}

std::string CheckRetention(const ServerConfig& c) {
  if (c.retention_ms == -1 || c.retention_ms > 0) return "";
  return fmt::format("must be positive, or -1 to keep forever (got {})", c.retention_ms);
}

std::string RangeReason(int64_t v, int64_t min, int64_t max) {
  if (v >= min && v <= max) return "";
  if (min == 1 && (max == kInt64Max || max == kInt32Max)) {
    return fmt::format("must be positive (got {})", v);
  }
  return fmt::format("must be between {} and {} (got {})", min, max, v);
}

Result<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec == std::errc::invalid_argument || p != end) {
    return InvalidArgument("'{}' is not an integer", text);
  }
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgument("'{}' is out of range", text);
  }
  return v;
}

Result<bool> ParseBool(std::string_view text) {
  std::string l = Lower(text);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  return InvalidArgument("'{}' is not a boolean (use true or false)", text);
}

}  // namespace

const std::vector<Field>& Fields() {
  using C = ServerConfig;
  static const std::vector<Field> kFields = {
      {"data_dir", "--data-dir", &C::data_dir, 0, 0, CheckDataDir},
      {"log_backend", "--log", &C::log_backend, 0, 0, CheckLogBackend},
      {"shards", "--shards", &C::shards, 0, 256},
      {"blocking_threads", "", &C::blocking_threads, 1, 1024},
      {"insecure", "--insecure", &C::insecure},
      {"http.listen", "--http-listen", &C::http_listen, 0, 0, CheckListen},
      {"http.max_request_bytes", "", &C::max_request_bytes, 1, kInt64Max},
      {"http.max_event_bytes", "", &C::max_event_bytes, 1, kInt64Max},
      {"http.max_events_per_request", "", &C::max_events_per_request, 1, kInt32Max},
      {"http.max_connections", "", &C::max_connections, 1, kInt32Max},
      {"http.request_timeout_ms", "", &C::request_timeout_ms, 1, kInt64Max},
      {"http.max_inflight_bytes", "", &C::max_inflight_bytes, 1, kInt64Max},
      {"http.idempotency_ttl_ms", "", &C::idempotency_ttl_ms, 1, kInt64Max},
      {"http.batch_sends", "", &C::http_batch_sends},
      {"http.tls_cert_file", "", &C::http_tls_cert_file},
      {"http.tls_key_file", "", &C::http_tls_key_file},
      {"registry.listen", "--registry-listen", &C::registry_listen, 0, 0, CheckRegistryListen},
      {"registry.tls_cert_file", "", &C::registry_tls_cert_file},
      {"registry.tls_key_file", "", &C::registry_tls_key_file},
      {"auth.enabled", "--auth", &C::auth_enabled},
      {"auth.policy_file", "--auth-policy", &C::auth_policy_file},
      {"auth.reload_interval_ms", "", &C::auth_reload_interval_ms, 100, kInt64Max},
      {"auth.jwt.jwks_file", "", &C::auth_jwks_file},
      {"auth.jwt.jwks_url", "", &C::auth_jwks_url, 0, 0, CheckJwksUrl},
      {"auth.jwt.jwks_ca_file", "", &C::auth_jwks_ca_file},
      {"auth.jwt.hs256_secret_file", "", &C::auth_hs256_secret_file},
      {"auth.jwt.issuer", "", &C::auth_issuer},
      {"auth.jwt.audience", "", &C::auth_audience},
      {"auth.jwt.clock_skew_s", "", &C::auth_clock_skew_s, 0, 86400},
      {"auth.jwt.principal_claim", "", &C::auth_principal_claim, 0, 0, CheckClaimName},
      {"auth.jwt.roles_claim", "", &C::auth_roles_claim, 0, 0, CheckClaimName},
      {"limits.principal.events_per_s", "", &C::limit_principal_events_per_s, 0, kInt64Max},
      {"limits.principal.burst_events", "", &C::limit_principal_burst_events, 0, kInt64Max},
      {"limits.principal.bytes_per_s", "", &C::limit_principal_bytes_per_s, 0, kInt64Max},
      {"limits.principal.burst_bytes", "", &C::limit_principal_burst_bytes, 0, kInt64Max},
      {"limits.topic.events_per_s", "", &C::limit_topic_events_per_s, 0, kInt64Max},
      {"limits.topic.burst_events", "", &C::limit_topic_burst_events, 0, kInt64Max},
      {"limits.topic.bytes_per_s", "", &C::limit_topic_bytes_per_s, 0, kInt64Max},
      {"limits.topic.burst_bytes", "", &C::limit_topic_burst_bytes, 0, kInt64Max},
      {"limits.overrides_file", "", &C::limit_overrides_file},
      {"grpc.listen", "--grpc-listen", &C::grpc_listen, 0, 0, CheckGrpcListen},
      {"grpc.tls_cert_file", "", &C::grpc_tls_cert_file},
      {"grpc.tls_key_file", "", &C::grpc_tls_key_file},
      {"grpc.max_message_bytes", "", &C::grpc_max_message_bytes, 1024, kInt32Max},
      {"grpc.max_inflight_per_stream", "", &C::grpc_max_inflight_per_stream, 1, 1024},
      {"grpc.max_producers", "", &C::grpc_max_producers, 1, kInt32Max},
      {"log.level", "--log-level", &C::log_level, 0, 0, CheckLogLevel},
      {"log.format", "--log-format", &C::log_format, 0, 0, CheckLogFormat},
      {"store.default_durability", "", &C::default_durability, 0, 0, CheckDurability},
      {"store.flush_interval_ms", "", &C::flush_interval_ms, 1, kInt64Max},
      {"store.segment_bytes", "", &C::segment_bytes, 1, kInt64Max},
      {"store.retention_ms", "", &C::retention_ms, -1, kInt64Max, CheckRetention},
      {"store.housekeeping_interval_ms", "", &C::housekeeping_interval_ms, 1, kInt64Max},
      {"store.checkpoint_interval_ms", "", &C::checkpoint_interval_ms, 1, kInt64Max},
      {"store.preallocate_bytes_per_second", "", &C::preallocate_bytes_per_second, 0, kInt64Max},
      {"store.delete_bytes_per_second", "", &C::delete_bytes_per_second, 0, kInt64Max},
      {"store.min_free_bytes", "", &C::min_free_bytes, -1, kInt64Max},
      {"kafka.group_session_timeout_ms", "", &C::kafka_group_session_timeout_ms, 1, 3600000},
      {"kafka.group_heartbeat_interval_ms", "", &C::kafka_group_heartbeat_interval_ms, 1, 3600000},
      {"kafka.admin_api", "", &C::kafka_admin_api},  // last: ToYaml adds kafka.properties after it
  };
  return kFields;
}

const Field* FindField(std::string_view path) {
  for (const Field& f : Fields()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

const Field* FindFlag(std::string_view flag) {
  for (const Field& f : Fields()) {
    if (!f.flag.empty() && f.flag == flag) return &f;
  }
  return nullptr;
}

Status SetField(const Field& f, ServerConfig& c, std::string_view text) {
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          c.*member = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          SLUICE_ASSIGN_OR_RETURN(c.*member, ParseBool(text));
        } else {
          SLUICE_ASSIGN_OR_RETURN(int64_t v, ParseInt(text));
          std::string reason = RangeReason(v, f.min, f.max);
          if (!reason.empty()) return InvalidArgument("{}", reason);
          c.*member = static_cast<T>(v);
        }
        return Status::Ok();
      },
      f.member);
}

std::string GetField(const Field& f, const ServerConfig& c) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return c.*member;
        } else if constexpr (std::is_same_v<T, bool>) {
          return c.*member ? "true" : "false";
        } else {
          return fmt::format("{}", c.*member);
        }
      },
      f.member);
}

std::string CheckField(const Field& f, const ServerConfig& c) {
  if (f.check != nullptr) return f.check(c);
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
          return "";
        } else {
          return RangeReason(static_cast<int64_t>(c.*member), f.min, f.max);
        }
      },
      f.member);
}

std::vector<Issue> CheckAll(const ServerConfig& c) {
  std::vector<Issue> issues;
  for (const Field& f : Fields()) {
    std::string reason = CheckField(f, c);
    if (!reason.empty()) issues.push_back({{std::string(f.path)}, std::move(reason)});
  }
  for (const auto& [k, v] : c.kafka_properties) {
    if (k.empty()) issues.push_back({{std::string(kKafkaProperties)}, "empty property name"});
  }
  if (c.auth_enabled && c.auth_policy_file.empty()) {
    issues.push_back({{"auth.policy_file", "auth.enabled"},
                      "is required when auth.enabled is true (it names the roles, principals "
                      "and API keys; without it everything would be denied)"});
  }
  // TLS file pairs: checked here, once every source is applied, not per key (setting the
  // certificate first would otherwise fail before the key is set).
  const std::pair<const std::string*, const std::string*> tls_pairs[] = {
      {&c.http_tls_cert_file, &c.http_tls_key_file},
      {&c.registry_tls_cert_file, &c.registry_tls_key_file},
      {&c.grpc_tls_cert_file, &c.grpc_tls_key_file}};
  const std::string_view tls_sections[] = {"http", "registry", "grpc"};
  for (size_t i = 0; i < 3; ++i) {
    if (tls_pairs[i].first->empty() == tls_pairs[i].second->empty()) continue;
    const std::string cert = fmt::format("{}.tls_cert_file", tls_sections[i]);
    const std::string key = fmt::format("{}.tls_key_file", tls_sections[i]);
    issues.push_back({{tls_pairs[i].first->empty() ? cert : key,
                       tls_pairs[i].first->empty() ? key : cert},
                      fmt::format("{} and {} must be set together", cert, key)});
  }
  if (c.max_event_bytes > c.max_request_bytes) {
    issues.push_back({{"http.max_event_bytes", "http.max_request_bytes"},
                      fmt::format("{} must not exceed http.max_request_bytes ({})",
                                  c.max_event_bytes, c.max_request_bytes)});
  }
  return issues;
}

std::vector<std::string> ChildKeys(std::string_view prefix) {
  std::vector<std::string> out;
  auto add = [&](std::string_view path) {
    std::string_view rest = path;
    if (!prefix.empty()) {
      if (!path.starts_with(prefix) || path.size() <= prefix.size() || path[prefix.size()] != '.') {
        return;
      }
      rest = path.substr(prefix.size() + 1);
    }
    std::string child(rest.substr(0, rest.find('.')));
    if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(std::move(child));
  };
  for (const Field& f : Fields()) add(f.path);
  add(kKafkaProperties);
  return out;
}

bool IsSection(std::string_view path) { return !path.empty() && !ChildKeys(path).empty(); }

std::string EnvName(std::string_view path) {
  std::string out = "SLUICE_";
  for (char ch : path) {
    out += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return out;
}

}  // namespace sluice::config::internal
