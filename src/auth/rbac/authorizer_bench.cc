// Micro-benchmark: authorizations per second, cached and uncached, with ~50 roles.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "auth/rbac/authorizer.h"
#include "base/check.h"

namespace sluice::auth_rbac {
namespace {

// 50 roles, each with a few patterns of every shape; the principal holds 10 of them and the
// granting rule is in the last one, so an uncached decision scans most rules.
Policy MakePolicy() {
  Policy policy;
  for (int r = 0; r < 50; ++r) {
    RuleSpec rule{{fmt::format("topic:team{}.*", r), fmt::format("topic:*-raw{}", r),
                   fmt::format("subject:team{}-value", r), fmt::format("group:team{}*x", r)},
                  {Action::kProduce, Action::kConsume}};
    SLUICE_CHECK(policy.AddRule(fmt::format("role{}", r), rule).ok());
  }
  std::vector<std::string> roles;
  for (int r = 40; r < 50; ++r) roles.push_back(fmt::format("role{}", r));
  SLUICE_CHECK(policy.AssignRoles("alice", roles).ok());
  return policy;
}

void BM_AuthorizeCached(benchmark::State& state) {
  Authorizer auth(MakePolicy());
  for (auto _ : state) {
    Status st = auth.Authorize("alice", Action::kProduce, "topic:team49.orders");
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizeCached);

void BM_AuthorizeUncached(benchmark::State& state) {
  // The uncached evaluation the cache sits in front of (policy scan only).
  Policy policy = MakePolicy();
  std::span<const std::string> roles = policy.RolesOf("alice");
  for (auto _ : state) {
    bool ok = policy.AnyRoleAllows(roles, Action::kProduce, "topic:team49.orders");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizeUncached);

void BM_AuthorizeUncachedDenied(benchmark::State& state) {
  // Worst case: no rule matches, every pattern of every held role is tried.
  Policy policy = MakePolicy();
  std::span<const std::string> roles = policy.RolesOf("alice");
  for (auto _ : state) {
    bool ok = policy.AnyRoleAllows(roles, Action::kProduce, "topic:payments.eu");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizeUncachedDenied);

void BM_AuthorizeMissEveryTime(benchmark::State& state) {
  // Through the Authorizer with a distinct resource per call and a tiny cache: miss + insert +
  // eviction on every call.
  Authorizer auth(MakePolicy(), /*cache_capacity=*/1024);
  std::vector<std::string> resources;
  for (int i = 0; i < 4096; ++i) resources.push_back(fmt::format("topic:team49.r{}", i));
  size_t i = 0;
  for (auto _ : state) {
    Status st = auth.Authorize("alice", Action::kProduce, resources[i++ % resources.size()]);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizeMissEveryTime);

}  // namespace
}  // namespace sluice::auth_rbac

BENCHMARK_MAIN();
