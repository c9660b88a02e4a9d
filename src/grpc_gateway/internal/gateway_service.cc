// Unary Publish: admitted on the gRPC thread, appended on a shard, finished from the shard.
#include "base/logging.h"
#include "grpc_gateway/internal/reactors.h"

namespace sluice::grpc_gateway::internal {

grpc::ServerUnaryReactor* GatewayService::Publish(grpc::CallbackServerContext* ctx,
                                                  const v1::PublishRequest* req,
                                                  v1::PublishResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto principal = sc_.Authenticate(*ctx);
  if (!principal.ok()) {
    reactor->Finish(ToGrpcStatus(principal.status()));
    return reactor;
  }
  // Admit moves the events out; the request is ours until Finish, but it is const: copy it.
  auto request = std::make_unique<v1::PublishRequest>(*req);
  auto pending = std::make_unique<PendingPublish>();
  const std::string rate_key = ServiceContext::RateKey(*ctx, **principal);
  auto settled = Admit(sc_, std::move(principal).value(), rate_key, *request, pending.get());
  if (settled) {
    if (settled->error_code() != 0) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(settled->error_code()),
                                   settled->error_message()));
    } else {
      *resp = std::move(*settled);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  ServiceContext* sc = &sc_;
  auto task = [sc, reactor, resp, pending = std::move(pending)]() -> Task<void> {
    v1::PublishResponse out = co_await RunPublish(sc, pending.get());
    if (out.error_code() != 0) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(out.error_code()),
                                   out.error_message()));
    } else {
      *resp = std::move(out);
      reactor->Finish(grpc::Status::OK);
    }
  };
  asio::co_spawn(sc_.shards.context(sc_.NextShard()), std::move(task),
                 [reactor](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     logging::Get("grpc").error("publish failed: {}", ex.what());
                     reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, ex.what()));
                   }
                 });
  return reactor;
}

}  // namespace sluice::grpc_gateway::internal
