// LoadServerConfig: layers defaults, the YAML file, SLUICE_* variables and flags, remembering
// where each key was last set so errors can name it. yaml-cpp exceptions stop here.
#include "config/loader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "config/internal/fields.h"

extern char** environ;

namespace sluice::config {
namespace {

using internal::Field;

constexpr std::string_view kEnvPrefix = "SLUICE_";
constexpr std::string_view kEnvConfig = "SLUICE_CONFIG";
constexpr std::string_view kEnvKafkaProperties = "SLUICE_KAFKA_PROPERTIES_";

constexpr std::string_view kUsage =
    "  --config FILE           YAML config file (default: $SLUICE_CONFIG, else none)\n"
    "  --data-dir DIR          data directory of the embedded store (data_dir)\n"
    "  --http-listen HOST:PORT HTTP listener (http.listen)\n"
    "  --registry-listen H:P   Schema Registry listener, '' = off (registry.listen)\n"
    "  --grpc-listen H:P       gRPC listener, '' = off (grpc.listen)\n"
    "  --log BACKEND           embedded | kafka://HOST:PORT[,HOST:PORT] (log_backend)\n"
    "  --shards N              worker threads, 0 = one per core (shards)\n"
    "  --log-level LEVEL       trace|debug|info|warn|error|off (log.level)\n"
    "  --log-format FORMAT     human|json (log.format)\n"
    "  --auth                  require authentication and RBAC on every listener (auth.enabled)\n"
    "  --auth-policy FILE      roles, principals and API key hashes (auth.policy_file)\n"
    "  --insecure              allow non-loopback listeners without auth (insecure)\n"
    "  --set KEY=VALUE         any config key by its YAML path, e.g. store.retention_ms=-1\n"
    "Environment: SLUICE_<KEY> with the YAML path upper-cased, '.' as '_' (SLUICE_HTTP_LISTEN).\n"
    "Precedence: defaults < config file < environment < flags.\n";

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Applies values to a ServerConfig and records, per key, the source that set it last.
class Loader {
 public:
  // Sets a scalar key. `where` names the source and key for errors ("--shards",
  // "config file x.yaml: http.listen", "environment SLUICE_SHARDS").
  Status Set(const Field& f, std::string_view text, std::string where) {
    Status st = internal::SetField(f, config_, text);
    if (st.ok()) {
      std::string reason = internal::CheckField(f, config_);
      if (!reason.empty()) st = InvalidArgument("{}", reason);
    }
    if (!st.ok()) return InvalidArgument("{}: {}", where, st.message());
    origin_[std::string(f.path)] = std::move(where);
    return Status::Ok();
  }

  Status SetKafkaProperty(std::string name, std::string value, std::string where) {
    if (name.empty()) return InvalidArgument("{}: empty property name", where);
    config_.kafka_properties[std::move(name)] = std::move(value);
    return Status::Ok();
  }

  // Sets a key by YAML path (--set); kafka.properties.<name> included.
  Status SetPath(std::string_view path, std::string_view text, std::string_view source) {
    std::string where = fmt::format("{} {}", source, path);
    if (const Field* f = internal::FindField(path)) return Set(*f, text, where);
    std::string props_prefix = std::string(internal::kKafkaProperties) + ".";
    if (path.starts_with(props_prefix)) {
      return SetKafkaProperty(std::string(path.substr(props_prefix.size())), std::string(text),
                              where);
    }
    std::vector<std::string> known;
    for (const Field& f : internal::Fields()) known.emplace_back(f.path);
    known.push_back(props_prefix + "<name>");
    return InvalidArgument("{}: unknown key '{}' (known: {})", source, path, Join(known));
  }

  Status LoadFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
      int err = errno;
      return InvalidArgument("config file {}: cannot read: {}", path, std::strerror(err));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    YAML::Node root;
    try {
      root = YAML::Load(buf.str());
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config file {}: line {}, column {}: {}", path, e.mark.line + 1,
                             e.mark.column + 1, e.msg);
    }
    if (root.IsNull()) return Status::Ok();  // empty file: defaults
    if (!root.IsMap()) {
      return InvalidArgument("config file {}: the top level must be a map of keys", path);
    }
    try {
      return LoadMap(root, "", path);
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config file {}: {}", path, e.what());
    }
  }

