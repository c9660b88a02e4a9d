// ServerConfig validation, YAML rendering and host:port parsing.
#include "config/server_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "config/internal/fields.h"

namespace sluice::config {

Result<HostPort> ParseHostPort(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return InvalidArgument("'{}' is not [ipv6]:port", s);
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return InvalidArgument("'{}' is not host:port", s);
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return InvalidArgument("'{}': write IPv6 addresses in brackets, as [::1]:8080", s);
    }
  }
  if (host.empty()) {
    return InvalidArgument("'{}' has no host (use 0.0.0.0 for every interface)", s);
  }
  int value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return InvalidArgument("'{}': port '{}' is not in 1..65535", s, port);
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

Status ServerConfig::Validate() const {
  auto issues = internal::CheckAll(*this);
  if (issues.empty()) return Status::Ok();
  return InvalidArgument("{}: {}", issues.front().keys.front(), issues.front().reason);
}

std::string ServerConfig::ToYaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  auto emit_value = [&](const internal::Field& f) {
    std::string text = internal::GetField(f, *this);
    if (std::holds_alternative<std::string ServerConfig::*>(f.member)) {
      out << YAML::Value << YAML::DoubleQuoted << text;  // quoted: stays a string when read
    } else {
      out << YAML::Value << text;
    }
  };
  // The open nested maps ("auth", "jwt"), outermost first.
  std::vector<std::string> open;
  for (const internal::Field& f : internal::Fields()) {
    std::vector<std::string> parts;
    std::string_view path = f.path;
    for (size_t dot; (dot = path.find('.')) != std::string_view::npos;) {
      parts.emplace_back(path.substr(0, dot));
      path.remove_prefix(dot + 1);
    }
    size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    while (open.size() > common) {
      out << YAML::EndMap;
      open.pop_back();
    }
    for (size_t i = common; i < parts.size(); ++i) {
      out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
      open.push_back(parts[i]);
    }
    out << YAML::Key << std::string(path);
    emit_value(f);
  }
  const std::string section = open.empty() ? "" : open.front();
  while (open.size() > 1) {
    out << YAML::EndMap;
    open.pop_back();
  }
  // The kafka section ends with its free-form properties map (the table's last section).
  if (section != "kafka") {
    if (!section.empty()) out << YAML::EndMap;
    out << YAML::Key << "kafka" << YAML::Value << YAML::BeginMap;
  }
  out << YAML::Key << "properties" << YAML::Value;
  if (kafka_properties.empty()) out << YAML::Flow;
  out << YAML::BeginMap;
  for (const auto& [k, v] : kafka_properties) {
    out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
  }
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

bool ServerConfig::UsesKafka() const { return log_backend.starts_with("kafka://"); }

std::string ServerConfig::KafkaBootstrapServers() const {
  if (!UsesKafka()) return "";
  return log_backend.substr(std::string_view("kafka://").size());
}

}  // namespace sluice::config
