#include "stream/pipeline_spec.h"

#include <gtest/gtest.h>

#include "stream/task_graph.h"

namespace sluice::stream {
namespace {

std::string ErrorOf(std::string_view yaml) {
  auto s = ParsePipelineSpec(yaml);
  if (s.ok()) {
    Status v = ValidatePipeline(*s);
    return v.ok() ? "ok" : std::string(v.message());
  }
  return std::string(s.status().message());
}

constexpr const char* kGood = R"(name: big-orders
sources:
  - name: orders
    topic: orders
    event_time: ts
    max_out_of_orderness: 5s
operators:
  - name: big
    type: filter
    input: orders
    condition: amount > 100
  - name: per_user
    type: window
    input: big
    key: user
    window: {kind: tumbling, size: 1m, allowed_lateness: 10s}
    aggregates:
      n: count(*)
      total: sum(amount)
      p99: approx_percentile(amount, 0.99)
outputs:
  - name: out
    input: per_user
    topic: totals
)";

TEST(PipelineSpecTest, ParsesAWellFormedSpec) {
  auto s = ParsePipelineSpec(kGood);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->name, "big-orders");
  ASSERT_EQ(s->sources.size(), 1u);
  EXPECT_EQ(s->sources[0].max_out_of_orderness_ms, 5000);
  ASSERT_EQ(s->operators.size(), 2u);
  EXPECT_EQ(s->operators[1].window.size_ms, 60000);
  EXPECT_EQ(s->operators[1].window.allowed_lateness_ms, 10000);
  ASSERT_EQ(s->operators[1].aggregates.size(), 3u);
  EXPECT_EQ(s->operators[1].aggregates[0].function, "count_all");
  EXPECT_EQ(s->operators[1].aggregates[2].params, std::vector<double>{0.99});
  EXPECT_EQ(s->errors_topic, "big-orders.errors");
  EXPECT_EQ(ErrorOf(kGood), "ok");
}

TEST(PipelineSpecTest, AcceptsJson) {
  auto s = ParsePipelineSpec(
      R"({"name":"p","sources":[{"name":"s","topic":"t"}],)"
      R"("outputs":[{"name":"o","input":"s","type":"discard"}]})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->outputs[0].kind, OutputKind::kDiscard);
}

TEST(PipelineSpecTest, ErrorsNameTheLineAndTheField) {
  std::string bad = kGood;
  bad.replace(bad.find("condition: amount > 100"), 23, "conditon: amount > 100");
  EXPECT_EQ(ErrorOf(bad), "line 11, column 5: operators[0].conditon: unknown field (did you mean 'condition'?)");

  bad = kGood;
  bad.replace(bad.find("input: big"), 10, "input: bug");
  EXPECT_NE(ErrorOf(bad).find("line 12, column 5: operators[1]: input 'bug' is not a source or operator"),
            std::string::npos)
      << ErrorOf(bad);

  bad = kGood;
  bad.replace(bad.find("size: 1m"), 8, "size: 1y");
  EXPECT_NE(ErrorOf(bad).find("operators[1].window.size: '1y' is not a duration"), std::string::npos)
      << ErrorOf(bad);

  bad = kGood;
  bad.replace(bad.find("type: filter"), 12, "type: filtre");
  EXPECT_NE(ErrorOf(bad).find("unknown operator type 'filtre'"), std::string::npos) << ErrorOf(bad);

  bad = kGood;
  bad.replace(bad.find("sum(amount)"), 11, "summ(amount)");
  EXPECT_NE(ErrorOf(bad).find("operators[1].aggregates.total"), std::string::npos) << ErrorOf(bad);
}

TEST(PipelineSpecTest, ExpressionErrorsCarryTheSpecPosition) {
  std::string bad = kGood;
  bad.replace(bad.find("amount > 100"), 12, "amount >> 100");
  std::string e = ErrorOf(bad);
  EXPECT_EQ(e.rfind("line 11, column 16: operators[0].condition: 1:", 0), 0u) << e;
}

TEST(PipelineSpecTest, ExpressionsAreTypeCheckedAgainstTheSourceSchema) {
  auto spec = ParsePipelineSpec(kGood);
  ASSERT_TRUE(spec.ok());
  // orders' schema says amount is a string: `amount > 100` cannot be right.
  auto types = [](const std::string& topic) {
    FieldTypes t;
    if (topic == "orders") t = {{"amount", model::ValueType::kString}, {"ts", model::ValueType::kInt}};
    return t;
  };
  Status st = ValidatePipeline(*spec, types);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("line 11, column 16: operators[0].condition: 1:", 0), 0u) << st.message();
  // With the right types it passes; and the event-time expression is checked too.
  auto good = [](const std::string&) { return FieldTypes{{"amount", model::ValueType::kInt}}; };
  EXPECT_TRUE(ValidatePipeline(*spec, good).ok());
  auto bad_time = [](const std::string&) { return FieldTypes{{"ts", model::ValueType::kBool}}; };
  std::string p = kGood;
  p.replace(p.find("event_time: ts"), 14, "event_time: ts + 1");
  auto spec2 = ParsePipelineSpec(p);
  ASSERT_TRUE(spec2.ok());
  Status st2 = ValidatePipeline(*spec2, bad_time);
  EXPECT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("sources[0].event_time"), std::string::npos) << st2.message();
}

