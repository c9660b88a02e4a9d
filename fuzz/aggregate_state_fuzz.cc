// Fuzz target for aggregate state decoding (stream/aggregate.h DeserializeAccumulator and
// stream/aggregate_row.h AggregateRow::Deserialize), i.e. checkpoint and RocksDB state read back.
// Input: byte 0 picks the aggregate kind (value mod 12) and, when >= 128, the row path (a row of
// that aggregate plus count(*)); the rest is the state bytes. Checks, beyond "no crash": decoded
// state is usable (Result, Add, Merge), and what it serializes to (the input, up to non-canonical
// varints) decodes again and serializes to the same bytes.
// Built as a libFuzzer target with clang (-DSLUICE_FUZZ=ON), and as a replay/mutation driver
// with GCC (fuzz_main.cc) that ctest runs.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stream/aggregate.h"
#include "stream/aggregate_row.h"

namespace {

using namespace sluice::stream;  // NOLINT

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "aggregate_state_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  AggregateSpec spec;
  spec.kind = static_cast<AggregateKind>(data[0] % kAggregateKindCount);
  spec.max_list_items = 100;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  sluice::model::Arena arena;
  if (data[0] >= 128) {
    AggregateSpec count_all;
    count_all.kind = AggregateKind::kCountAll;
    auto layout = AggregateRowLayout::Make({spec, count_all});
    Require(layout.ok(), "layout");
    auto row = AggregateRow::Deserialize(*layout, bytes);
    if (!row.ok()) return 0;
    std::string again;
    row->Serialize(again);
    auto row2 = AggregateRow::Deserialize(*layout, again);
    Require(row2.ok(), "row does not decode its own bytes");
    std::string third;
    row2->Serialize(third);
    Require(again == third, "row serialization is not stable");
    sluice::model::Value out[2];
    row->Results(arena, out);
    const sluice::model::Value in[2] = {sluice::model::Value::Int(7), {}};
    row->Add(in, 1);
    AggregateRow other(*layout);
    other.Add(in, 2);
    row->Merge(other);
    (void)row->MemoryBytes();
    return 0;
  }
  auto acc = DeserializeAccumulator(spec, bytes);
  if (!acc.ok()) {
    Require(!acc.status().message().empty(), "error without a message");
    return 0;
  }
  std::string again;
  (*acc)->Serialize(again);
  auto acc2 = DeserializeAccumulator(spec, again);
  Require(acc2.ok(), "accumulator does not decode its own bytes");
  std::string third;
  (*acc2)->Serialize(third);
  Require(again == third, "accumulator serialization is not stable");
  (void)(*acc)->Result(arena);
  (void)(*acc)->error();
  (*acc)->Add(sluice::model::Value::String("x"), 3);
  auto fresh = MakeAccumulator(spec);
  fresh->Add(sluice::model::Value::Double(2.5), 1);
  (*acc)->Merge(*fresh);
  fresh->Merge(**acc);
  (void)fresh->Result(arena);
  (void)(*acc)->MemoryBytes();
  return 0;
}
