// Topic and exchange outputs: what they stage, and that staging a row allocates nothing once the
// buffers have grown (the "no heap allocation per event" goal on the output side).
#include "stream/outputs.h"

#include <gtest/gtest.h>

#include "base/alloc_counter.h"
#include "codec/value_json.h"
#include "model/partitioner.h"
#include "storage/log.h"
#include "stream/exchange.h"
#include "stream/task_graph.h"

namespace sluice::stream {
namespace {

std::unique_ptr<rules::Expression> Expr(std::string_view text) {
  return std::move(rules::Expression::Compile(text, {})).value();
}

std::vector<Row> MakeRows(TaskContext& ctx, int n) {
  codec::ValueJsonDecoder d;
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    Row r;
    r.value = d.Decode(fmt::format(R"({{"user":"user-{:04d}","n":{},"price":{}.25,"tags":["a","b"]}})",
                                   i % 97, i, i % 1000),
                       ctx.arena)
                  .value();
    r.timestamp = 1'700'000'000'000 + i;
    rows.push_back(r);
  }
  return rows;
}

TEST(TopicOutputTest, StagesJsonRecordsKeyedAndPartitionedLikeAKafkaProducer) {
  TaskContext ctx;
  TopicOutput out("out", ctx, "clicks", 4, Expr("user"));
  std::vector<Row> rows = MakeRows(ctx, 50);
  out.Push(0, rows);
  size_t total = 0;
  for (const StagedBatch& b : ctx.staging.Take()) {
    EXPECT_EQ(b.topic, "clicks");
    EXPECT_TRUE(b.marker.empty());
    auto records = storage::DecodeBuiltBatch(b.bytes);
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    for (const auto& rec : *records) {
      ++total;
      ASSERT_TRUE(rec.key && rec.value);
      EXPECT_EQ(b.partition, model::PartitionForKey(*rec.key, 4));
      model::Arena arena;
      codec::ValueJsonDecoder d;
      auto v = d.Decode(*rec.value, arena);
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(v->Find("user")->string_value(), *rec.key);
      EXPECT_EQ(rec.timestamp, 1'700'000'000'000 + v->Find("n")->int_value());
    }
  }
  EXPECT_EQ(total, 50u);
}

TEST(TopicOutputTest, ExactlyOnceBatchesStartWithTheirMarker) {
  TaskContext ctx;
  OutputStaging& staging = ctx.staging;
  staging.SetMarkerPrefix("p/0/7/");
  TopicOutput out("out", ctx, "clicks", 2, nullptr);  // no key: one sticky partition per push
  std::vector<Row> rows = MakeRows(ctx, 10);
  out.Push(0, rows);
  out.Push(0, rows);
  auto batches = staging.Take();
  ASSERT_EQ(batches.size(), 2u);
  std::set<std::string> markers;
  for (const StagedBatch& b : batches) {
    auto records = storage::DecodeBuiltBatch(b.bytes);
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), 10u);
    ASSERT_EQ((*records)[0].headers.size(), 1u);
    EXPECT_EQ((*records)[0].headers[0].key, kCheckpointHeader);
    EXPECT_EQ((*records)[0].headers[0].value, b.marker);
    EXPECT_TRUE((*records)[1].headers.empty());
    markers.insert(b.marker);
  }
  EXPECT_EQ(markers, (std::set<std::string>{"p/0/7/0", "p/0/7/1"}));
}

// The figure behind "no heap allocation per event": rows pushed through a keyed topic output
// and a keyed exchange, counted with a replaced operator new. Before outputs encoded straight
// into batches each row cost at least three allocations (record, value, key).
TEST(OutputAllocationTest, StagingARowAllocatesNothingOnceBuffersHaveGrown) {
  if (!g_counting_available) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  TaskContext ctx;
  ctx.staging.SetMarkerPrefix("p/0/1/");
  TopicOutput topic("out", ctx, "clicks", 8, Expr("user"));
  ExchangeOutput exchange("w:out0", ctx, "_exchange.p.w.0", 4, 0, Expr("user"), false);
  std::vector<Row> rows = MakeRows(ctx, 1000);
  auto push_all = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (size_t at = 0; at < rows.size(); at += 250) {
        std::span<Row> batch(rows.data() + at, 250);
        topic.Push(0, batch);
        exchange.Push(0, batch);
      }
    }
  };
  push_all(2);  // scratch buffers and builders grow to their working size
  (void)ctx.staging.Take();
  constexpr int kRounds = 20;  // 20,000 rows into each output, several batches per partition
  g_allocations = 0;
  g_counting = true;
  push_all(kRounds);
  g_counting = false;
  const size_t allocations = g_allocations;
  const double per_row = static_cast<double>(allocations) / (2.0 * kRounds * rows.size());
  RecordProperty("allocations", static_cast<int>(allocations));
  // What remains is per batch: a finished batch's buffer, its marker, the list of batches.
  EXPECT_LT(per_row, 0.01) << allocations << " allocations for " << 2 * kRounds * rows.size()
                           << " rows";
  auto batches = ctx.staging.Take();
  size_t records = 0;
  for (const auto& b : batches) records += static_cast<size_t>(b.records);
  EXPECT_EQ(records, 2u * kRounds * rows.size());
}

