#include "stream/enrich_operator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "stream/testing.h"
#include "stream/value_codec.h"

namespace sluice::stream {
namespace {

using testing::Harness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr size_t kOrders = 0;
constexpr size_t kUsers = 1;

// orders (source 0) enriched from the table source users (source 1).
std::string TableSpec(std::string_view enrich, std::string_view users_source = "metadata: true") {
  return fmt::format(R"(name: p
sources: [{{name: orders, topic: o}}, {{name: users, topic: u, {}}}]
operators:
  - {{name: e, type: enrich, input: orders, on: customer, as: c, {}}}
outputs: [{{name: out, input: e, type: discard}}]
)",
                     users_source, enrich);
}

std::string ErrorOf(const std::string& yaml) {
  auto spec = ParsePipelineSpec(yaml);
  if (!spec.ok()) return std::string(spec.status().message());
  Status s = ValidatePipeline(*spec);
  return s.ok() ? "" : std::string(s.message());
}

uint64_t Counter(const Operator* op, std::string_view name) {
  for (const auto& [n, v] : op->Counters()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

// ----------------------------------------------------------------------------- topic table

TEST(TableEnrichTest, InnerEnrichAddsTheLatestRowOfTheRecordKeyAndDropsMisses) {
  Harness h(TableSpec("lookup: {table: users}"));
  h.Push({{R"({"name":"Ann","tier":"gold","_key":"u1","_timestamp":5,"_partition":0,"_offset":0})", 1},
          {R"({"name":"Bob","_key":"u2","_timestamp":6,"_partition":0,"_offset":1})", 2}},
         kUsers);
  h.Push({{R"({"id":1,"customer":"u1"})", 10}, {R"({"id":2,"customer":"nobody"})", 11},
          {R"({"id":3,"customer":null})", 12}, {R"({"id":4,"customer":"u2"})", 13}},
         kOrders);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"id":1,"customer":"u1","c":{"name":"Ann","tier":"gold"}})",
                                    R"({"id":4,"customer":"u2","c":{"name":"Bob"}})"));
  Operator* e = h.Find("e");
  EXPECT_EQ(Counter(e, "table_keys"), 2u);
  EXPECT_EQ(Counter(e, "matched"), 2u);
  EXPECT_EQ(Counter(e, "unmatched"), 2u);
  EXPECT_GT(e->StateBytes(), 0u);
}

TEST(TableEnrichTest, LeftEnrichEmitsNullWhenTheKeyIsMissingAndKeepsTheEventTime) {
  Harness h(TableSpec("mode: left, lookup: {table: users}"));
  h.Push({{R"({"customer":"u9"})", 42}}, kOrders);
  EXPECT_THAT(h.out_times, ElementsAre(42));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":"u9","c":null})"));
}

TEST(TableEnrichTest, UpdatesReplaceAndDeletionsRemoveTheKey) {
  Harness h(TableSpec("mode: left, lookup: {table: users}"));
  h.Push({{R"({"name":"Ann","_key":"u1"})", 1}}, kUsers);
  h.Push({{R"({"customer":"u1"})", 10}}, kOrders);
  h.Push({{R"({"name":"Anna","_key":"u1"})", 2}}, kUsers);
  h.Push({{R"({"customer":"u1"})", 11}}, kOrders);
  // A tombstone reaches a metadata table source as {"value": null, "_key": ...}.
  h.Push({{R"({"value":null,"_key":"u1","_timestamp":3})", 3}}, kUsers);
  h.Push({{R"({"customer":"u1"})", 12}}, kOrders);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":"u1","c":{"name":"Ann"}})",
                                    R"({"customer":"u1","c":{"name":"Anna"}})",
                                    R"({"customer":"u1","c":null})"));
  EXPECT_EQ(Counter(h.Find("e"), "table_keys"), 0u);
  EXPECT_EQ(h.Find("e")->StateBytes(), 0u);
}

