// End-to-end tests of the WebSocket front end (GET /v1/topics/{topic}/ws) against the real
// `sluice serve`, with Boost.Beast's WebSocket client. Protocol: docs/websocket.md.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include "runtime/asio.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

#include "codec/json_parser.h"
#include "auth/rbac/api_key_store.h"
#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A blocking WebSocket client; every read gives up after 10 s.
class WsClient {
 public:
  explicit WsClient(uint16_t port) : ws_(io_), port_(port) {}

  // Connects and runs the handshake: 101 when upgraded, 0 when refused.
  int Open(const std::string& target) {
    tcp::resolver resolver(io_);
    asio::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port_)));
    timeval tv{10, 0};
    setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    websocket::response_type res;
    boost::system::error_code ec;
    ws_.handshake(res, "127.0.0.1", target, ec);
    return ec ? 0 : static_cast<int>(res.result_int());
  }
  void Send(const std::string& text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
  }
  void SendBinary(const std::string& bytes) {
    ws_.binary(true);
    ws_.write(asio::buffer(bytes));
  }
  // The next message, or nullopt when the connection ended (close_code() says how).
  std::optional<std::string> Next() {
    beast::flat_buffer buf;
    boost::system::error_code ec;
    ws_.read(buf, ec);
    if (ec) {
      error_ = ec;
      return std::nullopt;
    }
    return beast::buffers_to_string(buf.data());
  }
  codec::JsonValue NextJson() {
    auto m = Next();
    if (!m) return codec::JsonValue();
    auto v = codec::JsonParser().Parse(*m);
    return v.ok() ? std::move(v).value() : codec::JsonValue::String("unparsable: " + *m);
  }
  // Reads until the server closes; its close code (0 when the connection just dropped).
  int WaitClose() {
    while (Next()) {
    }
    return error_ == websocket::error::closed ? static_cast<int>(ws_.reason().code) : 0;
  }
  void Close() {
    boost::system::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
  }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  uint16_t port_;
  boost::system::error_code error_;
};

// Sends a WebSocket upgrade request by hand and returns the answer's status and body (Beast's
// client keeps the response of a refused handshake to itself).
std::pair<int, std::string> UpgradeAnswer(uint16_t port, const std::string& target,
                                          const std::string& api_key = "") {
  asio::io_context io;
  tcp::socket sock(io);
  tcp::resolver resolver(io);
  asio::connect(sock, resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  if (!api_key.empty()) req.set("X-API-Key", api_key);
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

int64_t Int(const codec::JsonValue& v, std::string_view key) {
  const codec::JsonValue* f = v.Find(key);
  return f != nullptr ? f->AsInt64().value_or(-1) : -1;
}

class WebSocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::ofstream(dir_->path() + "/limits.yaml")
        << "topics:\n  ws-limited: {events_per_s: 0.001, burst_events: 2}\n";
    server_ = new ServerProcess(dir_->path() + "/data", dir_->path() + "/server.log",
                                {"--set", "http.max_request_bytes=262144", "--set",
                                 "http.max_event_bytes=131072", "--set",
                                 "limits.overrides_file=" + dir_->path() + "/limits.yaml"});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  static void TearDownTestSuite() {
    if (server_->running()) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->running());
    client_ = std::move(gateway::HttpClient::Create(server_->url())).value();
  }
  void CreateTopic(const std::string& name, int partitions) {
    auto r = Call(*client_, "POST", "/v1/topics",
                  "{\"name\":\"" + name + "\",\"partitions\":" + std::to_string(partitions) + "}");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  int64_t HighWatermark(const std::string& topic, int p) {
    auto r = Call(*client_, "GET", "/v1/topics/" + topic);
    return Int(r.json.Find("partitions")->items()[p], "high_watermark");
  }
  // Opens a publisher and reads the server's opening credit frame.
  std::unique_ptr<WsClient> Publisher(const std::string& topic) {
    auto c = std::make_unique<WsClient>(server_->port());
    EXPECT_EQ(c->Open("/v1/topics/" + topic + "/ws"), 101);
    auto hello = c->NextJson();
    EXPECT_EQ(Int(hello, "credit"), 16) << hello.ToJson();
    return c;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<gateway::HttpClient> client_;
};
TempDir* WebSocketTest::dir_ = nullptr;
ServerProcess* WebSocketTest::server_ = nullptr;

TEST_F(WebSocketTest, SingleEventAndBatchFramesAreAckedWithOffsets) {
  CreateTopic("ws-basic", 1);
  auto c = Publisher("ws-basic");
  c->Send(R"({"id":"c1","event":{"key":"k1","value":{"n":1},"headers":{"h":"v"}}})");
  auto a1 = c->NextJson();
  EXPECT_EQ(a1.Find("id")->text(), "c1") << a1.ToJson();
  ASSERT_EQ(a1.Find("results")->items().size(), 1u) << a1.ToJson();
  EXPECT_EQ(Int(a1.Find("results")->items()[0], "offset"), 0);
  c->Send(R"({"id":2,"events":[{"value":"a"},{"value":"b"},{"value":"c"}]})");
  auto a2 = c->NextJson();
  EXPECT_EQ(Int(a2, "id"), 2) << a2.ToJson();
  ASSERT_EQ(a2.Find("results")->items().size(), 3u) << a2.ToJson();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Int(a2.Find("results")->items()[i], "offset"), 1 + i);
    EXPECT_EQ(Int(a2.Find("results")->items()[i], "partition"), 0);
  }
  EXPECT_EQ(HighWatermark("ws-basic", 0), 4);
  // Stored like an HTTP produce: the fetch shows key, value and header.
  auto f = Call(*client_, "GET", "/v1/topics/ws-basic/partitions/0/events?offset=0&max=1");
  const auto& e = f.json.Find("events")->items()[0];
  EXPECT_EQ(e.Find("key")->text(), "k1");
  EXPECT_EQ(e.Find("value")->ToJson(), R"({"n":1})");
  EXPECT_EQ(e.Find("headers")->Find("h")->text(), "v");
  c->Close();
}

