// Building and evaluating a compiled RBAC policy.
#include "auth/rbac/policy.h"

#include <algorithm>

#include "auth/rbac/internal/encoding.h"

namespace sluice::auth_rbac {

Status Policy::AddRule(std::string_view role, const RuleSpec& rule) {
  if (role.empty()) return InvalidArgument("role name must not be empty");
  auto existing = roles_.find(role);
  size_t index = existing == roles_.end() ? 0 : existing->second.size();
  if (rule.resources.empty()) {
    return InvalidArgument("role '{}' rule {}: no resources", role, index);
  }
  if (rule.actions.empty()) {
    return InvalidArgument("role '{}' rule {}: no actions", role, index);
  }
  CompiledRule compiled;
  for (const std::string& text : rule.resources) {
    Result<ResourcePattern> pattern = ResourcePattern::Parse(text);
    if (!pattern.ok()) {
      return pattern.status().WithContext(fmt::format("role '{}' rule {}", role, index));
    }
    compiled.patterns.push_back(std::move(pattern).value());
  }
  for (Action a : rule.actions) compiled.actions |= ActionBit(a);
  roles_[std::string(role)].push_back(std::move(compiled));
  return Status::Ok();
}

Status Policy::AssignRoles(std::string_view principal, std::span<const std::string> roles) {
  if (principal.empty()) return InvalidArgument("principal name must not be empty");
  for (const std::string& role : roles) {
    if (!HasRole(role)) {
      return InvalidArgument("principal '{}' has unknown role '{}'", principal, role);
    }
  }
  auto& held = principals_[std::string(principal)];
  for (const std::string& role : roles) {
    if (std::find(held.begin(), held.end(), role) == held.end()) held.push_back(role);
  }
  return Status::Ok();
}

Status Policy::AddApiKey(ApiKeyRecord record) {
  if (record.id.empty()) return InvalidArgument("API key id must not be empty");
  if (principals_.find(record.principal) == principals_.end()) {
    return InvalidArgument("API key '{}' names unknown principal '{}'", record.id,
                           record.principal);
  }
  if (!internal::IsStoredSha256(record.hash)) {
    return InvalidArgument("API key '{}': hash must be 'sha256:' followed by 64 hex digits",
                           record.id);
  }
  for (const ApiKeyRecord& existing : api_keys_) {
    if (existing.id == record.id) return InvalidArgument("duplicate API key id '{}'", record.id);
  }
  api_keys_.push_back(std::move(record));
  return Status::Ok();
}

std::span<const std::string> Policy::RolesOf(std::string_view principal) const {
  auto it = principals_.find(principal);
  if (it == principals_.end()) return {};
  return it->second;
}

bool Policy::HasRole(std::string_view role) const { return roles_.find(role) != roles_.end(); }

bool Policy::AnyRoleAllows(std::span<const std::string> roles, Action action,
                           std::string_view resource) const {
  const uint32_t bit = ActionBit(action);
  for (const std::string& role : roles) {
    auto it = roles_.find(role);
    if (it == roles_.end()) continue;
    for (const CompiledRule& rule : it->second) {
      if ((rule.actions & bit) == 0) continue;
      for (const ResourcePattern& pattern : rule.patterns) {
        if (pattern.Matches(resource)) return true;
      }
    }
  }
  return false;
}

}  // namespace sluice::auth_rbac
