// End-to-end tests of authentication and RBAC on the HTTP API and the schema registry, against
// the real `sluice serve --auth`: JWT (HS256 from a secret file, RS256 from a JWKS file), API
// keys (X-API-Key and Basic), 401 vs 403, deny by default, list filtering, hot reload of the
// policy, and the refusal to listen beyond loopback without auth.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "auth/jwt/test_signer.h"
#include "auth/rbac/api_key_store.h"
#include "e2e/server_process.h"
#include "sluice/v1/gateway.grpc.pb.h"

namespace sluice::e2e {
namespace {

using auth_jwt::testing::MakeHmacToken;
using auth_jwt::testing::MakeToken;
using auth_jwt::testing::TestKeyPair;

constexpr const char* kSecret = "an-hs256-secret-that-is-at-least-32-bytes-long";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hs256(const std::string& sub, const std::string& roles_json, int64_t exp_in = 600) {
  std::string payload = "{\"sub\":\"" + sub + "\",\"exp\":" + std::to_string(Now() + exp_in) +
                        (roles_json.empty() ? "" : ",\"roles\":" + roles_json) + "}";
  return MakeHmacToken(R"({"alg":"HS256","typ":"JWT"})", payload, kSecret);
}

std::string PolicyYaml(const std::string& consumer_hash, bool consumer_may_produce) {
  return std::string(R"(roles:
  producer:
    - resources: ["topic:orders.*"]
      actions: [produce]
    - resources: ["subject:orders.*"]
      actions: [schema-read]
  consumer:
    - resources: ["topic:orders.*", "group:*"]
      actions: [consume]
)") + (consumer_may_produce ? R"(    - resources: ["topic:orders.*"]
      actions: [produce]
)"
                                 : "") +
         R"(  admin:
    - resources: ["*"]
      actions: [produce, consume, admin, schema-read, schema-write]
principals:
  root: [admin]
  alice: [producer]
  svc-billing: [consumer]
api_keys:
  - id: billing-1
    principal: svc-billing
    hash: ")" + consumer_hash +
         "\"\n";
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto key = auth_rbac::GenerateApiKey();
    ASSERT_TRUE(key.ok());
    api_key_ = new std::string(key->key);
    key_hash_ = new std::string(key->stored_hash);
    rsa_ = new TestKeyPair(TestKeyPair::Rsa());
    policy_path_ = new std::string(dir_->path() + "/policy.yaml");
    WriteFile(*policy_path_, PolicyYaml(*key_hash_, false));
    WriteFile(dir_->path() + "/secret", std::string(kSecret) + "\n");
    WriteFile(dir_->path() + "/jwks.json",
              R"({"keys":[{"kty":"RSA","kid":"rsa-1","alg":"RS256","use":"sig","n":")" +
                  rsa_->JwkMember("n") + R"(","e":")" + rsa_->JwkMember("e") + R"("}]})");
    server_ = new ServerProcess(
        dir_->path() + "/data", dir_->path() + "/server.log",
        {"--auth", "--auth-policy", *policy_path_, "--set",
         "auth.jwt.hs256_secret_file=" + dir_->path() + "/secret", "--set",
         "auth.jwt.jwks_file=" + dir_->path() + "/jwks.json", "--set",
         "auth.reload_interval_ms=200"});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto root = Client(Hs256("root", ""));
    auto r = Call(*root, "POST", "/v1/topics", R"({"name":"orders.eu","partitions":1})");
    ASSERT_EQ(r.status, 201) << r.body;
    r = Call(*root, "POST", "/v1/topics", R"({"name":"payments","partitions":1})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  static void TearDownTestSuite() {
    if (server_->running()) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    delete rsa_;
    delete api_key_;
    delete key_hash_;
    delete policy_path_;
    delete dir_;
  }

  // A client sending `token` as a bearer token (none when empty).
  static std::unique_ptr<gateway::HttpClient> Client(const std::string& token,
                                                     bool registry = false) {
    auto c = std::move(gateway::HttpClient::Create(registry ? server_->registry_url()
                                                            : server_->url()))
                 .value();
    if (!token.empty()) c->SetHeader("Authorization", "Bearer " + token);
    return c;
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline std::string* api_key_ = nullptr;
  static inline std::string* key_hash_ = nullptr;
  static inline std::string* policy_path_ = nullptr;
  static inline TestKeyPair* rsa_ = nullptr;
};

