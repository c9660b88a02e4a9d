// End-to-end tests of TLS on the HTTP and registry listeners (http.tls_cert_file /
// http.tls_key_file) against the real `sluice serve`, with a certificate made at test time by
// the openssl CLI. Clients: gateway::HttpClient over https, curl, Beast's WebSocket client over
// asio::ssl, and raw OpenSSL clients limited to old protocol versions.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include "runtime/asio.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "codec/json_parser.h"
#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// A self-signed certificate for localhost and 127.0.0.1: <dir>/<name>.pem and <dir>/<name>.key.
void MakeCertificate(const std::string& dir, const std::string& name) {
  auto r = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/" + name + ".key",
                       "-out", dir + "/" + name + ".pem", "-days", "2", "-subj", "/CN=localhost",
                       "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Connects with a client limited to [min_version, max_version] (TLS1_VERSION...); returns the
// negotiated version ("TLSv1.3") or "" when the handshake failed. Security level 0 on this
// side, so that only the server can be the one refusing old versions.
std::string NegotiatedVersion(uint16_t port, int min_version, int max_version) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  SSL_CTX_set_cipher_list(ctx.native_handle(), "ALL:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(ctx.native_handle(), min_version);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> s(io, ctx);
  boost::system::error_code ec;
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "";
  timeval tv{10, 0};
  setsockopt(s.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  s.handshake(ssl::stream_base::client, ec);
  if (ec) return "";
  return SSL_get_version(s.native_handle());
}

// Sends raw bytes over plain TCP and reads until the server closes; returns what came back.
std::string RawExchange(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{10, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  asio::write(s, asio::buffer(bytes));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    MakeCertificate(dir_->path(), "server");
    MakeCertificate(dir_->path(), "other");
    server_ = new ServerProcess(dir_->path() + "/data", dir_->path() + "/server.log",
                                {"--set", "http.tls_cert_file=" + Cert(), "--set",
                                 "http.tls_key_file=" + dir_->path() + "/server.key"});
    server_->UseTls(Cert());
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0);
    }
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->running());
    gateway::HttpClientOptions o;
    o.ca_file = Cert();
    client_ = std::move(gateway::HttpClient::Create(server_->url(), o)).value();
  }
  static std::string Cert() { return dir_->path() + "/server.pem"; }
  JsonResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return Call(*client_, method, target, body);
  }
  // `sluice serve` with these extra flags, expected to fail at start (so it returns).
  static CommandResult ServeExpectingFailure(std::vector<std::string> extra) {
    std::vector<std::string> argv = {SluiceBinary(), "serve", "--data-dir",
                                     dir_->path() + "/bad-data", "--http-listen",
                                     "127.0.0.1:" + std::to_string(FreePort()),
                                     "--registry-listen",
                                     "127.0.0.1:" + std::to_string(FreePort()),
                                     "--grpc-listen", "", "--shards", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<gateway::HttpClient> client_;
};
TempDir* TlsTest::dir_ = nullptr;
ServerProcess* TlsTest::server_ = nullptr;

TEST_F(TlsTest, ServeAnnouncesHttpsAndProducesAndFetchesOverTls) {
  EXPECT_NE(server_->Output().find("sluice serving on https://127.0.0.1:"), std::string::npos)
      << server_->Output();
  EXPECT_NE(server_->Output().find("schema registry on https://"), std::string::npos);
  auto c = Do("POST", "/v1/topics", R"({"name":"secure","partitions":1})");
  ASSERT_EQ(c.status, 201) << c.body;
  auto p = Do("POST", "/v1/topics/secure/events", R"([{"n":1},{"n":2}])");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.body, R"({"offsets":[{"partition":0,"offset":0},{"partition":0,"offset":1}]})");
  // A large body (several TLS records, read partly after the head).
  std::string big = "{\"s\":\"" + std::string(200 * 1024, 'x') + "\"}";
  auto b = Do("POST", "/v1/topics/secure/events", big);
  ASSERT_EQ(b.status, 200) << b.body;
  auto f = Do("GET", "/v1/topics/secure/partitions/0/events?offset=0&max=10");
  ASSERT_EQ(f.status, 200) << f.body;
  const auto& ev = f.json.Find("events")->items();
  ASSERT_EQ(ev.size(), 3u) << f.body;
  EXPECT_EQ(ev[1].Find("value")->ToJson(), R"({"n":2})");
  EXPECT_EQ(ev[2].Find("value")->Find("s")->text().size(), 200u * 1024);
}

TEST_F(TlsTest, KeepAliveServesManyRequestsOnOneTlsConnection) {
  for (int i = 0; i < 50; ++i) {
    auto r = Do("GET", "/health/live");
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
  }
}

