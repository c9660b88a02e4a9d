// The reactors of the streaming calls of sluice.v1.Gateway (gRPC callback API).
#pragma once

#include <grpcpp/grpcpp.h>

#include "grpc_gateway/internal/service_context.h"
#include "sluice/v1/gateway.grpc.pb.h"

namespace sluice::grpc_gateway::internal {

// Each deletes itself in OnDone (the gRPC callback API's ownership rule).
grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishResponse>* NewPublishStreamReactor(
    ServiceContext& sc, grpc::CallbackServerContext* ctx);
grpc::ServerWriteReactor<v1::SubscribeResponse>* NewSubscribeReactor(
    ServiceContext& sc, grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* req);

// sluice.v1.Gateway on the callback API.
class GatewayService final : public v1::Gateway::CallbackService {
 public:
  explicit GatewayService(ServiceContext& sc) : sc_(sc) {}

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx,
                                    const v1::PublishRequest* req,
                                    v1::PublishResponse* resp) override;
  grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishResponse>* PublishStream(
      grpc::CallbackServerContext* ctx) override {
    return NewPublishStreamReactor(sc_, ctx);
  }
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* req) override {
    return NewSubscribeReactor(sc_, ctx, req);
  }

 private:
  ServiceContext& sc_;
};

}  // namespace sluice::grpc_gateway::internal
