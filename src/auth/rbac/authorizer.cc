// Authorization decisions with a generation-tagged, sharded decision cache.
#include "auth/rbac/authorizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace sluice::auth_rbac {
namespace {

// Cache key: every input of the decision, separated by bytes that cannot appear in names
// ('\0'). Token roles are sorted so the same set in any order shares one entry.
std::string CacheKey(std::string_view principal, Action action, std::string_view resource,
                     std::span<const std::string> token_roles) {
  std::string key;
  key.reserve(principal.size() + resource.size() + 3 + token_roles.size() * 16);
  key.append(principal);
  key.push_back('\0');
  key.push_back(static_cast<char>('0' + static_cast<int>(action)));
  key.append(resource);
  if (!token_roles.empty()) {
    std::vector<std::string_view> sorted(token_roles.begin(), token_roles.end());
    std::sort(sorted.begin(), sorted.end());
    for (std::string_view role : sorted) {
      key.push_back('\0');
      key.append(role);
    }
  }
  return key;
}

}  // namespace

Authorizer::Authorizer(Policy policy, size_t cache_capacity)
    : shard_capacity_(std::max<size_t>(1, cache_capacity / kShards)),
      policy_(std::make_shared<const Policy>(std::move(policy))) {}

void Authorizer::Replace(Policy policy) {
  auto next = std::make_shared<const Policy>(std::move(policy));
  {
    std::lock_guard lock(policy_mu_);
    policy_ = std::move(next);
    ++generation_;
    current_generation_.store(generation_, std::memory_order_release);
  }
  // Stale entries are already unusable (invariant 1); dropping them frees memory early.
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    shard.entries.clear();
  }
}

std::shared_ptr<const Policy> Authorizer::policy() const {
  std::lock_guard lock(policy_mu_);
  return policy_;
}

Status Authorizer::Authorize(std::string_view principal, Action action,
                             std::string_view resource,
                             std::span<const std::string> token_roles) const {
  std::string key = CacheKey(principal, action, resource, token_roles);
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  const uint64_t generation = current_generation_.load(std::memory_order_acquire);
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end() && it->second.generation == generation) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      if (it->second.denial.empty()) return Status::Ok();
      return Status(ErrorCode::kPermissionDenied, it->second.denial);
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);

  std::shared_ptr<const Policy> snapshot;
  uint64_t snapshot_generation;
  {
    std::lock_guard lock(policy_mu_);
    snapshot = policy_;
    snapshot_generation = generation_;
  }
  std::string denial;
  Status status = Decide(*snapshot, principal, action, resource, token_roles, denial);
  {
    std::lock_guard lock(shard.mu);
    if (shard.entries.size() >= shard_capacity_ && shard.entries.find(key) == shard.entries.end()) {
      // Bounded: evict an arbitrary entry. Decisions are cheap to recompute, so a precise LRU
      // is not worth its bookkeeping on the hot path.
      shard.entries.erase(shard.entries.begin());
    }
    shard.entries.insert_or_assign(std::move(key), Decision{snapshot_generation, std::move(denial)});
  }
  return status;
}

Status Authorizer::Decide(const Policy& policy, std::string_view principal, Action action,
                          std::string_view resource, std::span<const std::string> token_roles,
                          std::string& denial) const {
  std::span<const std::string> configured = policy.RolesOf(principal);
  if (policy.AnyRoleAllows(configured, action, resource) ||
      policy.AnyRoleAllows(token_roles, action, resource)) {
    denial.clear();
    return Status::Ok();
  }
  std::vector<std::string_view> roles(configured.begin(), configured.end());
  for (const std::string& role : token_roles) {
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
  }
  denial = fmt::format("principal '{}' may not {} {} (roles: {})", principal, ActionName(action),
                       resource, roles.empty() ? std::string("none") : fmt::format("{}", fmt::join(roles, ", ")));
  return Status(ErrorCode::kPermissionDenied, denial);
}

}  // namespace sluice::auth_rbac
