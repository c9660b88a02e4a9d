// Micro-benchmarks: payload validation of a 10-field message (the gateway's hot path),
// message-index decoding, schema parsing and a compatibility check (registry paths).
#include <benchmark/benchmark.h>
#include <google/protobuf/dynamic_message.h>

#include <string>

#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {
namespace {

namespace gp = google::protobuf;

constexpr char kEvent[] = R"(syntax = "proto3";
package bench;
message Event {
  int64 id = 1;
  string user = 2;
  string action = 3;
  int32 count = 4;
  double amount = 5;
  bool flagged = 6;
  repeated int32 codes = 7;
  Address address = 8;
  fixed64 ts = 9;
  sint32 delta = 10;
}
message Address { string city = 1; string zip = 2; }
)";

std::unique_ptr<ParsedSchema> MustParse(const char* text) {
  auto r = Parse(text, {});
  if (!r.ok()) abort();
  return std::move(r).value();
}

std::string EventPayload(const ProtobufSchema& schema) {
  gp::DynamicMessageFactory factory;
  const gp::Descriptor* d = schema.file()->FindMessageTypeByName("Event");
  std::unique_ptr<gp::Message> m(factory.GetPrototype(d)->New());
  const gp::Reflection* r = m->GetReflection();
  r->SetInt64(m.get(), d->FindFieldByName("id"), 1234567890123);
  r->SetString(m.get(), d->FindFieldByName("user"), "user-4711@example.com");
  r->SetString(m.get(), d->FindFieldByName("action"), "checkout");
  r->SetInt32(m.get(), d->FindFieldByName("count"), 3);
  r->SetDouble(m.get(), d->FindFieldByName("amount"), 99.95);
  r->SetBool(m.get(), d->FindFieldByName("flagged"), true);
  for (int v : {1, 20, 300, 4000}) r->AddInt32(m.get(), d->FindFieldByName("codes"), v);
  gp::Message* a = r->MutableMessage(m.get(), d->FindFieldByName("address"));
  a->GetReflection()->SetString(a, a->GetDescriptor()->FindFieldByName("city"), "Zürich");
  a->GetReflection()->SetString(a, a->GetDescriptor()->FindFieldByName("zip"), "8001");
  r->SetUInt64(m.get(), d->FindFieldByName("ts"), 1700000000000);
  r->SetInt32(m.get(), d->FindFieldByName("delta"), -17);
  return m->SerializeAsString();
}

void BM_Validate10Fields(benchmark::State& state) {
  auto schema = MustParse(kEvent);
  std::string payload = EventPayload(static_cast<const ProtobufSchema&>(*schema));
  auto validator = schema->CompileValidator({});
  if (!validator.ok()) abort();
  for (auto _ : state) {
    Status s = (*validator)->Validate(payload);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
  state.counters["payload_bytes"] = static_cast<double>(payload.size());
}
BENCHMARK(BM_Validate10Fields);

void BM_DecodeMessageIndexes(benchmark::State& state) {
  std::string data("\x04\x02\x04payload", 10);
  for (auto _ : state) {
    auto r = DecodeMessageIndexes(data);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeMessageIndexes);

void BM_ParseSchema(benchmark::State& state) {
  for (auto _ : state) {
    auto r = Parse(kEvent, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSchema);

void BM_CheckCanRead(benchmark::State& state) {
  auto old_schema = MustParse(kEvent);
  std::string next = kEvent;
  next.replace(next.find("sint32 delta = 10;"), 18, "sint32 delta = 10; string note = 11;");
  auto new_schema = MustParse(next.c_str());
  for (auto _ : state) {
    auto messages = new_schema->CheckCanRead(*old_schema);
    benchmark::DoNotOptimize(messages);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckCanRead);

}  // namespace
}  // namespace sluice::schema::protobuf

BENCHMARK_MAIN();