  Status LoadEnv(const std::map<std::string, std::string>& env,
                 std::vector<std::string>* warnings) {
    for (const auto& [name, value] : env) {
      if (!name.starts_with(kEnvPrefix) || name == kEnvConfig) continue;
      std::string where = fmt::format("environment {}", name);
      if (name.starts_with(kEnvKafkaProperties) && name.size() > kEnvKafkaProperties.size()) {
        std::string prop;
        for (char ch : name.substr(kEnvKafkaProperties.size())) {
          prop += ch == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        SLUICE_RETURN_IF_ERROR(SetKafkaProperty(std::move(prop), value, where));
        continue;
      }
      const Field* field = nullptr;
      for (const Field& f : internal::Fields()) {
        if (internal::EnvName(f.path) == name) field = &f;
      }
      if (field == nullptr) {
        if (warnings != nullptr) {
          warnings->push_back(
              fmt::format("ignoring environment variable {}: not a config key", name));
        }
        continue;
      }
      SLUICE_RETURN_IF_ERROR(Set(*field, value, where));
    }
    return Status::Ok();
  }

  // Cross-key checks, naming where each involved key came from.
  Status Finish() {
    auto issues = internal::CheckAll(config_);
    if (issues.empty()) return Status::Ok();
    const internal::Issue& issue = issues.front();
    std::string sources;
    for (const auto& key : issue.keys) {
      auto it = origin_.find(key);
      if (!sources.empty()) sources += "; ";
      sources += fmt::format("{} from {}", key, it == origin_.end() ? "default" : it->second);
    }
    return InvalidArgument("{}: {} ({})", issue.keys.front(), issue.reason, sources);
  }

  ServerConfig& config() { return config_; }

 private:
  Status LoadMap(const YAML::Node& map, const std::string& prefix, const std::string& file) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        return InvalidArgument("config file {}: keys under '{}' must be plain names", file, prefix);
      }
      std::string key = kv.first.Scalar();
      std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!seen.insert(key).second) {
        return InvalidArgument("config file {}: {}: key given twice", file, path);
      }
      const YAML::Node& value = kv.second;
      if (path == internal::kKafkaProperties) {
        SLUICE_RETURN_IF_ERROR(LoadProperties(value, path, file));
      } else if (const Field* f = internal::FindField(path)) {
        std::string where = fmt::format("config file {}: {}", file, path);
        if (value.IsNull()) return InvalidArgument("{}: has no value", where);
        if (!value.IsScalar()) {
          return InvalidArgument("{}: expected a single value, got a {}", where,
                                 value.IsMap() ? "map" : "list");
        }
        SLUICE_RETURN_IF_ERROR(Set(*f, value.Scalar(), where));
      } else if (internal::IsSection(path)) {
        if (value.IsNull()) continue;  // "http:" with nothing under it
        if (!value.IsMap()) {
          return InvalidArgument("config file {}: {}: expected a map of keys", file, path);
        }
        SLUICE_RETURN_IF_ERROR(LoadMap(value, path, file));
      } else {
        return InvalidArgument("unknown key '{}' in {} (known: {})", path, file,
                               Join(internal::ChildKeys(prefix)));
      }
    }
    return Status::Ok();
  }

  Status LoadProperties(const YAML::Node& value, const std::string& path, const std::string& file) {
    if (value.IsNull()) return Status::Ok();
    if (!value.IsMap()) {
      return InvalidArgument("config file {}: {}: expected a map of librdkafka properties", file,
                             path);
    }
    for (const auto& kv : value) {
      std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      std::string where = fmt::format("config file {}: {}.{}", file, path, name);
      if (!kv.second.IsScalar()) return InvalidArgument("{}: expected a single value", where);
      SLUICE_RETURN_IF_ERROR(SetKafkaProperty(name, kv.second.Scalar(), where));
    }
    return Status::Ok();
  }

  ServerConfig config_;
  std::map<std::string, std::string> origin_;
};

struct Flag {
  std::string name;  // "--shards"
  std::string value;
};

Result<std::vector<Flag>> SplitFlags(std::span<const std::string> args) {
  std::vector<Flag> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--") || a.size() == 2) {
      return InvalidArgument("unexpected argument '{}' (flags start with --)", a);
    }
    size_t eq = a.find('=');
    Flag flag{a.substr(0, eq), ""};
    bool known =
        flag.name == "--config" || flag.name == "--set" || internal::FindFlag(flag.name) != nullptr;
    if (!known) {
      std::string names = "--config, --set";
      for (const Field& f : internal::Fields()) {
        if (!f.flag.empty()) names += fmt::format(", {}", f.flag);
      }
      return InvalidArgument("unknown flag '{}' (known: {})", flag.name, names);
    }
    if (eq != std::string::npos) {
      flag.value = a.substr(eq + 1);
    } else if (flag.name == "--insecure" || flag.name == "--auth") {
      flag.value = "true";
    } else if (i + 1 < args.size()) {
      flag.value = args[++i];
    } else {
      return InvalidArgument("{}: missing value", flag.name);
    }
    flags.push_back(std::move(flag));
  }
  return flags;
}

}  // namespace

Result<ServerConfig> LoadServerConfig(std::span<const std::string> args,
                                      const std::map<std::string, std::string>& env,
                                      std::vector<std::string>* warnings) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<Flag> flags, SplitFlags(args));

  std::string file;
  bool file_from_flag = false;
  if (auto it = env.find(std::string(kEnvConfig)); it != env.end()) file = it->second;
  for (const Flag& f : flags) {
    if (f.name != "--config") continue;
    if (file_from_flag) return InvalidArgument("--config: given twice");
    file = f.value;
    file_from_flag = true;
  }
  if (file_from_flag && file.empty()) return InvalidArgument("--config: empty file name");

  Loader loader;
  if (!file.empty()) SLUICE_RETURN_IF_ERROR(loader.LoadFile(file));
  SLUICE_RETURN_IF_ERROR(loader.LoadEnv(env, warnings));
  for (const Flag& f : flags) {
    if (f.name == "--config") continue;
    if (f.name == "--set") {
      size_t eq = f.value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("--set: '{}' is not key.path=value", f.value);
      }
      SLUICE_RETURN_IF_ERROR(
          loader.SetPath(f.value.substr(0, eq), f.value.substr(eq + 1), "--set"));
      continue;
    }
    SLUICE_RETURN_IF_ERROR(loader.Set(*internal::FindFlag(f.name), f.value, f.name));
  }
  SLUICE_RETURN_IF_ERROR(loader.Finish());
  return std::move(loader.config());
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string_view ServerFlagsUsage() { return kUsage; }

}  // namespace sluice::config