TEST_F(AuthTest, NoCredentialsIs401ButHealthIsOpen) {
  auto anon = Client("");
  auto r = Call(*anon, "POST", "/v1/topics/orders.eu/events", R"({"a":1})");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json.Find("error_code")->text(), "unauthenticated");
  EXPECT_NE(r.json.Find("message")->text().find("authentication required"), std::string::npos);
  EXPECT_EQ(Call(*anon, "GET", "/v1/topics").status, 401);
  EXPECT_EQ(Call(*anon, "GET", "/metrics").status, 401);
  EXPECT_EQ(Call(*anon, "GET", "/health/ready").status, 200);
  EXPECT_EQ(Call(*anon, "GET", "/health/live").status, 200);
}

TEST_F(AuthTest, BadTokensAre401WithTheReason) {
  auto forged = Client(MakeHmacToken(R"({"alg":"HS256"})",
                                     "{\"sub\":\"root\",\"exp\":" + std::to_string(Now() + 60) +
                                         "}",
                                     "a-different-secret-of-at-least-32-bytes!!"));
  auto r = Call(*forged, "GET", "/v1/topics");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("signature"), std::string::npos) << r.body;

  auto expired = Client(Hs256("root", "", -3600));
  r = Call(*expired, "GET", "/v1/topics");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;

  auto garbage = Client("not-a-jwt");
  EXPECT_EQ(Call(*garbage, "GET", "/v1/topics").status, 401);

  auto none = Client(auth_jwt::testing::AssembleToken(
      R"({"alg":"none"})", "{\"sub\":\"root\",\"exp\":" + std::to_string(Now() + 60) + "}", ""));
  EXPECT_EQ(Call(*none, "GET", "/v1/topics").status, 401);
}

TEST_F(AuthTest, ProducerMayProduceOnlyWhereARoleAllows) {
  auto alice = Client(Hs256("alice", ""));
  auto r = Call(*alice, "POST", "/v1/topics/orders.eu/events", R"({"id":1})");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call(*alice, "POST", "/v1/topics/payments/events", R"({"id":1})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json.Find("error_code")->text(), "permission_denied");
  EXPECT_NE(r.body.find("alice"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("topic:payments"), std::string::npos) << r.body;
  // No consume right, no admin right.
  EXPECT_EQ(Call(*alice, "GET", "/v1/topics/orders.eu/partitions/0/events").status, 403);
  EXPECT_EQ(Call(*alice, "POST", "/v1/topics", R"({"name":"orders.new"})").status, 403);
  EXPECT_EQ(Call(*alice, "DELETE", "/v1/topics/orders.eu").status, 403);
}

TEST_F(AuthTest, UnknownPrincipalIsDeniedByDefault) {
  auto mallory = Client(Hs256("mallory", ""));
  auto r = Call(*mallory, "POST", "/v1/topics/orders.eu/events", R"({"id":1})");
  EXPECT_EQ(r.status, 403) << r.body;
}

TEST_F(AuthTest, RolesFromTheTokenClaimCount) {
  // "bob" is not in the policy; the token's roles claim makes him a producer.
  auto bob = Client(Hs256("bob", R"(["producer"])"));
  EXPECT_EQ(Call(*bob, "POST", "/v1/topics/orders.eu/events", R"({"id":2})").status, 200);
  EXPECT_EQ(Call(*bob, "POST", "/v1/topics/payments/events", R"({"id":2})").status, 403);
}

TEST_F(AuthTest, Rs256TokensFromTheJwksFileAreAccepted) {
  std::string token = MakeToken(R"({"alg":"RS256","kid":"rsa-1"})",
                                "{\"sub\":\"alice\",\"exp\":" + std::to_string(Now() + 600) + "}",
                                *rsa_);
  auto alice = Client(token);
  EXPECT_EQ(Call(*alice, "POST", "/v1/topics/orders.eu/events", R"({"id":3})").status, 200);
}

TEST_F(AuthTest, ApiKeysAuthenticateByHeaderAndBasic) {
  auto c = std::move(gateway::HttpClient::Create(server_->url())).value();
  c->SetHeader("X-API-Key", *api_key_);
  auto r = Call(*c, "GET", "/v1/topics/orders.eu/partitions/0/events?offset=0");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call(*c, "GET", "/v1/groups/g1/offsets").status, 200);
  // Authenticated but not allowed to produce there: 403, not 401.
  EXPECT_EQ(Call(*c, "POST", "/v1/topics/payments/events", R"({"x":1})").status, 403);

  // Basic user:key as Confluent clients send it.
  auto basic = std::move(gateway::HttpClient::Create(server_->url())).value();
  std::string userpass = "svc-billing:" + *api_key_;
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < userpass.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(userpass[i]) << 16;
    if (i + 1 < userpass.size()) n |= static_cast<uint8_t>(userpass[i + 1]) << 8;
    if (i + 2 < userpass.size()) n |= static_cast<uint8_t>(userpass[i + 2]);
    b64 += kAlphabet[(n >> 18) & 63];
    b64 += kAlphabet[(n >> 12) & 63];
    b64 += i + 1 < userpass.size() ? kAlphabet[(n >> 6) & 63] : '=';
    b64 += i + 2 < userpass.size() ? kAlphabet[n & 63] : '=';
  }
  basic->SetHeader("Authorization", "Basic " + b64);
  EXPECT_EQ(Call(*basic, "GET", "/v1/topics/orders.eu/partitions/0/events?offset=0").status, 200);

  auto wrong = std::move(gateway::HttpClient::Create(server_->url())).value();
  wrong->SetHeader("X-API-Key", "sk_not-a-key");
  EXPECT_EQ(Call(*wrong, "GET", "/v1/topics").status, 401);
}

