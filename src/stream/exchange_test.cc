#include "stream/exchange.h"

#include <gtest/gtest.h>

#include "codec/value_json.h"
#include "model/partitioner.h"
#include "storage/log.h"
#include "stream/state_codec.h"
#include "stream/value_codec.h"

namespace sluice::stream {
namespace {

using model::Value;

std::unique_ptr<rules::Expression> Expr(std::string_view text) {
  return std::move(rules::Expression::Compile(text, {})).value();
}

Row MakeRow(TaskContext& ctx, std::string_view json, int64_t ts) {
  codec::ValueJsonDecoder d;
  Row r;
  r.value = d.Decode(json, ctx.arena).value();
  r.timestamp = ts;
  return r;
}

// What the task's staging holds, decoded back into records per partition.
std::map<int32_t, std::vector<model::ProduceRecord>> TakeStaged(TaskContext& ctx) {
  std::map<int32_t, std::vector<model::ProduceRecord>> out;
  for (const StagedBatch& b : ctx.staging.Take()) {
    auto records = storage::DecodeBuiltBatch(b.bytes);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    if (!records.ok()) continue;
    EXPECT_EQ(b.records, static_cast<int32_t>(records->size()));
    auto& to = out[b.partition];
    to.insert(to.end(), records->begin(), records->end());
  }
  return out;
}

const std::string* WatermarkOf(const model::ProduceRecord& r) {
  for (const auto& h : r.headers) {
    if (h.key == kWatermarkHeader) return &*h.value;
  }
  return nullptr;
}

TEST(ExchangeOutputTest, RowsGoToThePartitionOfTheirKeyAndDecodeBackUnchanged) {
  TaskContext ctx;
  ExchangeOutput out("w:out0", ctx, "_exchange.p.w.0", 4, 1, Expr("user"), false);
  std::vector<Row> rows;
  for (int i = 0; i < 40; ++i) {
    rows.push_back(MakeRow(ctx, fmt::format(R"({{"user":"u{}","n":{},"f":1.5}})", i % 7, i), 100 + i));
  }
  rows[3].key = Value::Int(42);
  out.Push(0, rows);
  auto staged = TakeStaged(ctx);
  EXPECT_GT(staged.size(), 1u);  // 7 keys over 4 partitions
  size_t total = 0;
  std::map<std::string, int32_t> partition_of_user;
  for (auto& [partition, records] : staged) {
    for (const auto& rec : records) {
      ++total;
      ASSERT_TRUE(rec.value.has_value());
      std::string_view in = *rec.value;
      model::Arena arena;
      Value v = DecodeValue(in, arena).value();
      EXPECT_TRUE(in.empty());
      std::string user(v.Find("user")->string_value());
      // Same key, same partition, as a hash of the key's value encoding.
      std::string key;
      EncodeValue(Value::String(user), key);
      EXPECT_EQ(partition, model::PartitionForKey(key, 4));
      auto [it, fresh] = partition_of_user.emplace(user, partition);
      EXPECT_EQ(it->second, partition);
      EXPECT_EQ(v.Find("f")->double_value(), 1.5);
      int64_t n = v.Find("n")->int_value();
      EXPECT_EQ(rec.timestamp, 100 + n);
      // The row's key travels in the record key.
      if (n == 3) {
        ASSERT_TRUE(rec.key.has_value());
        std::string_view k = *rec.key;
        EXPECT_EQ(DecodeValue(k, arena).value().int_value(), 42);
      } else {
        EXPECT_FALSE(rec.key.has_value());
      }
    }
  }
  EXPECT_EQ(total, 40u);
}

TEST(ExchangeOutputTest, RowsKeyedByKeyByGoToThePartitionOfTheirRowKey) {
  TaskContext ctx;
  ExchangeOutput out("w:out0", ctx, "_exchange.p.w.0", 4, 0, nullptr, true);
  std::vector<Row> rows;
  for (int i = 0; i < 20; ++i) {
    rows.push_back(MakeRow(ctx, fmt::format(R"({{"n":{}}})", i), i));
    rows.back().key = Value::Int(i % 5);
  }
  out.Push(0, rows);
  size_t total = 0;
  for (auto& [partition, records] : TakeStaged(ctx)) {
    for (const auto& rec : records) {
      ++total;
      ASSERT_TRUE(rec.key.has_value());
      EXPECT_EQ(partition, model::PartitionForKey(*rec.key, 4));
      std::string_view k = *rec.key;
      std::string_view v = *rec.value;
      model::Arena arena;
      int64_t key = DecodeValue(k, arena).value().int_value();
      EXPECT_EQ(key, DecodeValue(v, arena).value().Find("n")->int_value() % 5);
    }
  }
  EXPECT_EQ(total, 20u);
}

TEST(ExchangeOutputTest, AnnouncesItsWatermarkToEveryPartitionWhenItRisesOrGoesIdle) {
  TaskContext ctx;
  ExchangeOutput out("g:out0", ctx, "_exchange.p.g.0", 3, 2, nullptr, false);
  out.AdvanceWatermark(0, 10);
  out.Announce(false);
  auto staged = TakeStaged(ctx);
  ASSERT_EQ(staged.size(), 3u);
  for (auto& [p, records] : staged) {
    ASSERT_EQ(records.size(), 1u);
    ASSERT_NE(WatermarkOf(records[0]), nullptr);
    EXPECT_EQ(*WatermarkOf(records[0]), "2 10");
    EXPECT_FALSE(records[0].value.has_value());
  }
  out.Announce(false);  // unchanged: nothing
  EXPECT_TRUE(TakeStaged(ctx).empty());
  out.Announce(true);
  staged = TakeStaged(ctx);
  ASSERT_EQ(staged.size(), 3u);
  EXPECT_EQ(*WatermarkOf(staged[0][0]), "2 idle");
  out.Announce(true);
  EXPECT_TRUE(TakeStaged(ctx).empty());
  // Rows after an idle announcement are preceded by an active one; a global exchange sends
  // every row to partition 0.
  std::vector<Row> rows{MakeRow(ctx, R"({"x":1})", 11)};
  out.Push(0, rows);
  staged = TakeStaged(ctx);
  ASSERT_EQ(staged[0].size(), 2u);
  EXPECT_EQ(*WatermarkOf(staged[0][0]), "2 10");
  EXPECT_EQ(WatermarkOf(staged[0][1]), nullptr);
  EXPECT_EQ(staged[1].size(), 1u);
  EXPECT_EQ(staged[2].size(), 1u);
}

TEST(ExchangeInputTest, WatermarkIsTheMinimumOverTasksThatAreNotIdle) {
  TaskContext ctx;
  ExchangeInput in("w:in0", ctx, 3);
  in.AddPartition(1);
  EXPECT_EQ(in.CombinedWatermark(), kNoWatermark);  // nobody has spoken
  EXPECT_TRUE(in.OnWatermarkRecord(1, "0 100"));
  EXPECT_TRUE(in.OnWatermarkRecord(1, "1 50"));
  EXPECT_EQ(in.CombinedWatermark(), kNoWatermark);  // task 2 has not
  EXPECT_TRUE(in.OnWatermarkRecord(1, "2 idle"));
  EXPECT_EQ(in.CombinedWatermark(), 50);
  EXPECT_TRUE(in.OnWatermarkRecord(1, "1 200"));
  EXPECT_EQ(in.CombinedWatermark(), 100);
  EXPECT_TRUE(in.OnWatermarkRecord(1, "0 90"));  // never goes back
  EXPECT_EQ(in.CombinedWatermark(), 100);
  EXPECT_TRUE(in.OnWatermarkRecord(1, "2 70"));  // active again
  EXPECT_EQ(in.CombinedWatermark(), 70);
  for (const char* bad : {"", "0", "x 1", "3 1", "-1 5", "0 1x", "0 "}) {
    EXPECT_FALSE(in.OnWatermarkRecord(1, bad)) << bad;
  }
  EXPECT_FALSE(in.OnWatermarkRecord(0, "0 1"));  // not a partition of this task
  EXPECT_EQ(in.CombinedWatermark(), 70);
  EXPECT_TRUE(in.OnWatermarkRecord(1, "0 idle"));
  EXPECT_TRUE(in.OnWatermarkRecord(1, "1 idle"));
  EXPECT_TRUE(in.OnWatermarkRecord(1, "2 idle"));
  EXPECT_EQ(in.CombinedWatermark(), std::nullopt);

  // The producers' watermarks are part of the checkpoint.
  EXPECT_TRUE(in.OnWatermarkRecord(1, "2 300"));
  std::string saved;
  StateWriter w(saved);
  in.Save(w);
  ExchangeInput again("w:in0", ctx, 3);
  again.AddPartition(1);
  StateReader r(saved);
  ASSERT_TRUE(again.Load(r).ok());
  EXPECT_EQ(again.CombinedWatermark(), 300);
  ExchangeInput other("w:in0", ctx, 2);
  other.AddPartition(1);
  StateReader r2(saved);
  EXPECT_FALSE(other.Load(r2).ok());
}

}  // namespace
}  // namespace sluice::stream
