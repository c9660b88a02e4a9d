// Authorizer: answers "may this principal do this action on this resource?" against the current
// Policy snapshot, with a bounded cache of decisions so the hot path is one hash lookup.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/rbac/action.h"
#include "auth/rbac/policy.h"
#include "base/status.h"

namespace sluice::auth_rbac {

// Thread-safe: Authorize and Replace may be called from any shard concurrently. Owned by the
// component that owns auth (one per process); the policy itself is an immutable snapshot
// (shared_ptr<const Policy>) swapped atomically by Replace for hot reload.
//
// Invariants:
//  1. Each cached decision carries the generation of the policy snapshot it was computed from;
//     a lookup only uses entries of the current generation, so a decision computed against an
//     old policy is never served after Replace returns (even if it is inserted late by a racing
//     Authorize).
//  2. Each cache shard holds at most capacity/kShards entries.
class Authorizer {
 public:
  static constexpr size_t kDefaultCacheCapacity = 64 * 1024;

  explicit Authorizer(Policy policy, size_t cache_capacity = kDefaultCacheCapacity);

  // OK when the principal's configured roles, plus `token_roles` (roles carried by a verified
  // token's claims), allow `action` on `resource` (`kind:name`). Otherwise kPermissionDenied:
  //   "principal 'alice' may not consume topic:payments (roles: producer)".
  // Deny by default: unknown principals and unknown roles grant nothing.
  Status Authorize(std::string_view principal, Action action, std::string_view resource,
                   std::span<const std::string> token_roles = {}) const;

  // Atomically installs a new policy and invalidates every cached decision.
  void Replace(Policy policy);

  // Current snapshot (e.g. for the API key store to be rebuilt from on reload).
  std::shared_ptr<const Policy> policy() const;

  // Cache statistics, for tests and the probe.
  uint64_t cache_hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t cache_misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Decision {
    uint64_t generation = 0;
    std::string denial;  // empty when allowed
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Decision> entries;
  };

  Status Decide(const Policy& policy, std::string_view principal, Action action,
                std::string_view resource, std::span<const std::string> token_roles,
                std::string& denial) const;

  const size_t shard_capacity_;
  mutable std::mutex policy_mu_;  // guards policy_ and generation_ together
  std::shared_ptr<const Policy> policy_;
  uint64_t generation_ = 1;
  std::atomic<uint64_t> current_generation_{1};
  mutable Shard shards_[kShards];
  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace sluice::auth_rbac