TEST(TableEnrichTest, AKeyExpressionKeysRowsAndNullRowsAreDeletionsOnlyWithAKey) {
  Harness h(TableSpec("lookup: {table: users, key: id}", "start: earliest"));
  h.Push({{R"({"id":7,"name":"Ann"})", 1}, {R"({"name":"nokey"})", 2}}, kUsers);
  h.Push({{R"({"customer":7})", 10}, {R"({"customer":"7"})", 11}}, kOrders);
  // Typed keys: 7 matches 7, not "7".
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":7,"c":{"id":7,"name":"Ann"}})"));
  ASSERT_THAT(h.errors, SizeIs(1));
  EXPECT_THAT(h.errors[0], HasSubstr("lookup.key is NULL"));
}

TEST(TableEnrichTest, RecordKeysAreStringsSoEventKeysAreComparedInTheirStringForm) {
  Harness h(TableSpec("lookup: {table: users}"));
  h.Push({{R"({"name":"Ann","_key":"7"})", 1}}, kUsers);
  h.Push({{R"({"customer":7})", 10}}, kOrders);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":7,"c":{"name":"Ann"}})"));
}

TEST(TableEnrichTest, AMemberNamedAsIsReplacedInPlaceAndNonObjectsKeepOnlyIt) {
  Harness h(R"(name: p
sources: [{name: orders, topic: o}, {name: users, topic: u, metadata: true}]
operators:
  - {name: e, type: enrich, input: orders, on: "'u1'", as: c, mode: left, lookup: {table: users}}
outputs: [{name: out, input: e, type: discard}]
)");
  h.Push({{R"({"name":"Ann","_key":"u1"})", 1}}, kUsers);
  h.Push({{R"({"c":1,"z":2})", 10}, {R"(5)", 11}}, kOrders);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"c":{"name":"Ann"},"z":2})", R"({"c":{"name":"Ann"}})"));
}

TEST(TableEnrichTest, KeyErrorsGoToTheErrorOutput) {
  Harness h(TableSpec("lookup: {table: users}"));
  h.Push({{R"({"customer":"x"})", 1}}, kOrders);
  Harness bad(R"Y(name: p
sources: [{name: orders, topic: o}, {name: users, topic: u, metadata: true}]
operators:
  - {name: e, type: enrich, input: orders, on: "CAST(customer AS BIGINT)", lookup: {table: users}}
outputs: [{name: out, input: e, type: discard}]
)Y");
  bad.Push({{R"({"customer":"x"})", 1}}, kOrders);
  ASSERT_THAT(bad.errors, SizeIs(1));
  EXPECT_THAT(bad.errors[0], HasSubstr("on: "));
}

TEST(TableEnrichTest, TheWatermarkFollowsTheEventsAloneNotTheTable) {
  Harness h(TableSpec("lookup: {table: users}"));
  Operator* e = h.Find("e");
  h.Watermark(100, kOrders);
  EXPECT_EQ(e->watermark(), 100);  // the table never sent one
  h.Watermark(500, kUsers);
  EXPECT_EQ(e->watermark(), 100);
}

TEST(TableEnrichTest, TheTableSurvivesACheckpointRoundTrip) {
  std::string spec = TableSpec("mode: left, lookup: {table: users}");
  std::string state;
  {
    Harness h(spec);
    h.Push({{R"({"name":"Ann","_key":"u1"})", 1}, {R"({"name":"Bob","_key":"u2"})", 2},
            {R"({"value":null,"_key":"u2"})", 3}, {R"({"name":"Cy","_key":"u3"})", 4}},
           kUsers);
    h.Watermark(50, kOrders);
    state = h.graph->SaveState();
  }
  Harness h(spec);
  ASSERT_TRUE(h.graph->LoadState(state).ok());
  EXPECT_EQ(Counter(h.Find("e"), "table_keys"), 2u);
  EXPECT_EQ(h.Find("e")->watermark(), 50);
  h.Push({{R"({"customer":"u1"})", 60}, {R"({"customer":"u2"})", 61}, {R"({"customer":"u3"})", 62}},
         kOrders);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":"u1","c":{"name":"Ann"}})",
                                    R"({"customer":"u2","c":null})",
                                    R"({"customer":"u3","c":{"name":"Cy"}})"));
  // Corrupt state is refused, not half-loaded.
  Harness fresh(spec);
  EXPECT_FALSE(fresh.graph->LoadState(state.substr(0, state.size() - 3)).ok());
}

