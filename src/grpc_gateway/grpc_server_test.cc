// GrpcServer in-process with a real embedded store, a real Security (API keys + RBAC) and the
// generated gRPC client over real loopback sockets: authentication and authorization statuses,
// and TLS. (`sluice serve` has no auth config yet; tests/e2e/grpc_test.cc covers the rest
// against the binary.)
#include "grpc_gateway/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <thread>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "auth/rbac/api_key_store.h"
#include "base/clock.h"
#include "gateway/publisher.h"
#include "gateway/security.h"
#include "runtime/shards.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "storage/embedded_log.h"

namespace sluice::grpc_gateway {
namespace {

namespace fs = std::filesystem;

gateway::SecurityOptions ApiKeySecurity() {
  gateway::SecurityOptions o;
  o.enabled = true;
  auth_rbac::RuleSpec produce;
  produce.resources = {"topic:orders"};
  produce.actions = {auth_rbac::Action::kProduce};
  EXPECT_TRUE(o.policy.AddRule("producer", produce).ok());
  std::vector<std::string> roles = {"producer"};
  EXPECT_TRUE(o.policy.AssignRoles("alice", roles).ok());
  EXPECT_TRUE(o.policy.AddApiKey({"k1", "alice", auth_rbac::HashApiKey("alice-key")}).ok());
  return o;
}

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-grpc-test-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    shards_.Start();
    storage::EmbeddedLogOptions o;
    o.data_dir = (dir_ / "data").string();
    auto log = storage::EmbeddedLog::Open(o, shards_, SystemClock::Instance());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    for (const char* topic : {"orders", "payments"}) {
      std::string name = topic;
      // Named arguments: GCC 12 mishandles temporaries inside a co_await expression.
      auto fn = [&]() -> Task<Status> {
        std::string n = name;
        storage::TopicConfig config;
        co_return co_await log_->CreateTopic(std::move(n), std::move(config));
      };
      ASSERT_TRUE(runtime::BlockOn(shards_, runtime::ShardId(0), fn).ok());
    }
    publisher_.SetLog(log_.get());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    publisher_.SetLog(nullptr);
    if (log_) log_->Stop();
    shards_.Stop();
    fs::remove_all(dir_);
  }
  void StartServer(GrpcServerOptions o) {
    o.listen = "127.0.0.1:0";
    auto s = GrpcServer::Start(o, publisher_, &security_, shards_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  std::string Target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  static v1::PublishRequest OneEvent(const std::string& topic) {
    v1::PublishRequest req;
    req.set_topic(topic);
    req.add_events()->set_value("v");
    return req;
  }

  fs::path dir_;
  runtime::Shards shards_{2};
  std::unique_ptr<storage::EmbeddedLog> log_;
  gateway::Publisher publisher_;
  gateway::Security security_{ApiKeySecurity()};
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(GrpcServerTest, CallsWithoutValidCredentialsAreUnauthenticated) {
  StartServer({});
  auto stub = v1::Gateway::NewStub(
      grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials()));
  v1::PublishResponse resp;
  grpc::ClientContext none;
  EXPECT_EQ(stub->Publish(&none, OneEvent("orders"), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wrong;
  wrong.AddMetadata("x-api-key", "not-a-key");
  EXPECT_EQ(stub->Publish(&wrong, OneEvent("orders"), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext bearer;
  bearer.AddMetadata("authorization", "Bearer not.a.jwt");
  EXPECT_EQ(stub->Publish(&bearer, OneEvent("orders"), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Streams are refused at the start.
  grpc::ClientContext sctx;
  auto stream = stub->PublishStream(&sctx);
  stream->Write(OneEvent("orders"));
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext subctx;
  v1::SubscribeRequest sreq;
  sreq.set_topic("orders");
  auto reader = stub->Subscribe(&subctx, sreq);
  v1::SubscribeResponse sresp;
  EXPECT_FALSE(reader->Read(&sresp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcServerTest, ApiKeyPrincipalMayOnlyDoWhatItsRolesAllow) {
  StartServer({});
  auto stub = v1::Gateway::NewStub(
      grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials()));
  v1::PublishResponse resp;
  grpc::ClientContext ok;
  ok.AddMetadata("x-api-key", "alice-key");
  grpc::Status st = stub->Publish(&ok, OneEvent("orders"), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.results(0).offset(), 0);

  grpc::ClientContext other_topic;
  other_topic.AddMetadata("x-api-key", "alice-key");
  st = stub->Publish(&other_topic, OneEvent("payments"), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("payments"), std::string::npos) << st.error_message();

  // In a stream, a denied topic is that message's error; the stream goes on.
  grpc::ClientContext sctx;
  sctx.AddMetadata("x-api-key", "alice-key");
  auto stream = stub->PublishStream(&sctx);
  ASSERT_TRUE(stream->Write(OneEvent("payments")));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  ASSERT_TRUE(stream->Write(OneEvent("orders")));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.error_code(), 0) << resp.error_message();
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());

  // Subscribing needs `consume`, which alice does not have.
  grpc::ClientContext subctx;
  subctx.AddMetadata("x-api-key", "alice-key");
  v1::SubscribeRequest sreq;
  sreq.set_topic("orders");
  auto reader = stub->Subscribe(&subctx, sreq);
  v1::SubscribeResponse sresp;
  EXPECT_FALSE(reader->Read(&sresp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcServerTest, TlsListenerServesTlsClientsOnly) {
  const std::string cert = (dir_ / "cert.pem").string();
  const std::string key = (dir_ / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=DNS:localhost -keyout " + key + " -out " + cert +
                    " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  GrpcServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  StartServer(o);
  EXPECT_TRUE(server_->tls());

  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto tls_stub = v1::Gateway::NewStub(
      grpc::CreateCustomChannel(Target(), grpc::SslCredentials(ssl), args));
  v1::PublishResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-api-key", "alice-key");
  grpc::Status st = tls_stub->Publish(&ctx, OneEvent("orders"), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  auto plain_stub = v1::Gateway::NewStub(
      grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext plain;
  plain.AddMetadata("x-api-key", "alice-key");
  plain.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(plain_stub->Publish(&plain, OneEvent("orders"), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcServerTest, RenewedCertificateFilesAreServedWithoutRestart) {
  const std::string cert = (dir_ / "rcert.pem").string();
  const std::string key = (dir_ / "rkey.pem").string();
  auto make = [&](const std::string& cn, const std::string& c, const std::string& k) {
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + cn +
                      " -addext subjectAltName=DNS:localhost -keyout " + k + " -out " + c +
                      " >/dev/null 2>&1";
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(make("first", cert, key), 0);
  GrpcServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  o.tls_refresh_s = 1;
  StartServer(o);
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    return pem.str();
  };
  // A fresh channel trusting only `ca_pem`: does a call get through?
  auto works = [&](const std::string& ca_pem) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // no connection shared across channels
    auto stub = v1::Gateway::NewStub(
        grpc::CreateCustomChannel(Target(), grpc::SslCredentials(ssl), args));
    v1::PublishResponse resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-api-key", "alice-key");
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub->Publish(&ctx, OneEvent("orders"), &resp).ok();
  };
  const std::string first = read(cert);
  ASSERT_TRUE(works(first));
  // Renew: new files written aside, then moved over the old ones.
  ASSERT_EQ(make("second", cert + ".new", key + ".new"), 0);
  const std::string second = read(cert + ".new");
  std::filesystem::rename(key + ".new", key);
  std::filesystem::rename(cert + ".new", cert);
  bool renewed = false;
  for (int i = 0; i < 40 && !renewed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    renewed = works(second);
  }
  EXPECT_TRUE(renewed) << "the renewed certificate was not served within 10 s";
  EXPECT_FALSE(works(first));
}

TEST_F(GrpcServerTest, MissingTlsFilesFailTheStart) {
  GrpcServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = (dir_ / "nope.pem").string();
  o.tls_key_file = (dir_ / "nope.key").string();
  auto s = GrpcServer::Start(o, publisher_, &security_, shards_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nope.pem"), std::string::npos) << s.status().message();
}

TEST_F(GrpcServerTest, SecondServerOnTheSamePortFails) {
  StartServer({});
  GrpcServerOptions o;
  o.listen = Target();
  auto s = GrpcServer::Start(o, publisher_, &security_, shards_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::grpc_gateway