TEST_F(WebSocketTest, BadEventGetsItsOwnErrorAndTheOthersAreAppended) {
  CreateTopic("ws-per-event", 2);
  auto c = Publisher("ws-per-event");
  c->Send(R"({"id":"x","events":[{"value":1,"partition":1},{"value":2,"partition":7},)"
          R"({"value":3,"timestamp":"soon"},{"value":4,"partition":1}]})");
  auto a = c->NextJson();
  const auto& r = a.Find("results")->items();
  ASSERT_EQ(r.size(), 4u) << a.ToJson();
  EXPECT_EQ(Int(r[0], "offset"), 0);
  EXPECT_EQ(r[1].Find("error")->Find("code")->text(), "invalid_argument");
  EXPECT_NE(r[1].Find("error")->Find("message")->text().find("event 1: partition 7"),
            std::string::npos)
      << a.ToJson();
  EXPECT_NE(r[2].Find("error")->Find("message")->text().find("event 2: \"timestamp\""),
            std::string::npos)
      << a.ToJson();
  EXPECT_EQ(Int(r[3], "offset"), 1);
  EXPECT_EQ(HighWatermark("ws-per-event", 1), 2);
}

TEST_F(WebSocketTest, MalformedFramesGetAFrameErrorAndTheConnectionStays) {
  CreateTopic("ws-bad-json", 1);
  auto c = Publisher("ws-bad-json");
  c->Send(R"({"id":"b1","events":[{"value":1})");  // truncated
  auto e1 = c->NextJson();
  EXPECT_TRUE(e1.Find("id")->is_null()) << e1.ToJson();
  EXPECT_EQ(e1.Find("error")->Find("code")->text(), "invalid_argument");
  EXPECT_NE(e1.Find("error")->Find("message")->text().find("invalid JSON"), std::string::npos);
  c->Send(R"({"id":"b2","evnts":[]})");
  auto e2 = c->NextJson();
  EXPECT_EQ(e2.Find("id")->text(), "b2");
  EXPECT_NE(e2.Find("error")->Find("message")->text().find("unknown field 'evnts'"),
            std::string::npos)
      << e2.ToJson();
  c->Send(R"({"id":"b3","event":{"value":true}})");
  auto ok = c->NextJson();
  EXPECT_EQ(Int(ok.Find("results")->items()[0], "offset"), 0) << ok.ToJson();
  EXPECT_EQ(HighWatermark("ws-bad-json", 0), 1);
}