TEST(PipelineSpecTest, RefusesCyclesDuplicatesAndMissingOutputs) {
  EXPECT_NE(ErrorOf(R"(name: p
sources: [{name: s, topic: t}]
operators:
  - {name: a, type: filter, input: b, condition: "true"}
  - {name: b, type: filter, input: a, condition: "true"}
outputs: [{name: o, input: a, type: discard}]
)").find("cycle"), std::string::npos);
  EXPECT_NE(ErrorOf(R"(name: p
sources: [{name: s, topic: t}, {name: s, topic: u}]
outputs: [{name: o, input: s, type: discard}]
)").find("already used"), std::string::npos);
  EXPECT_NE(ErrorOf("name: p\nsources: [{name: s, topic: t}]\n").find("outputs: required field is missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf("name: 'bad name'\nsources: []\noutputs: []\n").find("not a valid name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("name: p\nsources: [{name: s, topic: t}\n").find("line"), std::string::npos);
}

// An output topic that is also a source topic made one event loop round forever (thousands of
// records a second); so did an error or late output written back to a source topic.
TEST(PipelineSpecTest, RefusesOutputsWrittenToTheirOwnSourceTopic) {
  std::string e = ErrorOf(R"(name: p
sources: [{name: s, topic: t}]
operators:
  - {name: f, type: filter, input: s, condition: "true"}
outputs: [{name: o, input: f, topic: t}]
)");
  EXPECT_NE(e.find("line 5"), std::string::npos) << e;
  EXPECT_NE(e.find("outputs[0]: output 'o' writes topic 't', which source 's' reads"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("cycle"), std::string::npos) << e;
  e = ErrorOf("name: p\nsources: [{name: s, topic: t}]\nerrors_topic: t\n"
              "outputs: [{name: o, input: s, topic: u}]\n");
  EXPECT_NE(e.find("errors_topic: the error output writes topic 't'"), std::string::npos) << e;
  e = ErrorOf("name: p\nsources: [{name: s, topic: p.late}]\n"
              "outputs: [{name: o, input: s, topic: u}]\n");
  EXPECT_NE(e.find("the late output writes topic 'p.late', which source 's' reads"),
            std::string::npos)
      << e;
  // (Exchange topics, written and read by design, stay allowed: see the next test.)
}

TEST(PipelineSpecTest, StatefulOperatorsGetAKeyedExchangeWithParallelism) {
  auto one = ParsePipelineSpec(kGood);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->sources.size(), 1u);
  EXPECT_EQ(one->outputs.size(), 1u);

  std::string p = kGood;
  p.replace(p.find("sources:"), 8, "parallelism: 4\nsources:");
  EXPECT_EQ(ErrorOf(p), "ok");
  auto four = ParsePipelineSpec(p);
  ASSERT_TRUE(four.ok());
  // The window reads an exchange source; the filter's rows go to the exchange output, keyed by
  // the window's key.
  ASSERT_EQ(four->sources.size(), 2u);
  const SourceSpec& in = four->sources[1];
  EXPECT_EQ(in.name, "per_user:in0");
  EXPECT_EQ(in.exchange_of, "big");
  EXPECT_EQ(in.topic, "_exchange.big-orders.per_user.0");
  EXPECT_EQ(four->operators[1].inputs[0], "per_user:in0");
  ASSERT_EQ(four->outputs.size(), 2u);
  const OutputSpec& out = four->outputs[1];
  EXPECT_EQ(out.kind, OutputKind::kExchange);
  EXPECT_EQ(out.input, "big");
  EXPECT_EQ(out.topic, in.topic);
  ASSERT_TRUE(out.key.has_value());
  EXPECT_EQ(out.key->text, "user");

  // A window over key_by rows is exchanged by the row's key; a global window to one task.
  auto keyed = ParsePipelineSpec(R"(name: k
parallelism: 2
sources: [{name: s, topic: t}]
operators:
  - {name: kb, type: key_by, input: s, key: user}
  - {name: w, type: window, input: kb, window: {kind: tumbling, size: 1s}, aggregates: {n: count(*)}}
  - {name: g, type: window, input: s, window: {kind: tumbling, size: 1s}, aggregates: {n: count(*)}}
outputs: [{name: o, input: w, type: discard}, {name: o2, input: g, type: discard}]
)");
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  ASSERT_EQ(keyed->outputs.size(), 4u);
  EXPECT_TRUE(keyed->outputs[2].exchange_row_key);
  EXPECT_FALSE(keyed->outputs[2].key.has_value());
  EXPECT_FALSE(keyed->outputs[3].exchange_row_key);
  EXPECT_FALSE(keyed->outputs[3].key.has_value());
  EXPECT_TRUE(StreamIsKeyed(*keyed, "w:in0"));
  EXPECT_FALSE(StreamIsKeyed(*keyed, "g:in0"));
}

TEST(PipelineSpecTest, ParsesDurations) {
  EXPECT_EQ(ParseDurationMs("250"), 250);
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("3s"), 3000);
  EXPECT_EQ(ParseDurationMs("2m"), 120000);
  EXPECT_EQ(ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(ParseDurationMs("1d"), 86400000);
  EXPECT_FALSE(ParseDurationMs("s"));
  EXPECT_FALSE(ParseDurationMs("5 s"));
  EXPECT_FALSE(ParseDurationMs("-5s"));
  EXPECT_EQ(ParseDurationMs("365000d"), kMaxDurationMs);
  EXPECT_FALSE(ParseDurationMs("365001d"));
  EXPECT_FALSE(ParseDurationMs("999999999999999d"));  // overflowed int64 before
}

TEST(PipelineSpecTest, ParsesSizes) {
  EXPECT_EQ(ParseSizeBytes("65536"), 65536);
  EXPECT_EQ(ParseSizeBytes("100B"), 100);
  EXPECT_EQ(ParseSizeBytes("512KiB"), 512 * 1024);
  EXPECT_EQ(ParseSizeBytes("64MiB"), 64LL << 20);
  EXPECT_EQ(ParseSizeBytes("2GiB"), 2LL << 30);
  EXPECT_EQ(ParseSizeBytes("3MB"), 3'000'000);
  EXPECT_FALSE(ParseSizeBytes("MiB"));
  EXPECT_FALSE(ParseSizeBytes("64 MiB"));
  EXPECT_FALSE(ParseSizeBytes("64mib"));
  EXPECT_FALSE(ParseSizeBytes("-1"));
}

}  // namespace
}  // namespace sluice::stream
