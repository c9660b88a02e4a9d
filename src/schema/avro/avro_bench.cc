// Validation throughput for a realistic 10-field record datum (strings, longs, doubles, a
// nullable union, an enum) on one core, and the compatibility check of a long chain of named
// records (once cubic in its length).
#include <benchmark/benchmark.h>

#include <cstring>

#include "base/varint.h"
#include "schema/avro/avro.h"

namespace sluice::schema::avro {
namespace {

constexpr std::string_view kSchema = R"({"type":"record","name":"Order","namespace":"com.acme",
  "fields":[
    {"name":"order_id","type":"long"},
    {"name":"customer_id","type":"long"},
    {"name":"customer_name","type":"string"},
    {"name":"email","type":["null","string"],"default":null},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED","CANCELLED"]}},
    {"name":"amount","type":"double"},
    {"name":"tax","type":"double"},
    {"name":"currency","type":"string"},
    {"name":"created_at","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"sku","type":"string"}]})";

std::string Datum() {
  std::string out;
  auto str = [&](std::string_view s) {
    varint::AppendSigned(out, static_cast<int64_t>(s.size()));
    out.append(s);
  };
  auto dbl = [&](double d) {
    char b[8];
    std::memcpy(b, &d, 8);
    out.append(b, 8);
  };
  varint::AppendSigned(out, 1234567890123);
  varint::AppendSigned(out, 987654);
  str("Ada Lovelace");
  varint::AppendSigned(out, 1);
  str("ada@example.com");
  varint::AppendSigned(out, 2);
  dbl(1299.95);
  dbl(247.0);
  str("EUR");
  varint::AppendSigned(out, 1718000000000);
  str("SKU-0001-BLUE-XL");
  return out;
}

void BM_ValidateOrder(benchmark::State& state) {
  auto schema = ParseAvro(kSchema, {});
  auto validator = (*schema)->CompileValidator({});
  std::string datum = Datum();
  for (auto _ : state) {
    Status st = (*validator)->Validate(datum);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(datum.size()));
}
BENCHMARK(BM_ValidateOrder);

void BM_ParseOrderSchema(benchmark::State& state) {
  for (auto _ : state) {
    auto schema = ParseAvro(kSchema, {});
    benchmark::DoNotOptimize(schema);
  }
}
BENCHMARK(BM_ParseOrderSchema);

// A union of n records, R(i) holding an R(i-1); `r0_extra` is added to R0's fields.
std::string RecordChain(int64_t n, std::string_view r0_extra) {
  std::string s = R"([{"type":"record","name":"R0","fields":[)" + std::string(r0_extra) + "]}";
  for (int64_t i = 1; i < n; ++i) {
    s += fmt::format(R"(,{{"type":"record","name":"R{}","fields":[{{"name":"f","type":"R{}"}}]}})",
                     i, i - 1);
  }
  return s + "]";
}

// FULL compatibility (both directions) of the chain against itself with a field added to R0.
void BM_CheckRecordChain(benchmark::State& state) {
  auto v1 = ParseAvro(RecordChain(state.range(0), ""), {});
  auto v2 = ParseAvro(RecordChain(state.range(0), R"({"name":"z","type":"int"})"), {});
  for (auto _ : state) {
    auto backward = (*v2)->CheckCanRead(**v1);
    auto forward = (*v1)->CheckCanRead(**v2);
    benchmark::DoNotOptimize(backward);
    benchmark::DoNotOptimize(forward);
  }
}
BENCHMARK(BM_CheckRecordChain)->Arg(50)->Arg(400)->Arg(2000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::schema::avro

BENCHMARK_MAIN();