TEST_F(AuthTest, TopicListShowsOnlyVisibleTopics) {
  auto alice = Client(Hs256("alice", ""));
  auto r = Call(*alice, "GET", "/v1/topics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("orders.eu"), std::string::npos);
  EXPECT_EQ(r.body.find("payments"), std::string::npos) << r.body;
  auto root = Client(Hs256("root", ""));
  r = Call(*root, "GET", "/v1/topics");
  EXPECT_NE(r.body.find("payments"), std::string::npos);
}

TEST_F(AuthTest, RegistryChecksSubjectPermissions) {
  auto anon = Client("", true);
  auto r = Call(*anon, "GET", "/subjects");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json.Find("error_code")->AsInt64(), 401) << r.body;

  const std::string schema = R"({"schema":"{\"type\":\"string\"}"})";
  auto root = Client(Hs256("root", ""), true);
  r = Call(*root, "POST", "/subjects/orders.eu-value/versions", schema,
           "application/vnd.schemaregistry.v1+json");
  ASSERT_EQ(r.status, 200) << r.body;
  const int64_t id = r.json.Find("id")->AsInt64().value();
  r = Call(*root, "POST", "/subjects/payments-value/versions", schema,
           "application/vnd.schemaregistry.v1+json");
  ASSERT_EQ(r.status, 200) << r.body;

  auto alice = Client(Hs256("alice", ""), true);
  EXPECT_EQ(Call(*alice, "GET", "/subjects/orders.eu-value/versions/latest").status, 200);
  EXPECT_EQ(Call(*alice, "GET", "/subjects/payments-value/versions/latest").status, 403);
  // Read-only on her subjects: registering needs schema-write.
  r = Call(*alice, "POST", "/subjects/orders.eu-value/versions",
           R"({"schema":"{\"type\":\"int\"}"})", "application/vnd.schemaregistry.v1+json");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json.Find("error_code")->AsInt64(), 403) << r.body;
  // The id is readable through a subject she may read.
  EXPECT_EQ(Call(*alice, "GET", "/schemas/ids/" + std::to_string(id)).status, 200);
  // Lists are filtered.
  r = Call(*alice, "GET", "/subjects");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("orders.eu-value"), std::string::npos);
  EXPECT_EQ(r.body.find("payments-value"), std::string::npos) << r.body;
  // Global compatibility is admin-only.
  EXPECT_EQ(Call(*alice, "PUT", "/config", R"({"compatibility":"NONE"})",
                 "application/vnd.schemaregistry.v1+json")
                .status,
            403);
}

