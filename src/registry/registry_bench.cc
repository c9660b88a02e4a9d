// The validation service end to end (subject lookup, wire prefix, cached validator, the check)
// on one thread: issue 3's goals are 1M validations/s per core for a 10-field JSON event and 3M/s
// for Avro binary. Run: build-bench/src/registry/registry_bench
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <filesystem>
#include <random>

#include "base/check.h"
#include "base/clock.h"
#include "registry/registry.h"
#include "storage/embedded_log.h"

namespace sluice::registry {
namespace {

namespace fs = std::filesystem;

constexpr char kJsonSchema[] = R"({
  "type": "object",
  "properties": {
    "event_id": {"type": "string", "format": "uuid"},
    "user_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "action": {"enum": ["click", "view", "purchase"]},
    "page": {"type": "string", "pattern": "^/"},
    "ts": {"type": "integer", "minimum": 0},
    "price": {"type": "number", "minimum": 0},
    "quantity": {"type": "integer", "minimum": 1},
    "mobile": {"type": "boolean"},
    "geo": {"type": "object", "properties": {"country": {"type": "string"},
                                               "city": {"type": "string"}},
            "required": ["country"]},
    "referrer": {"type": ["string", "null"]}
  },
  "required": ["event_id", "user_id", "action", "ts"],
  "additionalProperties": false
})";

constexpr char kJsonEvent[] =
    R"({"event_id":"3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f","user_id":"u-000123456",)"
    R"("action":"purchase","page":"/products/42","ts":1700000000123,"price":19.99,)"
    R"("quantity":2,"mobile":true,"geo":{"country":"NO","city":"Oslo"},"referrer":null})";

constexpr char kAvroSchema[] = R"({"type":"record","name":"Click","namespace":"bench","fields":[
  {"name":"event_id","type":"string"},
  {"name":"user_id","type":"string"},
  {"name":"action","type":{"type":"enum","name":"Action","symbols":["CLICK","VIEW","BUY"]}},
  {"name":"page","type":"string"},
  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"price","type":"double"},
  {"name":"quantity","type":"int"},
  {"name":"mobile","type":"boolean"},
  {"name":"country","type":"string"},
  {"name":"referrer","type":["null","string"],"default":null}]})";

void PutString(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size() * 2));  // zig-zag length (< 64)
  out.append(s);
}

std::string AvroDatum(int32_t id) {
  std::string out(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(id >> shift));
  PutString(out, "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f");
  PutString(out, "u-000123456");
  out.push_back(4);  // enum index 2
  PutString(out, "/products/42");
  // ts 1700000000123 as a zig-zag varint
  uint64_t z = uint64_t{1700000000123} << 1;
  while (z >= 0x80) {
    out.push_back(static_cast<char>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
  double price = 19.99;
  out.append(reinterpret_cast<const char*>(&price), 8);
  out.push_back(4);  // quantity 2
  out.push_back(1);  // mobile true
  PutString(out, "NO");
  out.push_back(2);  // union branch 1: string
  PutString(out, "https://example.com/");
  return out;
}

struct Fixture {
  Fixture() {
    dir = fs::temp_directory_path() / ("sluice-registry-bench-" +
                                       std::to_string(std::random_device()()));
    fs::create_directories(dir);
    shards.Start();
    storage::EmbeddedLogOptions o;
    o.data_dir = dir.string();
    auto l = storage::EmbeddedLog::Open(o, shards, SystemClock::Instance());
    SLUICE_CHECK(l.ok(), "open: {}", l.status().ToString());
    log = std::move(l).value();
    reg = std::make_unique<Registry>(RegistryOptions(), *log, shards);
    SLUICE_CHECK(reg->Start().ok(), "registry start");
    SchemaRequest js;
    js.type = schema::SchemaType::kJson;
    js.schema = kJsonSchema;
    Register("clicks-json-value", js);
    SchemaRequest av;
    av.schema = kAvroSchema;
    avro_id = Register("clicks-avro-value", av);
    avro_payload = AvroDatum(avro_id);
    SLUICE_CHECK(reg->ValidateRecord("clicks-json", kJsonEvent, false).ok(), "json sample");
    Status st = reg->ValidateRecord("clicks-avro", avro_payload, false);
    SLUICE_CHECK(st.ok(), "avro sample: {}", st.ToString());
  }
  ~Fixture() {
    reg->Stop();
    reg.reset();
    log->Stop();
    shards.Stop();
    fs::remove_all(dir);
  }
  int32_t Register(const std::string& subject, SchemaRequest req) {
    auto fn = [&]() -> Task<SrResult<RegisterResult>> {
      co_return co_await reg->Register(subject, req, false);
    };
    auto r = runtime::BlockOn(shards, runtime::ShardId(0), fn);
    SLUICE_CHECK(r.ok(), "register: {}", r.status.message);
    return r.value.id;
  }

  fs::path dir;
  runtime::Shards shards{1};
  std::unique_ptr<storage::EmbeddedLog> log;
  std::unique_ptr<Registry> reg;
  int32_t avro_id = 0;
  std::string avro_payload;
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_ValidateJson10Fields(benchmark::State& state) {
  auto& f = F();
  std::string_view event = kJsonEvent;
  for (auto _ : state) {
    Status st = f.reg->ValidateRecord("clicks-json", event, false);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateJson10Fields);

void BM_ValidateAvro10Fields(benchmark::State& state) {
  auto& f = F();
  for (auto _ : state) {
    Status st = f.reg->ValidateRecord("clicks-avro", f.avro_payload, false);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateAvro10Fields);

// References measured beside them: what the same CPU does on the same bytes without a schema.
// JSON: simdjson parsing the event into its DOM (no checks at all), the floor any validator on
// simdjson pays. Avro: a decoder written by hand for exactly this record (varints and lengths,
// no dispatch, no error messages).
void BM_ReferenceJsonParseOnly(benchmark::State& state) {
  simdjson::dom::parser parser;
  simdjson::padded_string event(std::string_view{kJsonEvent});
  for (auto _ : state) {
    auto doc = parser.parse(event);
    benchmark::DoNotOptimize(doc.error());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceJsonParseOnly);

bool SkipVarint(const char*& p, const char* end, int64_t* out = nullptr) {
  uint64_t v = 0;
  for (int shift = 0; p < end && shift < 64; shift += 7) {
    auto b = static_cast<unsigned char>(*p++);
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      if (out != nullptr) *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
      return true;
    }
  }
  return false;
}
bool SkipString(const char*& p, const char* end) {
  int64_t n = 0;
  if (!SkipVarint(p, end, &n) || n < 0 || n > end - p) return false;
  p += n;
  return true;
}

void BM_ReferenceAvroHandDecoder(benchmark::State& state) {
  auto& f = F();
  for (auto _ : state) {
    const char* p = f.avro_payload.data() + 5;
    const char* end = f.avro_payload.data() + f.avro_payload.size();
    int64_t branch = 0;
    bool ok = SkipString(p, end) && SkipString(p, end) && SkipVarint(p, end) &&
              SkipString(p, end) && SkipVarint(p, end) && (end - p >= 8) && (p += 8) &&
              SkipVarint(p, end) && (p < end && (*p == 0 || *p == 1)) && ++p &&
              SkipString(p, end) && SkipVarint(p, end, &branch) &&
              (branch == 0 || SkipString(p, end)) && p == end;
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceAvroHandDecoder);

}  // namespace
}  // namespace sluice::registry

BENCHMARK_MAIN();
