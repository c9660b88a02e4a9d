// Policy: the compiled RBAC configuration — roles (allow rules on resource patterns), the roles
// each principal holds, and the API key records. Built once from YAML (or in code), then
// immutable and shared by the Authorizer as a std::shared_ptr<const Policy> snapshot.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/rbac/action.h"
#include "auth/rbac/resource_pattern.h"
#include "base/status.h"

namespace sluice::auth_rbac {

// One allow rule as written in config: resource patterns and action names.
struct RuleSpec {
  std::vector<std::string> resources;
  std::vector<Action> actions;
};

// An API key as stored: never the key itself, only its SHA-256 (see api_key_store.h).
struct ApiKeyRecord {
  std::string id;
  std::string principal;
  std::string hash;  // "sha256:<64 hex digits>"
};

// Immutable once built; const methods are thread-safe. Copyable (the Authorizer takes one by
// value in Replace).
//
// Invariants:
//  1. Every rule holds at least one pattern and a non-empty action mask.
//  2. Every role a principal is assigned exists in roles_.
class Policy {
 public:
  Policy() = default;

  // Loads the YAML format documented in README.md. Errors are kInvalidArgument and start with
  // the key path of the offending node ("roles.producer[0].resources[1]: ...").
  static Result<Policy> FromYaml(std::string_view yaml);

  // Adds (or extends) role `name` with a rule. Errors name the role and rule index.
  Status AddRule(std::string_view role, const RuleSpec& rule);
  // Gives `principal` the listed roles (added to any it already has); every role must exist.
  Status AssignRoles(std::string_view principal, std::span<const std::string> roles);
  // Adds an API key record; the principal must exist and the id be unique.
  Status AddApiKey(ApiKeyRecord record);

  // Roles configured for `principal` (empty when unknown).
  std::span<const std::string> RolesOf(std::string_view principal) const;

  // True when any of `roles` has a rule allowing `action` on `resource`. Unknown role names
  // grant nothing. This is the uncached evaluation the Authorizer's cache sits in front of.
  bool AnyRoleAllows(std::span<const std::string> roles, Action action,
                     std::string_view resource) const;

  bool HasRole(std::string_view role) const;
  const std::vector<ApiKeyRecord>& api_keys() const { return api_keys_; }
  size_t role_count() const { return roles_.size(); }

 private:
  struct CompiledRule {
    std::vector<ResourcePattern> patterns;
    uint32_t actions = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  StringMap<std::vector<CompiledRule>> roles_;
  StringMap<std::vector<std::string>> principals_;
  std::vector<ApiKeyRecord> api_keys_;
};

}  // namespace sluice::auth_rbac