TEST_F(AuthTest, PolicyChangesApplyWithoutRestart) {
  auto c = std::move(gateway::HttpClient::Create(server_->url())).value();
  c->SetHeader("X-API-Key", *api_key_);
  ASSERT_EQ(Call(*c, "POST", "/v1/topics/orders.eu/events", R"({"r":1})").status, 403);
  WriteFile(*policy_path_ + ".tmp", PolicyYaml(*key_hash_, true));
  ASSERT_EQ(std::rename((*policy_path_ + ".tmp").c_str(), policy_path_->c_str()), 0);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Call(*c, "POST", "/v1/topics/orders.eu/events", R"({"r":1})").status;
  }
  EXPECT_EQ(status, 200) << server_->Output();
  // Put the original policy back for the other tests.
  WriteFile(*policy_path_ + ".tmp", PolicyYaml(*key_hash_, false));
  ASSERT_EQ(std::rename((*policy_path_ + ".tmp").c_str(), policy_path_->c_str()), 0);
  for (int i = 0; i < 50 && status != 403; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Call(*c, "POST", "/v1/topics/orders.eu/events", R"({"r":1})").status;
  }
  EXPECT_EQ(status, 403);
}

TEST_F(AuthTest, GrpcUsesTheSameCredentialsAndPolicy) {
  auto channel = grpc::CreateChannel(server_->grpc_target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Gateway::NewStub(channel);
  v1::PublishRequest req;
  req.set_topic("orders.eu");
  req.add_events()->set_value(R"({"via":"grpc"})");
  auto call = [&](const std::string& key, const std::string& value, const std::string& topic) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!key.empty()) ctx.AddMetadata(key, value);
    v1::PublishRequest r = req;
    r.set_topic(topic);
    v1::PublishResponse resp;
    return stub->Publish(&ctx, r, &resp).error_code();
  };
  EXPECT_EQ(call("", "", "orders.eu"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("authorization", "Bearer " + Hs256("alice", "", -3600), "orders.eu"),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("authorization", "Bearer " + Hs256("alice", ""), "orders.eu"),
            grpc::StatusCode::OK);
  EXPECT_EQ(call("authorization", "Bearer " + Hs256("alice", ""), "payments"),
            grpc::StatusCode::PERMISSION_DENIED);
  // The consumer's API key may not publish.
  EXPECT_EQ(call("x-api-key", *api_key_, "orders.eu"), grpc::StatusCode::PERMISSION_DENIED);
}