TEST_F(TlsTest, SchemaRegistryListenerUsesTheHttpCertificate) {
  gateway::HttpClientOptions o;
  o.ca_file = Cert();
  auto reg = std::move(gateway::HttpClient::Create(server_->registry_url(), o)).value();
  auto s = Call(*reg, "GET", "/subjects", "", "application/json");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.body, "[]");
  auto r = Call(*reg, "POST", "/subjects/secure-value/versions",
                R"({"schema":"{\"type\":\"string\"}"})",
                "application/vnd.schemaregistry.v1+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.json.Find("id"), nullptr) << r.body;
  // Plain HTTP is not served there either.
  auto plain = std::move(gateway::HttpClient::Create(
                             "http://127.0.0.1:" + std::to_string(server_->registry_port())))
                   .value();
  EXPECT_EQ(Call(*plain, "GET", "/subjects").status, 400);
}

TEST_F(TlsTest, CurlTalksHttpsWithTheCaAndRefusesWithoutIt) {
  auto ok = RunCommand({"/usr/bin/curl", "-sS", "--cacert", Cert(), "-H",
                        "Content-Type: application/json", "-d", R"({"via":"curl"})",
                        server_->url() + "/v1/topics/curl-tls/events?create=true"});
  // The topic does not exist (auto-create is off): a 404 answer still proves the TLS exchange.
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("error_code"), std::string::npos) << ok.out;
  auto c = Do("POST", "/v1/topics", R"({"name":"curl-tls","partitions":1})");
  ASSERT_EQ(c.status, 201) << c.body;
  auto produced = RunCommand({"/usr/bin/curl", "-sS", "--fail", "--tlsv1.3", "--cacert", Cert(),
                              "-H", "Content-Type: application/json", "-d", R"({"via":"curl"})",
                              server_->url() + "/v1/topics/curl-tls/events"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_EQ(produced.out, R"({"offsets":[{"partition":0,"offset":0}]})");
  auto tls12 = RunCommand({"/usr/bin/curl", "-sS", "--fail", "--tlsv1.2", "--tls-max", "1.2",
                           "--cacert", Cert(),
                           server_->url() + "/v1/topics/curl-tls/partitions/0/events"});
  ASSERT_EQ(tls12.exit_code, 0) << tls12.err;
  EXPECT_NE(tls12.out.find(R"("via":"curl")"), std::string::npos) << tls12.out;
  // Another certificate as the only trusted one: curl must refuse the server's.
  auto untrusted = RunCommand({"/usr/bin/curl", "-sS", "--cacert", dir_->path() + "/other.pem",
                               server_->url() + "/health/live"});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.err;
}

TEST_F(TlsTest, CliTalksHttpsWithCaFile) {
  auto created = RunCommand({SluiceBinary(), "topic", "create", "cli-tls", "--server",
                             server_->url(), "--ca-file", Cert()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto listed = RunCommand({SluiceBinary(), "topic", "list", "--server", server_->url()},
                           "", {"SLUICE_CA_FILE=" + Cert()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("cli-tls"), std::string::npos) << listed.out;
  // Trusting another certificate only: the CLI refuses the server's.
  auto refused = RunCommand({SluiceBinary(), "topic", "list", "--server", server_->url(),
                             "--ca-file", dir_->path() + "/other.pem"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.err.find("TLS handshake"), std::string::npos) << refused.err;
}

TEST_F(TlsTest, OnlyTls12AndTls13AreAccepted) {
  EXPECT_EQ(NegotiatedVersion(server_->port(), TLS1_3_VERSION, TLS1_3_VERSION), "TLSv1.3");
  EXPECT_EQ(NegotiatedVersion(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION), "TLSv1.2");
  EXPECT_EQ(NegotiatedVersion(server_->port(), TLS1_1_VERSION, TLS1_1_VERSION), "");
  EXPECT_EQ(NegotiatedVersion(server_->port(), TLS1_VERSION, TLS1_VERSION), "");
  // The refusals were the server's: it counted them.
  auto m = Do("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  const std::string name = "\nsluice_http_tls_handshake_failures_total ";
  auto at = m.body.find(name);
  ASSERT_NE(at, std::string::npos) << m.body;
  EXPECT_GE(std::stod(m.body.substr(at + name.size())), 2.0) << m.body;
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGets400AndIsClosed) {
  auto plain = std::move(gateway::HttpClient::Create("http://127.0.0.1:" +
                                                     std::to_string(server_->port())))
                   .value();
  auto r = Call(*plain, "GET", "/health/live");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("plain HTTP sent to a TLS (https) listener"), std::string::npos)
      << r.body;
  // Garbage that is neither TLS nor HTTP: the connection is just closed.
  std::string got = RawExchange(server_->port(), std::string("\x01\x02garbage\r\n\r\n", 13));
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  // And the server is still fine.
  EXPECT_EQ(Do("GET", "/health/ready").status, 200);
}

TEST_F(TlsTest, WebSocketPublishWorksOverWss) {
  auto c = Do("POST", "/v1/topics", R"({"name":"wss","partitions":1})");
  ASSERT_EQ(c.status, 201) << c.body;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(Cert());
  ctx.set_verify_mode(ssl::verify_peer);
  websocket::stream<ssl::stream<tcp::socket>> ws(io, ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ws.next_layer().native_handle()), "127.0.0.1");
  auto& sock = ws.next_layer().next_layer();
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  timeval tv{10, 0};
  setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ws.next_layer().handshake(ssl::stream_base::client);
  websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/v1/topics/wss/ws");
  EXPECT_EQ(res.result_int(), 101u);
  codec::JsonParser parser;
  auto next = [&]() {
    beast::flat_buffer buf;
    ws.read(buf);
    return parser.Parse(beast::buffers_to_string(buf.data())).value();
  };
  auto hello = next();
  EXPECT_NE(hello.Find("credit"), nullptr) << hello.ToJson();
  ws.text(true);
  ws.write(asio::buffer(std::string(R"({"id":"w1","event":{"value":{"secure":true}}})")));
  auto ack = next();
  EXPECT_EQ(ack.Find("id")->text(), "w1") << ack.ToJson();
  ASSERT_NE(ack.Find("results"), nullptr) << ack.ToJson();
  EXPECT_EQ(ack.Find("results")->items()[0].Find("offset")->AsInt64(), 0) << ack.ToJson();
  ws.close(websocket::close_code::normal);
  auto f = Do("GET", "/v1/topics/wss/partitions/0/events?offset=0");
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_NE(f.body.find(R"({"secure":true})"), std::string::npos) << f.body;
}

TEST_F(TlsTest, SighupReloadsTheCertificateForNewConnections) {
  namespace fs = std::filesystem;
  TempDir d;
  const std::string live_cert = d.path() + "/live.pem", live_key = d.path() + "/live.key";
  const std::string other_ca = dir_->path() + "/other.pem";
  fs::copy_file(Cert(), live_cert);
  fs::copy_file(dir_->path() + "/server.key", live_key);
  ServerProcess s(d.path() + "/data", d.path() + "/server.log",
                  {"--set", "http.tls_cert_file=" + live_cert, "--set",
                   "http.tls_key_file=" + live_key, "--registry-listen", "", "--grpc-listen", ""});
  s.UseTls(Cert());
  ASSERT_TRUE(s.Start().ok()) << s.Output();
  auto status_trusting = [&](const std::string& ca) {
    gateway::HttpClientOptions o;
    o.ca_file = ca;
    auto c = std::move(gateway::HttpClient::Create(s.url(), o)).value();
    return Call(*c, "GET", "/health/live").status;
  };
  EXPECT_EQ(status_trusting(Cert()), 200);
  EXPECT_EQ(status_trusting(other_ca), -1);

  fs::copy_file(other_ca, live_cert, fs::copy_options::overwrite_existing);
  fs::copy_file(dir_->path() + "/other.key", live_key, fs::copy_options::overwrite_existing);
  s.Notify(SIGHUP);
  int status = -1;
  for (int i = 0; i < 200 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = status_trusting(other_ca);
  }
  EXPECT_EQ(status, 200) << s.Output();
  EXPECT_EQ(status_trusting(Cert()), -1);

  // A broken key file: the reload is refused and the current certificate stays.
  std::ofstream(live_key, std::ios::trunc) << "not a key\n";
  s.Notify(SIGHUP);
  for (int i = 0; i < 200 && s.Output().find("not reloaded") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(s.Output().find("http TLS certificate not reloaded"), std::string::npos)
      << s.Output();
  EXPECT_NE(s.Output().find("tls_key_file"), std::string::npos) << s.Output();
  EXPECT_EQ(status_trusting(other_ca), 200);
  EXPECT_EQ(s.Stop(), 0);
}

TEST_F(TlsTest, UnusableTlsFilesExitTwoNamingTheKey) {
  const std::string d = dir_->path();
  auto missing = ServeExpectingFailure({"--set", "http.tls_cert_file=" + d + "/nope.pem", "--set",
                                        "http.tls_key_file=" + d + "/server.key"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("http.tls_cert_file"), std::string::npos) << missing.err;

  auto mismatched = ServeExpectingFailure({"--set", "http.tls_cert_file=" + Cert(), "--set",
                                           "http.tls_key_file=" + d + "/other.key"});
  EXPECT_EQ(mismatched.exit_code, 2) << mismatched.err;
  EXPECT_NE(mismatched.err.find("http.tls_key_file"), std::string::npos) << mismatched.err;

  std::ofstream(d + "/garbage.key") << "not a key\n";
  auto garbage = ServeExpectingFailure({"--set", "http.tls_cert_file=" + Cert(), "--set",
                                        "http.tls_key_file=" + d + "/garbage.key"});
  EXPECT_EQ(garbage.exit_code, 2) << garbage.err;
  EXPECT_NE(garbage.err.find("http.tls_key_file"), std::string::npos) << garbage.err;

  auto half = ServeExpectingFailure({"--set", "http.tls_cert_file=" + Cert()});
  EXPECT_EQ(half.exit_code, 2) << half.err;
  EXPECT_NE(half.err.find("must be set together"), std::string::npos) << half.err;

  auto registry = ServeExpectingFailure({"--set", "registry.tls_cert_file=" + d + "/nope.pem",
                                         "--set", "registry.tls_key_file=" + d + "/server.key"});
  EXPECT_EQ(registry.exit_code, 2) << registry.err;
  EXPECT_NE(registry.err.find("registry.tls_cert_file"), std::string::npos) << registry.err;
}

}  // namespace
}  // namespace sluice::e2e
