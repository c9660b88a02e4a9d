// Validations per second for a 10-field JSON event: our compiled validator (simdjson DOM,
// thread_local parser) against valijson (nlohmann parse + validate) on the same payload.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "schema/json/json_schema.h"

namespace {

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "id": {"type": "string", "pattern": "^[a-f0-9]{8}-[a-f0-9]{4}$"},
    "user_id": {"type": "integer", "minimum": 1},
    "amount": {"type": "number", "minimum": 0, "maximum": 1000000},
    "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
    "active": {"type": "boolean"},
    "ts": {"type": "string", "format": "date-time"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 5},
    "address": {"type": "object", "properties": {"city": {"type": "string", "minLength": 1},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["city"], "additionalProperties": false},
    "score": {"type": "integer", "multipleOf": 5},
    "note": {"type": ["string", "null"], "maxLength": 50}
  },
  "required": ["id", "user_id", "amount", "currency", "active", "ts"],
  "additionalProperties": false
})";

constexpr const char* kEvent =
    R"({"id":"3f2a9c1e-77b0","user_id":48213,"amount":129.95,"currency":"EUR","active":true,)"
    R"("ts":"2024-05-17T09:41:27.512Z","tags":["web","promo"],)"
    R"("address":{"city":"Lyon","zip":"69002"},"score":35,"note":null})";

void BM_SluiceValidate(benchmark::State& state) {
  auto schema = sluice::schema::json::Parse(kSchema, {});
  auto validator = (*schema)->CompileValidator({});
  std::string payload = kEvent;
  for (auto _ : state) {
    sluice::Status st = (*validator)->Validate(payload);
    benchmark::DoNotOptimize(st);
    if (!st.ok()) state.SkipWithError(st.message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
}
BENCHMARK(BM_SluiceValidate);

void BM_SluiceValidateInvalid(benchmark::State& state) {
  auto schema = sluice::schema::json::Parse(kSchema, {});
  auto validator = (*schema)->CompileValidator({});
  std::string payload = kEvent;
  payload.replace(payload.find("48213"), 5, "\"x\"");
  for (auto _ : state) {
    sluice::Status st = (*validator)->Validate(payload);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SluiceValidateInvalid);

void BM_ValijsonValidate(benchmark::State& state) {
  nlohmann::json schema_doc = nlohmann::json::parse(kSchema);
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  std::string payload = kEvent;
  for (auto _ : state) {
    nlohmann::json doc = nlohmann::json::parse(payload);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    bool ok = validator.validate(schema, adapter, nullptr);
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("valijson rejected the event");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValijsonValidate);

void BM_ValijsonValidatePreparsed(benchmark::State& state) {
  nlohmann::json schema_doc = nlohmann::json::parse(kSchema);
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  nlohmann::json doc = nlohmann::json::parse(kEvent);
  for (auto _ : state) {
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    bool ok = validator.validate(schema, adapter, nullptr);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValijsonValidatePreparsed);

}  // namespace

BENCHMARK_MAIN();