TEST(TableEnrichTest, TheTopicShorthandAddsAMetadataSourceReadFromTheStart) {
  auto spec = ParsePipelineSpec(R"(name: p
sources: [{name: orders, topic: o}]
operators:
  - {name: e, type: enrich, input: orders, on: customer, lookup: {topic: users}}
outputs: [{name: out, input: e, type: discard}]
)");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_EQ(spec->sources.size(), 2u);
  EXPECT_EQ(spec->sources[1].name, "e_table");
  EXPECT_EQ(spec->sources[1].topic, "users");
  EXPECT_TRUE(spec->sources[1].metadata);
  EXPECT_TRUE(spec->sources[1].lookup_table);
  EXPECT_FALSE(spec->sources[0].lookup_table);
  EXPECT_THAT(spec->operators[0].inputs, ElementsAre("orders", "e_table"));
  EXPECT_EQ(spec->operators[0].enrich.as, "e");
}

TEST(TableEnrichTest, SpecErrorsNameTheProblem) {
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {table: nope}")),
              HasSubstr("input 'nope' is not a source or operator"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {table: users}", "start: earliest")),
              HasSubstr("lookup.key is missing and source 'users' has no `metadata: true`"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {table: users}", "metadata: true, start: latest")),
              HasSubstr("always read from the start"));
  EXPECT_THAT(ErrorOf(TableSpec("mode: outer, lookup: {table: users}")),
              HasSubstr("unknown mode 'outer' (inner, left)"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {table: users, postgres: {dsn: x, query: y}}")),
              HasSubstr("exactly one of table"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {postgres: {dsn: x, query: 'SELECT 1'}}")),
              HasSubstr("needs the parameter $1"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {postgres: {dsn: x, query: 'SELECT $1', ttl: 5s}}")),
              HasSubstr("unknown field"));
  EXPECT_THAT(ErrorOf(TableSpec("lookup: {table: users}")), IsEmpty());
  // A table source feeds lookups only.
  EXPECT_THAT(ErrorOf(R"(name: p
sources: [{name: orders, topic: o}, {name: users, topic: u, metadata: true}]
operators:
  - {name: e, type: enrich, input: orders, on: customer, lookup: {table: users}}
  - {name: f, type: filter, input: users, condition: "true"}
outputs: [{name: out, input: e, type: discard}]
)"),
              HasSubstr("source 'users' is a lookup table; only enrich operators' lookup may read it"));
}

// ----------------------------------------------------------------------------- external lookups

// A LookupClient over a map (param -> JSON row), recording the keys it was asked.
struct FakeTable {
  std::map<std::string, std::string> rows;
  std::map<std::string, std::string> errors;  // param -> reason
  std::vector<std::vector<std::string>> calls;
};

class FakeClient final : public LookupClient {
 public:
  explicit FakeClient(FakeTable& table) : table_(table) {}
  void Lookup(std::span<const std::string> params, std::vector<LookupResult>& results) override {
    results.clear();
    table_.calls.emplace_back(params.begin(), params.end());
    for (const auto& p : params) {
      if (auto e = table_.errors.find(p); e != table_.errors.end()) {
        results.push_back({LookupResult::Kind::kError, e->second});
      } else if (auto r = table_.rows.find(p); r != table_.rows.end()) {
        arena_.Reset();
        auto v = decoder_.Decode(r->second, arena_);
        LookupResult found{LookupResult::Kind::kFound, {}};
        EncodeValue(*v, found.data);
        results.push_back(std::move(found));
      } else {
        results.push_back({LookupResult::Kind::kMissing, {}});
      }
    }
  }

 private:
  FakeTable& table_;
  model::Arena arena_;
  codec::ValueJsonDecoder decoder_;
};

std::string LookupSpec(std::string_view extra = "mode: left") {
  return fmt::format(R"(name: p
sources: [{{name: orders, topic: o}}]
operators:
  - name: e
    type: enrich
    input: orders
    on: customer
    as: c
    {}
    lookup:
      postgres: {{dsn: "host=127.0.0.1", query: "SELECT name FROM t WHERE id = $1", cache_ttl: 1s, cache_size: 100}}
outputs: [{{name: out, input: e, type: discard}}]
)",
                     extra);
}

class LookupEnrichTest : public ::testing::Test {
 protected:
  LookupEnrichTest() {
    table_.rows = {{"1", R"({"name":"Ann"})"}, {"2", R"({"name":"Bob"})"}, {"x", R"({"name":"Xi"})"}};
  }
  LookupClientFactory Factory() {
    return [this](const EnrichSpec&) { return std::make_unique<FakeClient>(table_); };
  }
  FakeTable table_;
};

TEST_F(LookupEnrichTest, MissesAreBufferedAndComeOutInOrderAfterTheLookup) {
  Harness h(LookupSpec(), Factory());
  h.Push({{R"({"customer":1})", 1}, {R"({"customer":"x"})", 2}, {R"({"customer":1})", 3},
          {R"({"customer":9})", 4}, {R"({"customer":null})", 5}});
  EXPECT_THAT(h.out, IsEmpty());
  EXPECT_EQ(static_cast<LookupEnrichOperator*>(h.Find("e"))->buffered(), 5u);
  h.DrainBlockingWork();
  // One trip, each key once; ints go as their JSON text, strings as they are.
  EXPECT_THAT(table_.calls, ElementsAre(ElementsAre("1", "x", "9")));
  EXPECT_EQ(Counter(h.Find("e"), "cache_misses"), 3u);
  EXPECT_EQ(Counter(h.Find("e"), "cache_hits"), 1u);  // the second 1 rode on the first's query
  EXPECT_THAT(h.out_times, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":1,"c":{"name":"Ann"}})",
                                    R"({"customer":"x","c":{"name":"Xi"}})",
                                    R"({"customer":1,"c":{"name":"Ann"}})",
                                    R"({"customer":9,"c":null})", R"({"customer":null,"c":null})"));
}

TEST_F(LookupEnrichTest, CachedKeysComeOutAtOnceUnlessAnEarlierEventWaits) {
  Harness h(LookupSpec(), Factory());
  h.Push({{R"({"customer":1})", 1}});
  h.DrainBlockingWork();
  h.Take();
  h.Push({{R"({"customer":1})", 2}});
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":1,"c":{"name":"Ann"}})"));  // a hit
  h.Push({{R"({"customer":2})", 3}, {R"({"customer":1})", 4}});
  EXPECT_THAT(h.out, IsEmpty());  // 1 is cached but queues behind 2
  h.DrainBlockingWork();
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":2,"c":{"name":"Bob"}})",
                                    R"({"customer":1,"c":{"name":"Ann"}})"));
  Operator* e = h.Find("e");
  EXPECT_EQ(Counter(e, "cache_hits"), 2u);
  EXPECT_EQ(Counter(e, "cache_misses"), 2u);
  EXPECT_EQ(Counter(e, "queries"), 2u);
  EXPECT_EQ(Counter(e, "cache_entries"), 2u);
}

