// Fuzz target for the produce-body decoders (gateway/envelope_decoding.h) and Content-Encoding
// decoding (gateway/content_encoding.h): Sluice's own events and envelopes, CloudEvents binary /
// structured / batched, REST Proxy v2 bodies of every format and v3 (streamed) records, and the
// REST Proxy's JSON → Avro / Protobuf encoders (schema/avro/json_encoding.h,
// schema/protobuf/json_encoding.h) whose output must pass the formats' own validators.
// Input: byte 0 picks the decoder (250-252 Avro, 253-255 Protobuf, else by its value mod 10); then optional header lines "name: value\n" up to a blank line
// (used by CloudEvents binary mode), then the body. Checks, beyond "no crash": a success never
// exceeds the event count and size limits; v2 reports one record per input record; every failed
// record carries a message; decoded bodies never exceed their cap.
// Built as a libFuzzer target with clang (-DSLUICE_FUZZ=ON), and as a replay/mutation driver
// with GCC (fuzz_main.cc) that ctest runs.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/json_parser.h"
#include "gateway/content_encoding.h"
#include "gateway/envelope_decoding.h"
#include "schema/avro/avro.h"
#include "schema/avro/json_encoding.h"
#include "schema/protobuf/json_encoding.h"
#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/wire.h"

namespace {

using namespace sluice::gateway;  // NOLINT

void Require(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

void CheckEvents(const sluice::Status& st, const std::vector<PublishEvent>& events,
                 const DecodeLimits& limits) {
  if (!st.ok()) {
    Require(!st.message().empty(), "error has a message");
    return;
  }
  Require(events.size() <= limits.max_events, "event count within limit");
  for (const auto& e : events) {
    Require(EventPayloadBytes(e.record) <= limits.max_event_bytes, "event size within limit");
  }
}

// Every Avro type, a recursive record and logical types.
constexpr std::string_view kAvroSchema = R"({"type":"record","name":"R","namespace":"f","fields":[
  {"name":"b","type":"boolean","default":false},{"name":"i","type":"int","default":0},
  {"name":"l","type":{"type":"long","logicalType":"timestamp-millis"},"default":0},
  {"name":"f","type":"float","default":0},{"name":"d","type":"double","default":0},
  {"name":"s","type":"string","default":""},{"name":"y","type":"bytes","default":""},
  {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]},"default":"A"},
  {"name":"x","type":{"type":"fixed","name":"X","size":2},"default":"ab"},
  {"name":"a","type":{"type":"array","items":["null","int","R"]},"default":[]},
  {"name":"m","type":{"type":"map","values":"string"},"default":{}},
  {"name":"u","type":["null","string","E","R"],"default":null}]})";

constexpr std::string_view kProtoSchema = R"(syntax = "proto3";
import "google/protobuf/timestamp.proto";
message M {
  int32 i = 1; int64 l = 2; uint64 u = 3; sint32 s = 4; double d = 5; float f = 6;
  bool b = 7; string t = 8; bytes y = 9; E e = 10; repeated M children = 11;
  map<string, M> kids = 12; google.protobuf.Timestamp at = 13;
  oneof o { string os = 14; M om = 15; }
  enum E { A = 0; B = 1; }
}
)";

struct Schemas {
  std::unique_ptr<sluice::schema::avro::AvroSchema> avro;
  std::unique_ptr<sluice::schema::Validator> avro_validator;
  std::unique_ptr<sluice::schema::protobuf::JsonEncoder> proto;
  std::unique_ptr<sluice::schema::Validator> proto_validator;
};

const Schemas& GetSchemas() {
  static const Schemas* schemas = [] {
    auto* s = new Schemas();
    auto avro = sluice::schema::avro::ParseAvro(kAvroSchema, {});
    Require(avro.ok(), "fuzz Avro schema parses");
    s->avro = std::move(avro).value();
    s->avro_validator = std::move(s->avro->CompileValidator({})).value();
    auto proto = sluice::schema::protobuf::Parse(kProtoSchema, {});
    Require(proto.ok(), "fuzz Protobuf schema parses");
    std::shared_ptr<const sluice::schema::ParsedSchema> shared = std::move(proto).value();
    s->proto_validator = std::move(shared->CompileValidator({})).value();
    s->proto = std::move(sluice::schema::protobuf::JsonEncoder::Create(shared, {})).value();
    return s;
  }();
  return *schemas;
}

