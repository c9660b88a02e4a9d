// What every gRPC call of the gateway shares (options, publisher, security, shards, the
// producer sequence tracker) and the publish steps common to Publish and PublishStream.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/rbac/action.h"
#include "base/clock.h"
#include "base/status.h"
#include "gateway/publisher.h"
#include "gateway/security.h"
#include "grpc_gateway/grpc_server.h"
#include "grpc_gateway/internal/sequence_tracker.h"
#include "runtime/shards.h"
#include "sluice/v1/gateway.pb.h"

namespace sluice::grpc_gateway::internal {

// Owned by GrpcServer::Impl; thread-safe (its members are, the rest is immutable).
struct ServiceContext {
  ServiceContext(const GrpcServerOptions& o, gateway::Publisher& p, const gateway::Security* s,
                 runtime::Shards& sh)
      : options(o),
        publisher(p),
        security(s),
        shards(sh),
        tracker(static_cast<size_t>(o.max_producers), static_cast<size_t>(o.sequence_window),
                static_cast<size_t>(o.max_stored_result_bytes)) {}

  const GrpcServerOptions options;
  gateway::Publisher& publisher;
  const gateway::Security* security;  // null: auth off
  runtime::Shards& shards;
  SequenceTracker tracker;
  std::atomic<uint32_t> next_shard{0};

  // Round-robin over the shards.
  runtime::ShardId NextShard() {
    return runtime::ShardId(next_shard.fetch_add(1, std::memory_order_relaxed) %
                            static_cast<uint32_t>(shards.size()));
  }
  // The caller of a call, from its `authorization` / `x-api-key` metadata.
  // Errors: kUnauthenticated.
  Result<std::shared_ptr<const gateway::Principal>> Authenticate(
      const grpc::CallbackServerContext& ctx) const;
  // Errors: kPermissionDenied.
  Status Authorize(const gateway::Principal& p, auth_rbac::Action a,
                   const std::string& topic) const;
  // Whose rate limits a call counts against: the principal, or "ip:<address>" of the peer
  // while auth is off (as the HTTP listener does). The limits themselves are applied by
  // Publisher::Publish for every front end (kResourceExhausted → RESOURCE_EXHAUSTED).
  static std::string RateKey(const grpc::CallbackServerContext& ctx, const gateway::Principal& p);
};

grpc::Status ToGrpcStatus(const Status& st);
// An unexpired principal (a token can expire during a long stream). Errors: kUnauthenticated.
Status CheckNotExpired(const gateway::Principal& p);

// One publish message admitted for appending: what the shard needs.
struct PendingPublish {
  std::shared_ptr<const gateway::Principal> principal;
  std::string topic;
  std::string rate_key;     // see ServiceContext::RateKey
  std::string producer_id;  // empty: no dedup
  uint64_t sequence = 0;
  std::vector<gateway::PublishEvent> events;  // the events that passed the pre-checks
  std::vector<Status> precheck;               // per request event: why it was refused (or OK)
};

// Runs on the gRPC thread in arrival order (the sequence check depends on it): authorizes,
// checks the sequence and each event, moving the events out of `req`. Returns
// the answer when the message is settled without appending (an error, a duplicate); otherwise
// nullopt and `pending` is ready for RunPublish.
std::optional<v1::PublishResponse> Admit(ServiceContext& sc,
                                         std::shared_ptr<const gateway::Principal> principal,
                                         std::string_view rate_key, v1::PublishRequest& req,
                                         PendingPublish* pending);

// Runs on a shard: appends and builds the answer (and records it for resends).
Task<v1::PublishResponse> RunPublish(ServiceContext* sc, PendingPublish* pending);

// A response carrying only a whole-message error.
v1::PublishResponse ErrorResponse(uint64_t sequence, const Status& st);

}  // namespace sluice::grpc_gateway::internal
