// GrpcServer: builds the gRPC server (listener, TLS, limits, health) around GatewayService.
#include "grpc_gateway/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "base/logging.h"
#include "grpc_gateway/internal/reactors.h"

namespace sluice::grpc_gateway {

namespace {

constexpr const char* kServiceName = "sluice.v1.Gateway";

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("{} '{}' cannot be read", what, path);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty()) return InvalidArgument("{} '{}' is empty", what, path);
  return s.str();
}

}  // namespace

struct GrpcServer::Impl {
  Impl(const GrpcServerOptions& o, gateway::Publisher& p, const gateway::Security* s,
       runtime::Shards& sh)
      : context(o, p, s, sh), service(context) {}
  internal::ServiceContext context;
  internal::GatewayService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  bool tls = false;
  bool stopped = false;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Stop(); }

int GrpcServer::port() const { return impl_->port; }
bool GrpcServer::tls() const { return impl_->tls; }

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                      gateway::Publisher& publisher,
                                                      const gateway::Security* security,
                                                      runtime::Shards& shards) {
  auto impl = std::make_unique<Impl>(options, publisher, security, shards);
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return InvalidArgument("grpc TLS needs both a certificate and a key file");
    }
    SLUICE_ASSIGN_OR_RETURN(std::string cert, ReadFile(options.tls_cert_file, "TLS certificate"));
    SLUICE_ASSIGN_OR_RETURN(std::string key, ReadFile(options.tls_key_file, "TLS key"));
    // The files were read above only to fail the start with a clear message. gRPC's own
    // file watcher then serves them and re-reads them every tls_refresh_s, so a renewed
    // certificate is used by new connections without a restart (open ones keep theirs).
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.tls_key_file, options.tls_cert_file,
        static_cast<unsigned int>(std::max<int64_t>(1, options.tls_refresh_s)));
    grpc::experimental::TlsServerCredentialsOptions tls(provider);
    tls.watch_identity_key_cert_pairs();
    creds = grpc::experimental::TlsServerCredentials(tls);
    impl->tls = true;
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  // The health service must be enabled before the builder is created.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // No SO_REUSEPORT: a second server on the same port must fail, not share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.AddListeningPort(options.listen, creds, &impl->port);
  builder.RegisterService(&impl->service);
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return Unavailable("grpc: cannot listen on {}", options.listen);
  }
  if (auto* health = impl->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(kServiceName, true);
  }
  logging::Get("grpc").info("gRPC listening on port {}{}", impl->port,
                            impl->tls ? " (TLS)" : "");
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

void GrpcServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (auto* health = impl_->server->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  // Calls still running after the deadline are cancelled (Subscribe notices within its poll).
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server->Wait();
}

}  // namespace sluice::grpc_gateway
