// End-to-end tests of the produce dialects against the real `sluice serve`: compressed bodies
// (gzip, zstd, corrupt, bombs), CloudEvents (binary, structured, batched), Confluent REST Proxy
// v2 (json, binary, jsonschema, avro, protobuf) and v3 (single and streamed). Requests go over plain sockets so
// any header can be sent.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "e2e/server_process.h"
#include "model/partitioner.h"

namespace sluice::e2e {
namespace {

struct Raw {
  int status = 0;
  std::string content_type;
  std::string body;
  codec::JsonValue json;
};

// One HTTP/1.1 request on a fresh connection (Connection: close), read to EOF.
Raw Send(uint16_t port, const std::string& method, const std::string& target,
         const std::vector<std::pair<std::string, std::string>>& headers,
         const std::string& body) {
  Raw out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    out.status = -1;
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto head_end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || head_end == std::string::npos) {
    out.status = -2;
    out.body = resp;
    return out;
  }
  out.status = std::stoi(resp.substr(9, 3));
  std::string head = resp.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ct = head.find("\r\ncontent-type: ");
  if (ct != std::string::npos) {
    auto e = head.find("\r\n", ct + 2);
    out.content_type = head.substr(ct + 16, e == std::string::npos ? std::string::npos : e - ct - 16);
  }
  out.body = resp.substr(head_end + 4);
  codec::JsonParser p;
  auto v = p.Parse(out.body);
  if (v.ok()) out.json = std::move(v).value();
  return out;
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
  return out;
}

const codec::JsonValue& At(const codec::JsonValue& v, std::initializer_list<std::string> path) {
  static const codec::JsonValue kNull;
  const codec::JsonValue* cur = &v;
  for (const auto& p : path) {
    const codec::JsonValue* next = nullptr;
    if (cur->is_object()) {
      next = cur->Find(p);
    } else if (cur->is_array()) {
      size_t i = std::stoul(p);
      if (i < cur->items().size()) next = &cur->items()[i];
    }
    if (next == nullptr) return kNull;
    cur = next;
  }
  return *cur;
}

int64_t Int(const codec::JsonValue& v, std::initializer_list<std::string> path) {
  return At(v, path).AsInt64().value_or(INT64_MIN);
}
std::string Str(const codec::JsonValue& v, std::initializer_list<std::string> path) {
  const auto& x = At(v, path);
  return x.is_string() ? x.text() : x.ToJson();
}

class IngestFormatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() + "/data", dir_->path() + "/server.log",
                                {"--set", "http.max_event_bytes=65536", "--set",
                                 "http.max_request_bytes=1048576"});
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
  void SetUp() override { ASSERT_TRUE(server_->running()); }

  Raw Post(const std::string& target, const std::string& body,
           std::vector<std::pair<std::string, std::string>> headers) {
    return Send(server_->port(), "POST", target, headers, body);
  }
  Raw Get(const std::string& target) { return Send(server_->port(), "GET", target, {}, ""); }
  void CreateTopic(const std::string& name, int partitions) {
    auto r = Post("/v1/topics",
                  "{\"name\":\"" + name + "\",\"partitions\":" + std::to_string(partitions) + "}",
                  {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // The events of one partition from offset 0.
  codec::JsonValue Events(const std::string& topic, int p) {
    auto r = Get("/v1/topics/" + topic + "/partitions/" + std::to_string(p) + "/events?offset=0");
    EXPECT_EQ(r.status, 200) << r.body;
    return At(r.json, {"events"});
  }
  int64_t HighWatermark(const std::string& topic, int p) {
    auto r = Get("/v1/topics/" + topic);
    return Int(r.json, {"partitions", std::to_string(p), "high_watermark"});
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* IngestFormatsTest::dir_ = nullptr;
ServerProcess* IngestFormatsTest::server_ = nullptr;

// --- compressed bodies -----------------------------------------------------------------------

TEST_F(IngestFormatsTest, GzipAndZstdBodiesAreDecoded) {
  CreateTopic("enc", 1);
  auto r = Post("/v1/topics/enc/events", Gzip(R"([{"n":1},{"n":2}])"),
                {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(At(r.json, {"offsets"}).items().size(), 2u);
  r = Post("/v1/topics/enc/events", Zstd("{\"n\":3}\n{\"n\":4}\n"),
           {{"Content-Type", "application/x-ndjson"}, {"Content-Encoding", "zstd"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto ev = Events("enc", 0);
  ASSERT_EQ(ev.items().size(), 4u);
  EXPECT_EQ(Str(ev, {"3", "value"}), R"({"n":4})");
}

TEST_F(IngestFormatsTest, CorruptGzipIs400AndUnknownCodingIs415) {
  CreateTopic("enc_bad", 1);
  std::string gz = Gzip(R"({"n":1})");
  auto r = Post("/v1/topics/enc_bad/events", gz.substr(0, gz.size() - 6),
                {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("gzip"), std::string::npos) << r.body;
  r = Post("/v1/topics/enc_bad/events", "garbage",
           {{"Content-Type", "application/json"}, {"Content-Encoding", "zstd"}});
  EXPECT_EQ(r.status, 400) << r.body;
  r = Post("/v1/topics/enc_bad/events", R"({"n":1})",
           {{"Content-Type", "application/json"}, {"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(Str(r.json, {"error_code"}), "unsupported_media_type") << r.body;
  EXPECT_EQ(HighWatermark("enc_bad", 0), 0);
}

TEST_F(IngestFormatsTest, GzipBombIs413AndServerStaysUp) {
  CreateTopic("enc_bomb", 1);
  // 64 MiB of zeros inside a JSON string compress to ~64 KiB, under the 1 MiB request limit.
  std::string big = "{\"z\":\"" + std::string(64 * 1024 * 1024, '0') + "\"}";
  std::string gz = Gzip(big);
  std::string zs = Zstd(big);
  big.clear();
  big.shrink_to_fit();
  ASSERT_LT(gz.size(), 1024u * 1024);
  auto r = Post("/v1/topics/enc_bomb/events", gz,
                {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413) << r.body;
  r = Post("/v1/topics/enc_bomb/events", zs,
           {{"Content-Type", "application/json"}, {"Content-Encoding", "zstd"}});
  EXPECT_EQ(r.status, 413) << r.body;
  r = Post("/topics/enc_bomb", gz,
           {{"Content-Type", "application/vnd.kafka.json.v2+json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 41301) << r.body;
  EXPECT_EQ(HighWatermark("enc_bomb", 0), 0);
  EXPECT_EQ(Get("/health/live").status, 200);
}

// --- CloudEvents -------------------------------------------------------------------------------

TEST_F(IngestFormatsTest, CloudEventsBinaryModeStoresAttributesAsHeaders) {
  CreateTopic("ce_bin", 3);
  auto r = Post("/v1/topics/ce_bin/events", R"({"order":7})",
                {{"Content-Type", "application/json"},
                 {"ce-specversion", "1.0"},
                 {"ce-id", "evt-1"},
                 {"ce-source", "/shop/orders"},
                 {"ce-type", "com.example.order.created"},
                 {"ce-time", "2024-05-01T12:00:00Z"},
                 {"ce-partitionkey", "customer-9"},
                 {"ce-traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  int p = static_cast<int>(Int(r.json, {"offsets", "0", "partition"}));
  EXPECT_EQ(p, model::PartitionForKey("customer-9", 3));
  auto ev = Events("ce_bin", p);
  ASSERT_EQ(ev.items().size(), 1u);
  EXPECT_EQ(Str(ev, {"0", "key"}), "customer-9");
  EXPECT_EQ(Str(ev, {"0", "value"}), R"({"order":7})");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_id"}), "evt-1");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_source"}), "/shop/orders");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_specversion"}), "1.0");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_type"}), "com.example.order.created");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_time"}), "2024-05-01T12:00:00Z");
  EXPECT_EQ(Str(ev, {"0", "headers", "content-type"}), "application/json");
  EXPECT_EQ(Str(ev, {"0", "headers", "traceparent"}),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST_F(IngestFormatsTest, CloudEventsStructuredAndBatchedModes) {
  CreateTopic("ce_json", 1);
  auto r = Post("/v1/topics/ce_json/events",
                R"({"specversion":"1.0","id":"a","source":"s","type":"t","subject":"x",
                    "datacontenttype":"application/json","data":{"k": 1}})",
                {{"Content-Type", "application/cloudevents+json; charset=utf-8"}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = Post("/v1/topics/ce_json/events",
           R"([{"specversion":"1.0","id":"b","source":"s","type":"t","data":"hello"},
               {"specversion":"1.0","id":"c","source":"s","type":"t","data_base64":"aGk="}])",
           {{"Content-Type", "application/cloudevents-batch+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "1", "offset"}), 2);
  auto ev = Events("ce_json", 0);
  ASSERT_EQ(ev.items().size(), 3u);
  EXPECT_EQ(Str(ev, {"0", "value"}), R"({"k":1})");
  EXPECT_EQ(Str(ev, {"0", "headers", "ce_subject"}), "x");
  EXPECT_EQ(Str(ev, {"1", "value"}), "hello");  // JSON string data stored as JSON text
  EXPECT_EQ(Str(ev, {"2", "value"}), "hi");
  // An empty batch is allowed by the spec.
  r = Post("/v1/topics/ce_json/events", "[]", {{"Content-Type", "application/cloudevents-batch+json"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(IngestFormatsTest, CloudEventsBadInputIsRefusedWholeWithTheEventNamed) {
  CreateTopic("ce_bad", 1);
  auto r = Post("/v1/topics/ce_bad/events", "{}",
                {{"Content-Type", "application/json"},
                 {"ce-specversion", "1.0"},
                 {"ce-id", "1"},
                 {"ce-type", "t"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Str(r.json, {"message"}).find("missing required attribute 'source'"),
            std::string::npos)
      << r.body;
  r = Post("/v1/topics/ce_bad/events",
           R"({"specversion":"0.3","id":"a","source":"s","type":"t"})",
           {{"Content-Type", "application/cloudevents+json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Str(r.json, {"message"}).find("specversion '0.3'"), std::string::npos) << r.body;
  r = Post("/v1/topics/ce_bad/events",
           R"([{"specversion":"1.0","id":"a","source":"s","type":"t"},
               {"specversion":"1.0","source":"s","type":"t"}])",
           {{"Content-Type", "application/cloudevents-batch+json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Str(r.json, {"message"}).find("event 1: missing required attribute 'id'"),
            std::string::npos)
      << r.body;
  r = Post("/v1/topics/ce_bad/events", "<e/>", {{"Content-Type", "application/cloudevents+xml"}});
  EXPECT_EQ(r.status, 415) << r.body;
  // Every 415 has the same error_code, whichever check refused the request.
  EXPECT_EQ(Str(r.json, {"error_code"}), "unsupported_media_type") << r.body;
  EXPECT_EQ(HighWatermark("ce_bad", 0), 0);  // nothing half-written
}

// --- REST Proxy v2 -----------------------------------------------------------------------------

TEST_F(IngestFormatsTest, RestProxyV2JsonReportsOffsetsPerRecord) {
  CreateTopic("rp_json", 4);
  auto r = Post("/topics/rp_json",
                R"({"records":[{"key":"alice","value":{"n":1}},{"value":[1,2]},
                               {"value":"x","partition":3}]})",
                {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.kafka.v2+json");
  EXPECT_TRUE(At(r.json, {"value_schema_id"}).is_null());
  ASSERT_EQ(At(r.json, {"offsets"}).items().size(), 3u);
  // The JSON key is serialized as JSON text ("alice" with quotes), as Kafka's JSON serializer.
  EXPECT_EQ(Int(r.json, {"offsets", "0", "partition"}), model::PartitionForKey("\"alice\"", 4));
  EXPECT_EQ(Int(r.json, {"offsets", "2", "partition"}), 3);
  EXPECT_TRUE(At(r.json, {"offsets", "0", "error_code"}).is_null());
  r = Post("/topics/rp_json/partitions/2", R"({"records":[{"value":1},{"value":2}]})",
           {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "partition"}), 2);
  EXPECT_EQ(Int(r.json, {"offsets", "1", "partition"}), 2);
  EXPECT_EQ(Int(r.json, {"offsets", "1", "offset"}), Int(r.json, {"offsets", "0", "offset"}) + 1);
  r = Post("/topics/no_such_topic", R"({"records":[{"value":1}]})",
           {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 40401);
  r = Post("/topics/rp_json", R"({"records":[{"value":1}]})", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415) << r.body;
  // avro without a schema, on a topic whose subject has none: 422 (no value schema).
  r = Post("/topics/rp_json", R"({"records":[{"value":1}]})",
           {{"Content-Type", "application/vnd.kafka.avro.v2+json"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 42202);
  r = Post("/topics/rp_json/partitions/9", R"({"records":[{"value":1}]})",
           {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
  EXPECT_NE(r.status, 200) << r.body;
}

TEST_F(IngestFormatsTest, RestProxyV2BinaryBadBase64IsPerRecordAndAllFailedIsNot200) {
  CreateTopic("rp_bin", 1);
  auto r = Post("/topics/rp_bin",
                R"({"records":[{"key":"a2V5","value":"dmFsdWU="},{"value":"%%%"}]})",
                {{"Content-Type", "application/vnd.kafka.binary.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 0);
  EXPECT_TRUE(At(r.json, {"offsets", "1", "offset"}).is_null());
  EXPECT_EQ(Int(r.json, {"offsets", "1", "error_code"}), 40002);
  EXPECT_NE(Str(r.json, {"offsets", "1", "error"}).find("base64"), std::string::npos);
  auto ev = Events("rp_bin", 0);
  ASSERT_EQ(ev.items().size(), 1u);
  EXPECT_EQ(Str(ev, {"0", "key"}), "key");
  EXPECT_EQ(Str(ev, {"0", "value"}), "value");
  r = Post("/topics/rp_bin", R"({"records":[{"value":"!"},{"value":"?"}]})",
           {{"Content-Type", "application/vnd.kafka.binary.v2+json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(At(r.json, {"offsets"}).items().size(), 2u) << r.body;
  EXPECT_EQ(HighWatermark("rp_bin", 0), 1);
}

TEST_F(IngestFormatsTest, RestProxyV2JsonSchemaRegistersValidatesAndWritesWireFormat) {
  CreateTopic("rp_js", 1);
  std::string schema = R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})";
  codec::JsonWriter w;
  w.BeginObject().Field("value_schema", schema).Key("records").BeginArray();
  w.BeginObject().Key("value").Raw(R"({"n":5})").EndObject();
  w.BeginObject().Key("value").Raw(R"({"n":"five"})").EndObject();
  w.EndArray().EndObject();
  auto r = Post("/topics/rp_js", w.Take(),
                {{"Content-Type", "application/vnd.kafka.jsonschema.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  int64_t id = Int(r.json, {"value_schema_id"});
  ASSERT_GT(id, 0) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 0);
  EXPECT_EQ(Int(r.json, {"offsets", "1", "error_code"}), 42206) << r.body;
  // The registry now has the subject <topic>-value with that id.
  auto reg = Send(server_->registry_port(), "GET", "/subjects/rp_js-value/versions/latest", {}, "");
  EXPECT_EQ(Int(reg.json, {"id"}), id) << reg.body;
  // The stored value is magic byte 0 + 4-byte id + JSON text.
  auto ev = Events("rp_js", 0);
  ASSERT_EQ(ev.items().size(), 1u);
  std::string v = Str(ev, {"0", "value"});
  ASSERT_EQ(v.size(), 5u + 7u) << v;
  EXPECT_EQ(v[0], '\0');
  EXPECT_EQ(static_cast<uint8_t>(v[4]), static_cast<uint8_t>(id));
  EXPECT_EQ(v.substr(5), R"({"n":5})");
  // Reusing the id; then an unknown id.
  r = Post("/topics/rp_js", R"({"value_schema_id":)" + std::to_string(id) + R"(,"records":[{"value":{"n":6}}]})",
           {{"Content-Type", "application/vnd.kafka.jsonschema.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 1);
  r = Post("/topics/rp_js", R"({"value_schema_id":99999,"records":[{"value":{"n":6}}]})",
           {{"Content-Type", "application/vnd.kafka.jsonschema.v2+json"}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 40403) << r.body;
  // Every record invalid: 422, not 200.
  r = Post("/topics/rp_js", R"({"value_schema_id":)" + std::to_string(id) + R"(,"records":[{"value":{}}]})",
           {{"Content-Type", "application/vnd.kafka.jsonschema.v2+json"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(HighWatermark("rp_js", 0), 2);
}

// The Confluent wire-format prefix: magic byte 0 and the id, big-endian.
std::string WirePrefix(int64_t id) {
  std::string out(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((id >> shift) & 0xff));
  return out;
}

// Values below are chosen so that their binary encodings are ASCII: the events route returns
// stored bytes as a JSON string (invalid UTF-8 would be replaced), so they compare exactly.
TEST_F(IngestFormatsTest, RestProxyV2AvroEncodesJsonToAvroBinaryInWireFormat) {
  CreateTopic("rp_avro", 1);
  std::string schema = R"({"type":"record","name":"Reading","fields":[{"name":"n","type":"int"},)"
                       R"({"name":"s","type":"string"},)"
                       R"({"name":"note","type":["null","string"],"default":null},)"
                       R"({"name":"address","type":{"type":"record","name":"A","fields":[)"
                       R"({"name":"zip","type":"int"}]},"default":{"zip":1}}]})";
  codec::JsonWriter w;
  w.BeginObject().Field("key_schema", R"("string")").Field("value_schema", schema);
  w.Key("records").BeginArray();
  w.BeginObject().Field("key", "k1").Key("value").Raw(R"({"n":5,"s":"hi"})").EndObject();
  w.BeginObject().Key("value").Raw(R"({"s":"a","n":6,"note":{"string":"x"},"address":{"zip":2}})");
  w.EndObject();
  w.BeginObject().Key("value").Raw(R"({"n":1,"s":"a","address":{"zip":"1012"}})").EndObject();
  w.EndArray().EndObject();
  auto r = Post("/topics/rp_avro", w.Take(),
                {{"Content-Type", "application/vnd.kafka.avro.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.kafka.v2+json");
  int64_t key_id = Int(r.json, {"key_schema_id"});
  int64_t id = Int(r.json, {"value_schema_id"});
  ASSERT_GT(id, 0) << r.body;
  ASSERT_GT(key_id, 0) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 0) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "1", "offset"}), 1) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "2", "error_code"}), 42206) << r.body;
  EXPECT_EQ(Str(r.json, {"offsets", "2", "error"}).rfind(
                "records[2].value.address.zip: expected int, got string", 0),
            0u)
      << r.body;
  auto reg = Send(server_->registry_port(), "GET", "/subjects/rp_avro-value/versions/latest", {}, "");
  EXPECT_EQ(Int(reg.json, {"id"}), id) << reg.body;
  EXPECT_EQ(Str(reg.json, {"schemaType"}), "null") << reg.body;  // AVRO, omitted as Confluent does
  EXPECT_NE(Str(reg.json, {"schema"}).find("Reading"), std::string::npos) << reg.body;
  auto ev = Events("rp_avro", 0);
  ASSERT_EQ(ev.items().size(), 2u);
  // n=5 (zig-zag 0x0a), s="hi", note=null (branch 0), address.zip=1 from the default.
  EXPECT_EQ(Str(ev, {"0", "value"}), WirePrefix(id) + std::string("\x0a\x04hi\x00\x02", 6));
  EXPECT_EQ(Str(ev, {"0", "key"}), WirePrefix(key_id) + "\x04k1");
  EXPECT_EQ(Str(ev, {"1", "value"}),
            WirePrefix(id) + std::string("\x0c\x02" "a\x02\x02x\x04", 7));
  // The id again, with value_schema_id; an id of another format is 415.
  r = Post("/topics/rp_avro",
           R"({"value_schema_id":)" + std::to_string(id) + R"(,"records":[{"value":{"n":7,"s":""}}]})",
           {{"Content-Type", "application/vnd.kafka.avro.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 2);
  r = Post("/topics/rp_avro",
           R"({"value_schema_id":)" + std::to_string(id) + R"(,"records":[{"value":{"n":7,"s":""}}]})",
           {{"Content-Type", "application/vnd.kafka.protobuf.v2+json"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 41502) << r.body;
  // An invalid Avro schema is 422; every record failing is 422, not 200.
  r = Post("/topics/rp_avro", R"({"value_schema":"{\"type\":\"nope\"}","records":[{"value":1}]})",
           {{"Content-Type", "application/vnd.kafka.avro.v2+json"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 42205) << r.body;
  r = Post("/topics/rp_avro", R"({"records":[{"value":{"n":true}}]})",
           {{"Content-Type", "application/vnd.kafka.avro.v2+json"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(HighWatermark("rp_avro", 0), 3);
}

TEST_F(IngestFormatsTest, RestProxyV2ProtobufEncodesTheFirstMessageWithItsIndexes) {
  CreateTopic("rp_pb", 1);
  std::string schema =
      "syntax = \"proto3\";\npackage t;\nmessage Reading { int32 n = 1; string s = 2; }\n"
      "message Other { string x = 1; }\n";
  codec::JsonWriter w;
  w.BeginObject().Field("value_schema", schema).Key("records").BeginArray();
  w.BeginObject().Key("value").Raw(R"({"n":5,"s":"hi"})").EndObject();
  w.BeginObject().Key("value").Raw(R"({"n":"many"})").EndObject();
  w.BeginObject().Key("value").Raw(R"({"x":"other message"})").EndObject();
  w.EndArray().EndObject();
  auto r = Post("/topics/rp_pb", w.Take(),
                {{"Content-Type", "application/vnd.kafka.protobuf.v2+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  int64_t id = Int(r.json, {"value_schema_id"});
  ASSERT_GT(id, 0) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "0", "offset"}), 0) << r.body;
  EXPECT_EQ(Int(r.json, {"offsets", "1", "error_code"}), 42206) << r.body;
  EXPECT_NE(Str(r.json, {"offsets", "1", "error"}).find("records[1].value"), std::string::npos);
  EXPECT_EQ(Int(r.json, {"offsets", "2", "error_code"}), 42206) << r.body;
  auto reg = Send(server_->registry_port(), "GET", "/subjects/rp_pb-value/versions/latest", {}, "");
  EXPECT_EQ(Str(reg.json, {"schemaType"}), "PROTOBUF") << reg.body;
  auto ev = Events("rp_pb", 0);
  ASSERT_EQ(ev.items().size(), 1u);
  // Message indexes [0] (one byte 0), then n=5 (08 05) and s="hi" (12 02 'h' 'i').
  EXPECT_EQ(Str(ev, {"0", "value"}), WirePrefix(id) + std::string("\x00\x08\x05\x12\x02hi", 7));
}

TEST_F(IngestFormatsTest, RestProxyV3AvroAndProtobufRecords) {
  CreateTopic("rp3_fmt", 1);
  std::string avro = R"({"type":"record","name":"P","fields":[{"name":"n","type":"long"}]})";
  codec::JsonWriter w;
  w.BeginObject().Key("value").BeginObject().Field("type", "AVRO").Field("schema", avro);
  w.Key("data").Raw(R"({"n":3})").EndObject().EndObject();
  auto r = Post("/v3/clusters/sluice/topics/rp3_fmt/records", w.Take(),
                {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, {"value", "type"}), "AVRO") << r.body;
  int64_t avro_id = Int(r.json, {"value", "schema_id"});
  ASSERT_GT(avro_id, 0) << r.body;
  // No type: the registered schema's format (the subject's latest version is the Avro one).
  r = Post("/v3/clusters/sluice/topics/rp3_fmt/records", R"({"value":{"data":{"n":4}}})",
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, {"value", "type"}), "AVRO") << r.body;
  r = Post("/v3/clusters/sluice/topics/rp3_fmt/records",
           R"({"value":{"type":"AVRO","schema_id":)" + std::to_string(avro_id) +
               R"(,"data":{"n":"x"}}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(Str(r.json, {"message"}).find("records[0].value.n: expected long, got string"),
            std::string::npos)
      << r.body;
  // Protobuf keys, registered under <topic>-key.
  w = codec::JsonWriter();
  w.BeginObject().Key("key").BeginObject().Field("type", "PROTOBUF");
  w.Field("schema", "syntax = \"proto3\";\nmessage K { string id = 1; }\n");
  w.Key("data").Raw(R"({"id":"a"})").EndObject();
  w.Key("value").BeginObject().Field("type", "AVRO").Field("schema_id", avro_id);
  w.Key("data").Raw(R"({"n":5})").EndObject().EndObject();
  r = Post("/v3/clusters/sluice/topics/rp3_fmt/records", w.Take(),
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(r.json, {"key", "type"}), "PROTOBUF") << r.body;
  int64_t key_id = Int(r.json, {"key", "schema_id"});
  auto ev = Events("rp3_fmt", 0);
  ASSERT_EQ(ev.items().size(), 3u);
  EXPECT_EQ(Str(ev, {"0", "value"}), WirePrefix(avro_id) + "\x06");
  EXPECT_EQ(Str(ev, {"1", "value"}), WirePrefix(avro_id) + "\x08");
  EXPECT_EQ(Str(ev, {"2", "key"}), WirePrefix(key_id) + std::string("\x00\x0a\x01" "a", 4));
}

// --- REST Proxy v3 -----------------------------------------------------------------------------

TEST_F(IngestFormatsTest, RestProxyV3SingleRecordAndClusters) {
  CreateTopic("rp3", 2);
  auto c = Get("/v3/clusters");
  ASSERT_EQ(c.status, 200) << c.body;
  std::string cluster = Str(c.json, {"data", "0", "cluster_id"});
  ASSERT_FALSE(cluster.empty());
  EXPECT_EQ(Get("/v3/clusters/" + cluster).status, 200);
  auto r = Post("/v3/clusters/" + cluster + "/topics/rp3/records",
                R"({"partition_id":1,"headers":[{"name":"h","value":"aGk="}],
                    "key":{"type":"STRING","data":"k1"},"value":{"type":"JSON","data":{"a":1}}})",
                {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 200);
  EXPECT_EQ(Int(r.json, {"partition_id"}), 1);
  EXPECT_EQ(Int(r.json, {"offset"}), 0);
  EXPECT_EQ(Str(r.json, {"topic_name"}), "rp3");
  EXPECT_EQ(Str(r.json, {"value", "type"}), "JSON");
  EXPECT_EQ(Int(r.json, {"value", "size"}), 7);
  auto ev = Events("rp3", 1);
  ASSERT_EQ(ev.items().size(), 1u);
  EXPECT_EQ(Str(ev, {"0", "key"}), "k1");
  EXPECT_EQ(Str(ev, {"0", "headers", "h"}), "hi");
  r = Post("/v3/clusters/other/topics/rp3/records", R"({"value":{"type":"JSON","data":1}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 404) << r.body;
  r = Post("/v3/clusters/" + cluster + "/topics/rp3/records",
           R"({"value":{"type":"BINARY","data":"***"}})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Int(r.json, {"error_code"}), 400);
}

TEST_F(IngestFormatsTest, RestProxyV3StreamedModeReportsEachRecordInOrder) {
  CreateTopic("rp3s", 1);
  std::string cluster = Str(Get("/v3/clusters").json, {"data", "0", "cluster_id"});
  auto r = Post("/v3/clusters/" + cluster + "/topics/rp3s/records",
                R"({"value":{"type":"STRING","data":"one"}}
                   {"value":{"type":"BINARY","data":"not base64"}}
                   {"value":{"type":"JSON","data":[3]}})",
                {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<codec::JsonValue> reports;
  codec::JsonParser p;
  size_t start = 0;
  while (start < r.body.size()) {
    size_t nl = r.body.find('\n', start);
    if (nl == std::string::npos) nl = r.body.size();
    auto v = p.Parse(r.body.substr(start, nl - start));
    ASSERT_TRUE(v.ok()) << r.body;
    reports.push_back(std::move(v).value());
    start = nl + 1;
  }
  ASSERT_EQ(reports.size(), 3u) << r.body;
  EXPECT_EQ(Int(reports[0], {"error_code"}), 200);
  EXPECT_EQ(Int(reports[0], {"offset"}), 0);
  EXPECT_EQ(Int(reports[1], {"error_code"}), 400);
  EXPECT_NE(Str(reports[1], {"message"}).find("record 1"), std::string::npos);
  EXPECT_EQ(Int(reports[2], {"error_code"}), 200);
  EXPECT_EQ(Int(reports[2], {"offset"}), 1);
  // Every record failed: not 200.
  r = Post("/v3/clusters/" + cluster + "/topics/rp3s/records",
           R"({"value":{"type":"BINARY","data":"!"}} {"value":{"type":"NOPE","data":1}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(HighWatermark("rp3s", 0), 2);
}

}  // namespace
}  // namespace sluice::e2e