// The whole per-event path of a task, as RunCycle drives it: JSON decoded into the arena, a
// filter, a derive, a keyed tumbling window, a stateless branch, topic outputs staging the
// results; the arena reset after each cycle. Allocations are counted over 40 cycles of 500
// events (100 distinct users) once the first cycles have grown the buffers. What is left is per
// window and key (a new pane's map entries) and per output batch, not per event.
TEST(OutputAllocationTest, ATaskCycleAllocatesNothingPerEvent) {
  if (!g_counting_available) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  auto spec = ParsePipelineSpec(R"SPEC(name: alloc
sources: [{name: clicks, topic: clicks}]
operators:
  - {name: real, type: filter, input: clicks, condition: "NOT is_bot"}
  - {name: d, type: derive, input: real, fields: {cents: "price * 100", tag: "upper(page)"}}
  - name: per_user
    type: window
    input: d
    key: user
    window: {kind: tumbling, size: 1s}
    aggregates: {n: count(*), total: sum(cents), top: max(price)}
outputs:
  - {name: all, input: d, topic: enriched, key: user}
  - {name: counts, input: per_user, topic: counts, key: key}
)SPEC");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  TaskContext ctx;
  ctx.staging.SetMarkerPrefix("alloc/0/1/");
  TaskGraph::Options options;
  options.output_partitions = {{"enriched", 8}, {"counts", 4}};
  auto graph = TaskGraph::Build(*spec, ctx, options);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  constexpr int kPerCycle = 500;
  std::vector<std::string> events;
  for (int i = 0; i < 40 * kPerCycle; ++i) {
    events.push_back(fmt::format(R"({{"user":"user-{:03d}","page":"/p/{}","price":{}.5,"is_bot":{}}})",
                                 i % 100, i % 13, i % 50, i % 10 == 0 ? "true" : "false"));
  }
  codec::ValueJsonDecoder decoder;
  std::vector<Row> rows;
  rows.reserve(kPerCycle);
  int64_t t = 1'700'000'000'000;
  size_t next = 0;
  auto cycle = [&] {
    rows.clear();
    for (int i = 0; i < kPerCycle; ++i, t += 2) {
      const std::string& json = events[next++ % events.size()];
      auto v = decoder.Decode(json, ctx.arena);
      ASSERT_TRUE(v.ok());
      rows.push_back(Row{*v, model::Value::Null(), t});
    }
    (*graph)->source(0).Deliver(rows);
    (*graph)->source(0).DeliverWatermark(t - 1);
    ctx.arena.Reset();
  };
  for (int i = 0; i < 8; ++i) cycle();  // warm: buffers, arena blocks, the first windows
  (void)ctx.staging.Take();
  constexpr int kCycles = 40;
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < kCycles; ++i) cycle();
  g_counting = false;
  const size_t allocations = g_allocations;
  RecordProperty("allocations", static_cast<int>(allocations));
  const size_t events_in = static_cast<size_t>(kCycles) * kPerCycle;
  auto batches = ctx.staging.Take();
  size_t records = 0;
  for (const auto& b : batches) records += static_cast<size_t>(b.records);
  EXPECT_GT(records, events_in * 8 / 10);  // 90% pass the filter, plus the window results
  // 40 s of event time: 40 windows of 100 keys close in the counted cycles.
  EXPECT_LT(static_cast<double>(allocations) / static_cast<double>(events_in), 0.1)
      << allocations << " allocations for " << events_in << " events";
}

}  // namespace
}  // namespace sluice::stream