void FuzzSchemaEncoders(bool avro, const std::string& body, sluice::codec::JsonParser& parser) {
  const Schemas& s = GetSchemas();
  if (avro) {
    auto r = sluice::schema::avro::EncodeJsonText(s.avro->root(), body, parser, "value");
    if (!r.ok()) {
      Require(!r.status().message().empty(), "Avro error has a message");
      return;
    }
    Require(s.avro_validator->Validate(*r).ok(), "Avro encoding passes the validator");
    return;
  }
  std::string out;
  sluice::Status st = s.proto->Encode(body, out);
  if (!st.ok()) {
    Require(!st.message().empty() && out.empty(), "Protobuf error has a message, no output");
    return;
  }
  auto idx = sluice::schema::protobuf::DecodeMessageIndexes(out);
  Require(idx.ok() && idx->indexes == std::vector<int32_t>{0}, "Protobuf indexes are [0]");
  Require(s.proto_validator->Validate(std::string_view(out).substr(idx->size)).ok(),
          "Protobuf encoding passes the validator");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  HeaderList headers;
  if (auto blank = rest.find("\n\n"); blank != std::string_view::npos) {
    std::string_view head = rest.substr(0, blank);
    rest.remove_prefix(blank + 2);
    while (!head.empty()) {
      auto nl = head.find('\n');
      std::string_view line = head.substr(0, nl);
      head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      headers.emplace_back(std::move(name), std::string(value));
    }
  }
  const std::string body(rest);
  const DecodeLimits limits{4096, 64};
  sluice::codec::JsonParser parser;
  std::vector<PublishEvent> events;
  if (selector >= 250) {
    FuzzSchemaEncoders(selector < 253, body, parser);
    return 0;
  }
  switch (selector % 10) {
    case 0:
    case 1:
    case 2: {
      sluice::Status st = DecodeSluiceEvents(body, selector & 1, selector & 2, limits, parser,
                                             events);
      CheckEvents(st, events, limits);
      break;
    }
    case 3:
    case 4:
    case 5: {
      auto mode = selector % 10 == 3   ? CloudEventsMode::kBinary
                  : selector % 10 == 4 ? CloudEventsMode::kStructured
                                       : CloudEventsMode::kBatch;
      sluice::Status st =
          DecodeCloudEvents(mode, "application/json", headers, body, limits, parser, events);
      CheckEvents(st, events, limits);
      if (st.ok() && mode != CloudEventsMode::kBatch) Require(events.size() == 1, "one event");
      break;
    }
    case 6:
    case 7: {
      auto format = static_cast<EmbeddedFormat>((selector / 10) % 5);
      auto r = DecodeRestProxyV2(body, format, limits, parser);
      if (!r.ok()) {
        Require(!r.status().message().empty(), "error has a message");
        break;
      }
      Require(!r->records.empty() && r->records.size() <= limits.max_events, "record count");
      for (const auto& rec : r->records) {
        if (!rec.error.ok()) {
          Require(!rec.error.message().empty(), "record error has a message");
        } else {
          Require(EventPayloadBytes(rec.event.record) <= limits.max_event_bytes, "record size");
        }
      }
      break;
    }
    case 8: {
      auto r = DecodeRestProxyV3(body, limits, parser);
      if (!r.ok()) break;
      Require(!r->empty() && r->size() <= limits.max_events, "v3 record count");
      for (const auto& rec : *r) {
        Require(rec.error.ok() || !rec.error.message().empty(), "v3 error has a message");
      }
      break;
    }
    case 9: {
      static constexpr const char* kCodings[] = {"gzip", "zstd", "deflate", "gzip, zstd", "br"};
      const size_t cap = 1 << 16;
      auto r = DecodeContentEncoding(kCodings[(selector / 10) % 5], body, cap);
      if (r.ok()) Require(r->size() <= cap, "decoded size within cap");
      break;
    }
  }
  return 0;
}