TEST_F(LookupEnrichTest, NotFoundIsCachedAndInnerModeDropsIt) {
  Harness h(LookupSpec("mode: inner"), Factory());
  h.Push({{R"({"customer":9})", 1}, {R"({"customer":1})", 2}});
  h.DrainBlockingWork();
  h.Push({{R"({"customer":9})", 3}});
  h.DrainBlockingWork();
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":1,"c":{"name":"Ann"}})"));
  EXPECT_THAT(table_.calls, SizeIs(1));  // 9 was not asked again
}

TEST_F(LookupEnrichTest, EntriesExpireAfterTheTtlInProcessingTime) {
  Harness h(LookupSpec(), Factory());
  h.ctx().processing_time_ms = 10'000;
  h.Push({{R"({"customer":1})", 1}});
  h.DrainBlockingWork();
  table_.rows["1"] = R"({"name":"Anna"})";
  h.ctx().processing_time_ms = 10'999;
  h.Push({{R"({"customer":1})", 2}});
  h.DrainBlockingWork();
  h.ctx().processing_time_ms = 11'000;  // cache_ttl: 1s
  h.Push({{R"({"customer":1})", 3}});
  h.DrainBlockingWork();
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":1,"c":{"name":"Ann"}})",
                                    R"({"customer":1,"c":{"name":"Ann"}})",
                                    R"({"customer":1,"c":{"name":"Anna"}})"));
  EXPECT_THAT(table_.calls, SizeIs(2));
  EXPECT_EQ(Counter(h.Find("e"), "cache_expirations"), 1u);
}

