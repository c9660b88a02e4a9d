// Policy::FromYaml: the YAML adapter. yaml-cpp exceptions become kInvalidArgument here, and
// every error starts with the key path of the node at fault.
#include <yaml-cpp/yaml.h>

#include "auth/rbac/policy.h"

namespace sluice::auth_rbac {
namespace {

Status PathError(std::string_view path, const Status& st) { return st.WithContext(path); }

Result<std::vector<std::string>> StringList(const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence()) return InvalidArgument("{}: expected a list of strings", path);
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) return InvalidArgument("{}[{}]: expected a string", path, i);
    out.push_back(node[i].Scalar());
  }
  return out;
}

Status LoadRoles(const YAML::Node& roles, Policy& policy) {
  if (!roles.IsMap()) return InvalidArgument("roles: expected a map of role name to rules");
  for (const auto& entry : roles) {
    const std::string name = entry.first.Scalar();
    const std::string role_path = "roles." + name;
    const YAML::Node& rules = entry.second;
    if (!rules.IsSequence() || rules.size() == 0) {
      return InvalidArgument("{}: expected a non-empty list of rules", role_path);
    }
    for (size_t r = 0; r < rules.size(); ++r) {
      const std::string rule_path = fmt::format("{}[{}]", role_path, r);
      const YAML::Node& rule = rules[r];
      if (!rule.IsMap()) return InvalidArgument("{}: expected a map with resources and actions",
                                                rule_path);
      for (const auto& field : rule) {
        const std::string key = field.first.Scalar();
        if (key != "resources" && key != "actions") {
          return InvalidArgument("{}.{}: unknown key (expected resources, actions)", rule_path,
                                 key);
        }
      }
      if (!rule["resources"]) return InvalidArgument("{}.resources: missing", rule_path);
      if (!rule["actions"]) return InvalidArgument("{}.actions: missing", rule_path);
      RuleSpec spec;
      SLUICE_ASSIGN_OR_RETURN(spec.resources,
                              StringList(rule["resources"], rule_path + ".resources"));
      SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> actions,
                              StringList(rule["actions"], rule_path + ".actions"));
      for (size_t a = 0; a < actions.size(); ++a) {
        std::optional<Action> action = ParseAction(actions[a]);
        if (!action) {
          return InvalidArgument(
              "{}.actions[{}]: unknown action '{}' (expected produce, consume, admin, "
              "schema-read, schema-write)",
              rule_path, a, actions[a]);
        }
        spec.actions.push_back(*action);
      }
      // Point at the first bad pattern precisely; AddRule adds role and rule context.
      for (size_t p = 0; p < spec.resources.size(); ++p) {
        Result<ResourcePattern> pattern = ResourcePattern::Parse(spec.resources[p]);
        if (!pattern.ok()) {
          return PathError(fmt::format("{}.resources[{}]", rule_path, p),
                           pattern.status().WithContext(
                               fmt::format("role '{}' rule {}", name, r)));
        }
      }
      Status st = policy.AddRule(name, spec);
      if (!st.ok()) return PathError(rule_path, st);
    }
  }
  return Status::Ok();
}

Status LoadPrincipals(const YAML::Node& principals, Policy& policy) {
  if (!principals.IsMap()) {
    return InvalidArgument("principals: expected a map of principal name to role list");
  }
  for (const auto& entry : principals) {
    const std::string name = entry.first.Scalar();
    const std::string path = "principals." + name;
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> roles, StringList(entry.second, path));
    for (size_t i = 0; i < roles.size(); ++i) {
      if (!policy.HasRole(roles[i])) {
        return InvalidArgument("{}[{}]: unknown role '{}'", path, i, roles[i]);
      }
    }
    Status st = policy.AssignRoles(name, roles);
    if (!st.ok()) return PathError(path, st);
  }
  return Status::Ok();
}

Status LoadApiKeys(const YAML::Node& keys, Policy& policy) {
  if (!keys.IsSequence()) return InvalidArgument("api_keys: expected a list");
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string path = fmt::format("api_keys[{}]", i);
    const YAML::Node& key = keys[i];
    if (!key.IsMap()) return InvalidArgument("{}: expected a map with id, principal, hash", path);
    ApiKeyRecord record;
    for (const auto& field : key) {
      const std::string name = field.first.Scalar();
      std::string* target = name == "id"          ? &record.id
                            : name == "principal" ? &record.principal
                            : name == "hash"      ? &record.hash
                                                  : nullptr;
      if (target == nullptr) {
        return InvalidArgument("{}.{}: unknown key (expected id, principal, hash)", path, name);
      }
      if (!field.second.IsScalar()) return InvalidArgument("{}.{}: expected a string", path, name);
      *target = field.second.Scalar();
    }
    if (record.id.empty()) return InvalidArgument("{}.id: missing", path);
    if (record.principal.empty()) return InvalidArgument("{}.principal: missing", path);
    if (record.hash.empty()) return InvalidArgument("{}.hash: missing", path);
    Status st = policy.AddApiKey(std::move(record));
    if (!st.ok()) return PathError(path, st);
  }
  return Status::Ok();
}

}  // namespace

Result<Policy> Policy::FromYaml(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("policy YAML: {}", e.what());
  }
  Policy policy;
  if (root.IsNull()) return policy;  // empty document: no roles, everything denied
  if (!root.IsMap()) return InvalidArgument("policy: expected a map with roles, principals, "
                                            "api_keys");
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key != "roles" && key != "principals" && key != "api_keys") {
      return InvalidArgument("{}: unknown key (expected roles, principals, api_keys)", key);
    }
  }
  try {
    // Fixed order regardless of document order: principals refer to roles, keys to principals.
    if (root["roles"]) SLUICE_RETURN_IF_ERROR(LoadRoles(root["roles"], policy));
    if (root["principals"]) SLUICE_RETURN_IF_ERROR(LoadPrincipals(root["principals"], policy));
    if (root["api_keys"]) SLUICE_RETURN_IF_ERROR(LoadApiKeys(root["api_keys"], policy));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("policy YAML: {}", e.what());
  }
  return policy;
}

}  // namespace sluice::auth_rbac
