// Operator state survives Save -> a fresh graph -> Load: a run cut in two at any point gives the
// same results as an uninterrupted one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "storage/log.h"
#include "stream/checkpoint.h"
#include "stream/testing.h"

namespace sluice::stream {
namespace {

using testing::Harness;

constexpr const char* kSpec = R"SPEC(name: cp
sources: [{name: s, topic: t}, {name: s2, topic: t2}]
operators:
  - {name: d, type: dedup, input: s, key: id, within: 50ms}
  - {name: r, type: route, input: d, routes: {all: "true"}}
  - name: tumble
    type: window
    input: r.all
    key: user
    window: {kind: tumbling, size: 20ms, allowed_lateness: 10ms}
    aggregates: {n: count(*), total: sum(v), users: count_distinct(v), p50: "approx_percentile(v, 0.5)"}
  - name: hop
    type: window
    input: d
    key: user
    window: {kind: hopping, size: 30ms, slide: 10ms}
    aggregates: {n: count(*), top: max(v)}
  - name: sess
    type: window
    input: d
    key: user
    window: {kind: session, gap: 7ms}
    aggregates: {n: count(*), first: first(v), last: last(v)}
  - {name: u, type: union, inputs: [tumble, hop, sess]}
  - {name: best, type: top_n, input: hop, partition_by: window_start, order_by: n, n: 2, with_ties: true}
  - name: wj
    type: join
    inputs: [s, s2]
    join: {kind: window, left_key: user, right_key: user, window: {kind: tumbling, size: 20ms}, type: left}
  - name: ij
    type: join
    inputs: [s, s2]
    join: {kind: interval, left_key: user, right_key: user, lower: -3ms, upper: 3ms}
  - name: tj
    type: join
    inputs: [s, s2]
    join: {kind: temporal, left_key: user, right_key: user, type: left}
  - name: rj
    type: join
    inputs: [s, s2]
    join: {kind: regular, left_key: id, right_key: id}
  - {name: all, type: union, inputs: [u, best, wj, ij, tj, rj]}
outputs: [{name: o, input: all, type: discard}]
)SPEC";

struct Event {
  std::string json;
  int64_t ts;
};

std::vector<Event> Events() {
  std::mt19937 rng(7);
  std::vector<Event> out;
  int64_t ts = 0;
  for (int i = 0; i < 400; ++i) {
    ts += rng() % 3;
    int64_t t = ts - static_cast<int64_t>(rng() % 4);  // a little out of order
    out.push_back({fmt::format(R"({{"id":{},"user":"u{}","v":{}}})", rng() % 300, rng() % 7, rng() % 100), t});
  }
  return out;
}

std::vector<std::string> RunCut(const std::vector<Event>& events, size_t cut) {
  std::vector<std::string> out;
  std::string saved;
  auto feed = [&](Harness& h, size_t from, size_t to) {
    for (size_t i = from; i < to; i += 16) {
      std::vector<std::pair<std::string, int64_t>> batch;
      int64_t max_ts = 0;
      for (size_t j = i; j < std::min(to, i + 16); ++j) {
        batch.emplace_back(events[j].json, events[j].ts);
        max_ts = std::max(max_ts, events[j].ts);
      }
      // Even events to source s, odd ones to s2 (the joins' right side).
      std::vector<std::pair<std::string, int64_t>> left, right;
      for (size_t j = 0; j < batch.size(); ++j) ((i + j) % 2 == 0 ? left : right).push_back(batch[j]);
      h.Push(left, 0);
      h.Push(right, 1);
      h.Watermark(max_ts - 5, 0);
      h.Watermark(max_ts - 5, 1);
    }
  };
  {
    Harness a(kSpec);
    feed(a, 0, cut);
    for (auto& s : a.Take()) out.push_back(s);
    saved = a.graph->SaveState();
  }
  Harness b(kSpec);
  Status st = b.graph->LoadState(saved);
  EXPECT_TRUE(st.ok()) << st.message();
  feed(b, cut, events.size());
  b.Watermark(1'000'000, 0);
  b.Watermark(1'000'000, 1);
  for (auto& s : b.Take()) out.push_back(s);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CheckpointStateTest, ARunCutAnywhereEqualsAnUninterruptedOne) {
  auto events = Events();
  auto whole = RunCut(events, events.size());
  ASSERT_GT(whole.size(), 100u);
  size_t joined = std::count_if(whole.begin(), whole.end(),
                                [](const std::string& r) { return r.find("\"s2\":{") != std::string::npos; });
  EXPECT_GT(joined, 50u);  // the joins matched rows, and their state is part of the test
  for (size_t cut : {0, 16, 160, 208, 384}) {
    EXPECT_EQ(RunCut(events, cut), whole) << "cut at " << cut;
  }
}

TEST(CheckpointStateTest, CorruptStateIsAnErrorNotACrash) {
  Harness a(kSpec);
  auto events = Events();
  std::vector<std::pair<std::string, int64_t>> batch;
  for (size_t i = 0; i < 50; ++i) batch.emplace_back(events[i].json, events[i].ts);
  a.Push(batch);
  std::string saved = a.graph->SaveState();
  for (size_t n = 0; n + 1 < saved.size(); n += 7) {
    Harness b(kSpec);
    (void)b.graph->LoadState(std::string_view(saved.data(), n));  // must not crash
  }
  std::string flipped = saved;
  for (size_t i = 0; i < flipped.size(); i += 5) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  Harness c(kSpec);
  (void)c.graph->LoadState(flipped);
  Harness d(kSpec);
  EXPECT_FALSE(d.graph->LoadState(std::string_view(saved.data(), saved.size() / 2)).ok());
}

TEST(CheckpointPartsTest, ALargeCheckpointIsSplitIntoPartsThenAHead) {
  std::string bytes(2500, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(1 + i * 7);
  auto one = CheckpointRecords("p/0", 5, bytes, 4000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(*one[0].key, "p/0");
  EXPECT_EQ(*one[0].value, bytes);
  EXPECT_FALSE(IsCheckpointHead(*one[0].value));

  auto recs = CheckpointRecords("p/0", 5, bytes, 1000);
  ASSERT_EQ(recs.size(), 4u);
  std::string joined;
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*recs[i].key, CheckpointPartKey("p/0", 5, i));
    joined += *recs[i].value;
  }
  EXPECT_EQ(joined, bytes);
  // Checkpoints N and N+1 use different part keys.
  EXPECT_NE(CheckpointPartKey("p/0", 5, 0), CheckpointPartKey("p/0", 6, 0));
  EXPECT_EQ(CheckpointPartKey("p/0", 5, 0), CheckpointPartKey("p/0", 7, 0));
  ASSERT_EQ(*recs[3].key, "p/0");
  ASSERT_TRUE(IsCheckpointHead(*recs[3].value));
  auto head = DecodeCheckpointHead(*recs[3].value);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->id, 5);
  EXPECT_EQ(head->parts, 3u);
  EXPECT_EQ(head->size, bytes.size());
  EXPECT_TRUE(VerifyCheckpointParts(*head, joined).ok());
  // A part from another checkpoint, or a short one, is detected.
  std::string wrong = joined;
  wrong[1500] ^= 1;
  EXPECT_EQ(VerifyCheckpointParts(*head, wrong).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(VerifyCheckpointParts(*head, joined.substr(0, 2000)).code(), ErrorCode::kDataLoss);
  // A truncated or padded head is an error, never a crash.
  const std::string& h = *recs[3].value;
  for (size_t n = 0; n < h.size(); ++n) EXPECT_FALSE(DecodeCheckpointHead(h.substr(0, n)).ok()) << n;
  EXPECT_FALSE(DecodeCheckpointHead(h + "x").ok());
}

TEST(CheckpointFormatTest, OutputsRoundTripAsBatches) {
  Checkpoint c;
  c.id = 9;
  c.state = "s";
  model::RecordBatchBuilder b(1000);
  const model::HeaderView marker{kCheckpointHeader, std::string_view("p/0/9/0")};
  b.AddViews(std::string_view("k"), std::string_view("v1"), std::span(&marker, 1), 5);
  b.AddViews(std::nullopt, std::string_view("v2"), {}, 6);
  c.outputs.push_back({"out", 1, 40, false, "p/0/9/0", b.Finish()});
  auto back = DecodeCheckpoint(EncodeCheckpoint(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->outputs.size(), 1u);
  EXPECT_EQ(back->outputs[0].marker, "p/0/9/0");
  EXPECT_EQ(back->outputs[0].batch, c.outputs[0].batch);
  EXPECT_EQ(back->outputs[0].scan_from, 40);
  // A batch that is not one whole batch is refused, not trusted.
  Checkpoint bad = c;
  bad.outputs[0].batch.resize(bad.outputs[0].batch.size() - 1);
  EXPECT_EQ(DecodeCheckpoint(EncodeCheckpoint(bad)).status().code(), ErrorCode::kDataLoss);
}

// Checkpoints written before outputs were staged as batches (format 1: a list of records per
// output) still restore: their records become the batch they would have been appended as.
TEST(CheckpointFormatTest, Format1OutputsAreReadAsTheirBatch) {
  std::string v1;
  StateWriter w(v1);
  w.U64(1);  // format
  w.I64(4);  // id
  w.I64(1);  // version
  w.I64(123);  // created
  w.U64(0);  // positions
  w.Bytes("state");
  w.U64(1);  // outputs
  w.Bytes("out");
  w.I64(2);
  w.I64(17);
  w.U64(1);  // create_if_missing
  w.U64(2);  // records
  w.U64(3);  // key and value
  w.Bytes("k1");
  w.Bytes("v1");
  w.I64(50);
  w.U64(1);  // headers
  w.Bytes(kCheckpointHeader);
  w.U64(1);
  w.Bytes("p/0/4/0");
  w.U64(2);  // value only
  w.Bytes("v2");
  w.I64(51);
  w.U64(0);
  auto c = DecodeCheckpoint(v1);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->outputs.size(), 1u);
  const CheckpointOutput& o = c->outputs[0];
  EXPECT_EQ(o.topic, "out");
  EXPECT_EQ(o.partition, 2);
  EXPECT_EQ(o.scan_from, 17);
  EXPECT_TRUE(o.create_if_missing);
  EXPECT_EQ(o.marker, "p/0/4/0");
  auto records = storage::DecodeBuiltBatch(o.batch);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].key, "k1");
  EXPECT_EQ((*records)[0].value, "v1");
  EXPECT_EQ((*records)[0].timestamp, 50);
  ASSERT_EQ((*records)[0].headers.size(), 1u);
  EXPECT_EQ((*records)[0].headers[0].value, "p/0/4/0");
  EXPECT_FALSE((*records)[1].key.has_value());
  EXPECT_EQ((*records)[1].value, "v2");
  // Cut anywhere, format 1 is an error too, never a crash.
  for (size_t n = 0; n < v1.size(); ++n) EXPECT_FALSE(DecodeCheckpoint(v1.substr(0, n)).ok()) << n;
}

}  // namespace
}  // namespace sluice::stream