TEST_F(WebSocketTest, OversizeFrameClosesWith1009) {
  CreateTopic("ws-big", 1);
  auto c = Publisher("ws-big");
  // The server's frame limit is http.max_request_bytes (256 KiB here).
  c->Send(R"({"id":"big","event":{"value":")" + std::string(300 * 1024, 'x') + "\"}}");
  EXPECT_EQ(c->WaitClose(), 1009);
  EXPECT_EQ(HighWatermark("ws-big", 0), 0);
}

TEST_F(WebSocketTest, BinaryFrameClosesWith1003) {
  CreateTopic("ws-binary", 1);
  auto c = Publisher("ws-binary");
  c->SendBinary(std::string("\x00\x01\x02", 3));
  EXPECT_EQ(c->WaitClose(), 1003);
}

TEST_F(WebSocketTest, ResentSequenceGetsTheOriginalResultAndIsNotAppendedTwice) {
  CreateTopic("ws-dedup", 1);
  std::string first;
  {
    auto c = Publisher("ws-dedup");
    c->Send(R"({"id":"s1","producer":"p-1","seq":41,"events":[{"value":1},{"value":2}]})");
    auto a = c->NextJson();
    first = a.Find("results")->ToJson();
    EXPECT_EQ(a.Find("duplicate"), nullptr);
  }
  // A new connection (as after a dropped one) resends the same sequence.
  auto c = Publisher("ws-dedup");
  c->Send(R"({"id":"s1-retry","producer":"p-1","seq":41,"events":[{"value":1},{"value":2}]})");
  auto again = c->NextJson();
  EXPECT_EQ(again.Find("id")->text(), "s1-retry");
  EXPECT_EQ(again.Find("results")->ToJson(), first);
  ASSERT_NE(again.Find("duplicate"), nullptr) << again.ToJson();
  EXPECT_EQ(HighWatermark("ws-dedup", 0), 2);
  // The next sequence is new; another producer's same sequence too.
  c->Send(R"({"id":"s2","producer":"p-1","seq":42,"event":{"value":3}})");
  EXPECT_EQ(Int(c->NextJson().Find("results")->items()[0], "offset"), 2);
  c->Send(R"({"id":"s3","producer":"p-2","seq":41,"event":{"value":4}})");
  EXPECT_EQ(Int(c->NextJson().Find("results")->items()[0], "offset"), 3);
  EXPECT_EQ(HighWatermark("ws-dedup", 0), 4);
}

TEST_F(WebSocketTest, RateLimitedFramesGetAnErrorAndPersistingClosesWith1013) {
  CreateTopic("ws-limited", 1);
  auto c = Publisher("ws-limited");
  c->Send(R"({"id":"fits","events":[{"value":1},{"value":2}]})");
  auto ok = c->NextJson();
  ASSERT_EQ(ok.Find("results")->items().size(), 2u) << ok.ToJson();
  // The bucket (2 events, refilled one per 1000 s) is empty now: each frame is refused...
  for (int i = 0; i < 8; ++i) {
    c->Send(R"({"id":"over","event":{"value":3}})");
    auto e = c->NextJson();
    ASSERT_NE(e.Find("error"), nullptr) << e.ToJson();
    EXPECT_EQ(e.Find("error")->Find("code")->text(), "rate_limited") << e.ToJson();
    EXPECT_GT(Int(*e.Find("error"), "retry_after_ms"), 0) << e.ToJson();
  }
  // ...and after 8 in a row the client is told to come back later.
  EXPECT_EQ(c->WaitClose(), 1013);
  EXPECT_EQ(HighWatermark("ws-limited", 0), 2);
}