TEST_F(LookupEnrichTest, QueryErrorsGoToTheErrorOutputAndAreNotCached) {
  table_.errors["13"] = "division by zero (SQLSTATE 22012)";
  Harness h(LookupSpec(), Factory());
  h.Push({{R"({"customer":13})", 1}, {R"({"customer":1})", 2}});
  h.DrainBlockingWork();
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":1,"c":{"name":"Ann"}})"));
  ASSERT_THAT(h.errors, SizeIs(1));
  EXPECT_EQ(h.errors[0], R"(e {"customer":13}: lookup: division by zero (SQLSTATE 22012))");
  table_.errors.clear();
  table_.rows["13"] = R"({"name":"Thirteen"})";
  h.Push({{R"({"customer":13})", 3}});
  h.DrainBlockingWork();
  EXPECT_THAT(h.Take(), ElementsAre(R"({"customer":13,"c":{"name":"Thirteen"}})"));
  EXPECT_EQ(Counter(h.Find("e"), "query_errors"), 1u);
}

TEST_F(LookupEnrichTest, TheWatermarkIsHeldWhileEventsAreBuffered) {
  Harness h(LookupSpec(), Factory());
  Operator* e = h.Find("e");
  h.Watermark(5);
  EXPECT_EQ(e->watermark(), 5);
  h.Push({{R"({"customer":1})", 10}});
  h.Watermark(20);
  EXPECT_EQ(e->watermark(), 5);  // the buffered event (time 10) must come out first
  h.DrainBlockingWork();
  EXPECT_EQ(e->watermark(), 20);
  EXPECT_THAT(h.Take(), SizeIs(1));
}

TEST_F(LookupEnrichTest, ManyMissingKeysAreFetchedInBoundedTrips) {
  Harness h(LookupSpec(), Factory());
  std::vector<std::pair<std::string, int64_t>> events;
  for (int i = 0; i < 300; ++i) events.emplace_back(fmt::format(R"({{"customer":{}}})", 1000 + i), i);
  h.Push(events);
  h.DrainBlockingWork();
  ASSERT_THAT(table_.calls, SizeIs(2));
  EXPECT_THAT(table_.calls[0], SizeIs(LookupEnrichOperator::kMaxKeysPerWork));
  EXPECT_THAT(h.Take(), SizeIs(300));
}

TEST_F(LookupEnrichTest, ASmallCacheDoesNotMakeBufferedEventsAskTwice) {
  Harness h(R"(name: p
sources: [{name: orders, topic: o}]
operators:
  - name: e
    type: enrich
    input: orders
    on: customer
    lookup: {postgres: {dsn: "", query: "SELECT $1", cache_size: 1}}
outputs: [{name: out, input: e, type: discard}]
)", Factory());
  h.Push({{R"({"customer":1})", 1}, {R"({"customer":2})", 2}, {R"({"customer":1})", 3}});
  h.DrainBlockingWork();
  EXPECT_THAT(table_.calls, SizeIs(1));
  EXPECT_THAT(h.Take(), SizeIs(3));
}

}  // namespace
}  // namespace sluice::stream