// JWT keys fetched from an https JWKS endpoint (a Python https server with a certificate made by
// openssl, trusted through auth.jwt.jwks_ca_file), and a key rotation picked up by the poller.
TEST(AuthJwksUrlTest, HttpsJwksIsFetchedCheckedAndRefreshed) {
  TempDir dir;
  const std::string d = dir.path();
  auto cert = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/jwks.key",
                          "-out", d + "/jwks.pem", "-days", "2", "-subj", "/CN=localhost",
                          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  ASSERT_EQ(cert.exit_code, 0) << cert.err;
  TestKeyPair first = TestKeyPair::Rsa();
  TestKeyPair second = TestKeyPair::Rsa();
  auto jwks = [](const TestKeyPair& k, const std::string& kid) {
    return R"({"keys":[{"kty":"RSA","kid":")" + kid + R"(","alg":"RS256","use":"sig","n":")" +
           k.JwkMember("n") + R"(","e":")" + k.JwkMember("e") + R"("}]})";
  };
  std::filesystem::create_directories(d + "/www");
  WriteFile(d + "/www/jwks.json", jwks(first, "k1"));
  WriteFile(d + "/policy.yaml",
            "roles:\n  p:\n    - resources: [\"topic:*\"]\n      actions: [produce, admin]\n"
            "principals:\n  alice: [p]\n");
  const uint16_t port = FreePort();
  WriteFile(d + "/serve.py",
            "import http.server, ssl, sys, os\n"
            "os.chdir(sys.argv[2])\n"
            "srv = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])),\n"
            "    http.server.SimpleHTTPRequestHandler)\n"
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
            "ctx.load_cert_chain(sys.argv[3], sys.argv[4])\n"
            "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
            "srv.serve_forever()\n");
  pid_t py = fork();
  if (py == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl("/usr/bin/python3", "python3", (d + "/serve.py").c_str(), std::to_string(port).c_str(),
          (d + "/www").c_str(), (d + "/jwks.pem").c_str(), (d + "/jwks.key").c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(py, 0);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } reaper{py};
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // python's start

  ServerProcess server(d + "/data", d + "/server.log",
                       {"--auth", "--auth-policy", d + "/policy.yaml", "--set",
                        "auth.jwt.jwks_url=https://127.0.0.1:" + std::to_string(port) +
                            "/jwks.json",
                        "--set", "auth.jwt.jwks_ca_file=" + d + "/jwks.pem", "--set",
                        "auth.reload_interval_ms=200"});
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  auto token = [&](const TestKeyPair& k, const std::string& kid) {
    return MakeToken(R"({"alg":"RS256","kid":")" + kid + R"("})",
                     "{\"sub\":\"alice\",\"exp\":" + std::to_string(Now() + 600) + "}", k);
  };
  auto c1 = std::move(gateway::HttpClient::Create(server.url())).value();
  c1->SetHeader("Authorization", "Bearer " + token(first, "k1"));
  ASSERT_EQ(Call(*c1, "POST", "/v1/topics", R"({"name":"jwks"})").status, 201);
  auto c2 = std::move(gateway::HttpClient::Create(server.url())).value();
  c2->SetHeader("Authorization", "Bearer " + token(second, "k2"));
  EXPECT_EQ(Call(*c2, "GET", "/v1/topics").status, 401);  // not published yet

  // Rotation: the endpoint now serves only the second key.
  WriteFile(d + "/www/jwks.json.tmp", jwks(second, "k2"));
  std::filesystem::rename(d + "/www/jwks.json.tmp", d + "/www/jwks.json");
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c2->Disconnect();  // a new connection: nothing remembered from the refused attempts
    status = Call(*c2, "GET", "/v1/topics").status;
  }
  EXPECT_EQ(status, 200) << server.Output();
  c1->Disconnect();
  EXPECT_EQ(Call(*c1, "GET", "/v1/topics").status, 401);  // the retired key no longer works
  EXPECT_EQ(server.Stop(), 0);
}

TEST(AuthStartupTest, JwksUrlThatCannotBeFetchedIsAStartError) {
  TempDir dir;
  WriteFile(dir.path() + "/p.yaml", "principals: {}\n");
  auto r = RunCommand({SluiceBinary(), "serve", "--data-dir", dir.path() + "/d", "--auth",
                       "--auth-policy", dir.path() + "/p.yaml", "--set",
                       "auth.jwt.jwks_url=https://127.0.0.1:" + std::to_string(FreePort()) +
                           "/jwks.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("auth.jwt.jwks_url"), std::string::npos) << r.err;
}

TEST(AuthStartupTest, NonLoopbackWithoutAuthIsRefused) {
  TempDir dir;
  auto r = RunCommand({SluiceBinary(), "serve", "--data-dir", dir.path() + "/d", "--http-listen",
                       "0.0.0.0:" + std::to_string(FreePort()), "--registry-listen", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("without authentication"), std::string::npos) << r.err;
}

TEST(AuthStartupTest, AuthWithoutPolicyOrCredentialsIsAConfigError) {
  TempDir dir;
  auto r = RunCommand({SluiceBinary(), "serve", "--data-dir", dir.path() + "/d", "--auth"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("auth.policy_file"), std::string::npos) << r.err;

  WriteFile(dir.path() + "/p.yaml", "roles:\n  r:\n    - resources: [\"*\"]\n      actions: [admin]\n");
  r = RunCommand({SluiceBinary(), "serve", "--data-dir", dir.path() + "/d", "--auth",
                  "--auth-policy", dir.path() + "/p.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nobody could authenticate"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::e2e