TEST_F(WebSocketTest, HandshakeIsRefusedWithHttpErrorsBeforeTheUpgrade) {
  CreateTopic("ws-refuse", 1);
  auto missing = UpgradeAnswer(server_->port(), "/v1/topics/no-such-topic/ws");
  EXPECT_EQ(missing.first, 404);
  EXPECT_NE(missing.second.find("not_found"), std::string::npos) << missing.second;
  EXPECT_EQ(UpgradeAnswer(server_->port(), "/v1/topics/ws-refuse/ws?mode=tail").first, 400);
  auto from = UpgradeAnswer(server_->port(), "/v1/topics/ws-refuse/ws?mode=subscribe&from=x");
  EXPECT_EQ(from.first, 400);
  EXPECT_NE(from.second.find("from must be"), std::string::npos) << from.second;
  // The same request upgrades when it is right.
  EXPECT_EQ(UpgradeAnswer(server_->port(), "/v1/topics/ws-refuse/ws").first, 101);
  // A plain GET (no Upgrade) is told to upgrade.
  auto plain = Call(*client_, "GET", "/v1/topics/ws-refuse/ws");
  EXPECT_EQ(plain.status, 426) << plain.body;
}

TEST_F(WebSocketTest, SubscribeFromOffsetSendsOneBatchPerCredit) {
  CreateTopic("ws-sub", 1);
  {
    auto p = Publisher("ws-sub");
    for (int i = 0; i < 5; ++i) {
      p->Send(R"({"event":{"key":"k","value":)" + std::to_string(i) + "}}");
      p->NextJson();
    }
  }
  WsClient s(server_->port());
  ASSERT_EQ(s.Open("/v1/topics/ws-sub/ws?mode=subscribe&from=offset:1&max_events=2"), 101);
  auto sub = s.NextJson();
  ASSERT_NE(sub.Find("subscribed"), nullptr) << sub.ToJson();
  EXPECT_EQ(Int(sub.Find("subscribed")->Find("partitions")->items()[0], "offset"), 1);
  s.Send(R"({"credit":1})");
  auto b1 = s.NextJson();
  ASSERT_EQ(b1.Find("events")->items().size(), 2u) << b1.ToJson();
  EXPECT_EQ(Int(b1.Find("events")->items()[0], "offset"), 1);
  EXPECT_EQ(b1.Find("events")->items()[0].Find("value")->ToJson(), "1");
  EXPECT_EQ(b1.Find("events")->items()[0].Find("key")->text(), "k");
  // Two credits: the two remaining events, then the next one published.
  s.Send(R"({"credit":2})");
  auto b2 = s.NextJson();
  ASSERT_EQ(b2.Find("events")->items().size(), 2u) << b2.ToJson();
  EXPECT_EQ(Int(b2.Find("events")->items()[0], "offset"), 3);
  {
    auto p = Publisher("ws-sub");
    p->Send(R"({"event":{"value":5}})");
    p->NextJson();
  }
  auto b3 = s.NextJson();
  ASSERT_EQ(b3.Find("events")->items().size(), 1u) << b3.ToJson();
  EXPECT_EQ(Int(b3.Find("events")->items()[0], "offset"), 5);
  s.Close();
}

TEST_F(WebSocketTest, SubscribeLiveGetsOnlyWhatIsPublishedAfterwards) {
  CreateTopic("ws-live", 2);
  auto p = Publisher("ws-live");
  p->Send(R"({"events":[{"value":"old","partition":0},{"value":"old","partition":1}]})");
  p->NextJson();
  WsClient s(server_->port());
  ASSERT_EQ(s.Open("/v1/topics/ws-live/ws?mode=subscribe&from=live"), 101);
  auto sub = s.NextJson();
  ASSERT_EQ(sub.Find("subscribed")->Find("partitions")->items().size(), 2u) << sub.ToJson();
  s.Send(R"({"credit":10})");
  p->Send(R"({"events":[{"value":"new1","partition":1}]})");
  p->NextJson();
  auto b = s.NextJson();
  ASSERT_EQ(b.Find("events")->items().size(), 1u) << b.ToJson();
  EXPECT_EQ(b.Find("events")->items()[0].Find("value")->text(), "new1");
  EXPECT_EQ(Int(b.Find("events")->items()[0], "partition"), 1);
  EXPECT_EQ(Int(b.Find("events")->items()[0], "offset"), 1);
  p->Send(R"({"events":[{"value":"new2","partition":0}]})");
  p->NextJson();
  auto b2 = s.NextJson();
  EXPECT_EQ(b2.Find("events")->items()[0].Find("value")->text(), "new2") << b2.ToJson();
}

TEST_F(WebSocketTest, SubscribeFromTimeStartsAtTheFirstLaterEvent) {
  CreateTopic("ws-time", 1);
  auto p = Publisher("ws-time");
  p->Send(R"({"events":[{"value":1,"timestamp":1000},{"value":2,"timestamp":2000},)"
          R"({"value":3,"timestamp":3000}]})");
  p->NextJson();
  WsClient s(server_->port());
  ASSERT_EQ(s.Open("/v1/topics/ws-time/ws?mode=subscribe&from=time:1500"), 101);
  auto sub = s.NextJson();
  EXPECT_EQ(Int(sub.Find("subscribed")->Find("partitions")->items()[0], "offset"), 1)
      << sub.ToJson();
  s.Send(R"({"credit":1})");
  auto b = s.NextJson();
  ASSERT_EQ(b.Find("events")->items().size(), 2u) << b.ToJson();
  EXPECT_EQ(Int(b.Find("events")->items()[0], "timestamp"), 2000);
}

TEST_F(WebSocketTest, SubscriberSendingAnythingButCreditIsClosedWith1008) {
  CreateTopic("ws-sub-policy", 1);
  WsClient s(server_->port());
  ASSERT_EQ(s.Open("/v1/topics/ws-sub-policy/ws?mode=subscribe"), 101);
  s.NextJson();
  s.Send(R"({"event":{"value":1}})");
  EXPECT_EQ(s.WaitClose(), 1008);
}

// With `serve --auth`: the handshake is authenticated and authorized before the upgrade;
// publish needs produce on the topic, subscribe needs consume.
TEST(WebSocketAuthTest, HandshakeNeedsCredentialsAndTheModesAction) {
  TempDir dir;
  auto root = auth_rbac::GenerateApiKey();
  auto producer = auth_rbac::GenerateApiKey();
  auto consumer = auth_rbac::GenerateApiKey();
  ASSERT_TRUE(root.ok() && producer.ok() && consumer.ok());
  std::string policy = dir.path() + "/policy.yaml";
  {
    std::FILE* f = std::fopen(policy.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string yaml = R"(roles:
  admin:
    - resources: ["*"]
      actions: [produce, consume, admin]
  writer:
    - resources: ["topic:ws-auth"]
      actions: [produce]
  reader:
    - resources: ["topic:ws-auth"]
      actions: [consume]
principals:
  root: [admin]
  pub: [writer]
  sub: [reader]
api_keys:
  - {id: k-root, principal: root, hash: ")" + root->stored_hash + R"("}
  - {id: k-pub, principal: pub, hash: ")" + producer->stored_hash + R"("}
  - {id: k-sub, principal: sub, hash: ")" + consumer->stored_hash + R"("}
)";
    std::fwrite(yaml.data(), 1, yaml.size(), f);
    std::fclose(f);
  }
  ServerProcess server(dir.path() + "/data", dir.path() + "/server.log",
                       {"--auth", "--auth-policy", policy});
  Status st = server.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto admin = std::move(gateway::HttpClient::Create(server.url())).value();
  admin->SetHeader("X-API-Key", root->key);
  ASSERT_EQ(Call(*admin, "POST", "/v1/topics", R"({"name":"ws-auth"})").status, 201);

  const std::string pub = "/v1/topics/ws-auth/ws";
  const std::string sub = "/v1/topics/ws-auth/ws?mode=subscribe";
  auto none = UpgradeAnswer(server.port(), pub);
  EXPECT_EQ(none.first, 401) << none.second;
  EXPECT_NE(none.second.find("unauthenticated"), std::string::npos) << none.second;
  EXPECT_EQ(UpgradeAnswer(server.port(), pub, "not-a-key").first, 401);
  EXPECT_EQ(UpgradeAnswer(server.port(), pub, producer->key).first, 101);
  auto denied = UpgradeAnswer(server.port(), sub, producer->key);
  EXPECT_EQ(denied.first, 403) << denied.second;
  EXPECT_EQ(UpgradeAnswer(server.port(), sub, consumer->key).first, 101);
  EXPECT_EQ(UpgradeAnswer(server.port(), pub, consumer->key).first, 403);
  EXPECT_EQ(server.Stop(), 0) << server.Output();
}

}  // namespace
}  // namespace sluice::e2e
