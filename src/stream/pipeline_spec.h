// PipelineSpec: the declarative form of a pipeline (YAML or JSON) — sources, operators and
// outputs forming a DAG — parsed with the position of every element so that errors name the
// line, the column and the field. It is the intermediate form rules compile into; the format is
// documented in docs/pipelines.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sluice::stream {

// Where an element came from: "line 4, column 7: operators[1].condition".
struct SpecLoc {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string path;
  std::string Describe() const;
};

// A string from the spec (usually an expression) with its position.
struct SpecText {
  std::string text;
  SpecLoc loc;
};

// Where a source starts. kCommitted, kEarliest and kLatest continue from the pipeline's committed
// position when it has one and differ only when it has none (Kafka's auto.offset.reset);
// kOffset and kTime always start where they say.
enum class StartPosition { kCommitted, kEarliest, kLatest, kOffset, kTime };

struct SourceSpec {
  std::string name;  // stream name operators refer to
  std::string topic;
  StartPosition start = StartPosition::kCommitted;
  int64_t start_value = 0;  // offset (kOffset) or timestamp ms (kTime)
  // Event time: an expression over the event (a number of ms, or a timestamp); empty means
  // the record timestamp. processing_time: the wall clock at arrival instead.
  std::optional<SpecText> event_time;
  bool processing_time = false;
  int64_t max_out_of_orderness_ms = 0;
  int64_t idle_timeout_ms = 30'000;
  // Adds _key, _timestamp, _partition and _offset members to each event.
  bool metadata = false;
  // Set by the parser, not written by users: the source is the table of enrich operators
  // (EnrichSpec::table). Every task reads all its partitions from the start, tombstones arrive
  // as deletions, and other operators may not read it.
  bool lookup_table = false;
  // Set by the planner (InsertExchanges), not written by users: the source reads the exchange
  // topic that carries stream `exchange_of` partitioned by key between the tasks.
  std::string exchange_of;
  SpecLoc loc;
};

enum class OperatorKind {
  kFilter,   // condition
  kMap,      // fields: the output is exactly these fields
  kDerive,   // fields: the event plus these fields (added or replaced)
  kFlatten,  // field (an array) -> one event per item, the item stored under `as`
  kKeyBy,    // key expression
  kDedup,    // key expression, within_ms
  kRoute,    // routes: name -> condition; downstream refers to "<op>.<route>"
  kUnion,    // inputs
  kWindow,   // window kind, size/slide/gap, key, aggregates, allowed lateness
  kTopN,     // partition_by, order_by, n, order, with_ties
  kJoin,     // inputs [left, right], join: window / interval / temporal / regular
  kEnrich,   // input (+ the table source), enrich: lookup in a topic table or PostgreSQL
  kAggregate,  // key, aggregates: unbounded GROUP BY, an updated result per key and batch
};

enum class WindowKind { kTumbling, kHopping, kSession };

struct AggregateItem {
  std::string name;      // output field
  std::string function;  // count, sum, ...
  std::optional<SpecText> argument;  // none for count(*)
  std::vector<double> params;        // constants after the input: approx_percentile(x, 0.99)
  SpecLoc loc;
};

struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;   // tumbling, hopping
  int64_t slide_ms = 0;  // hopping
  int64_t gap_ms = 0;    // session
  int64_t allowed_lateness_ms = 0;
  // Early results: emit the current value of open windows every this many ms of event time
  // (0: only when a window closes).
  int64_t early_every_ms = 0;
};

enum class JoinKind { kWindow, kInterval, kTemporal, kRegular, kLifetime };
enum class JoinType { kInner, kLeft };

// `join:` of a join operator (docs/pipelines.md, "Joins").
struct JoinSpec {
  JoinKind kind = JoinKind::kWindow;
  JoinType type = JoinType::kInner;
  SpecText left_key;   // expression over the left event
  SpecText right_key;  // expression over the right event
  WindowSpec window;   // kWindow: tumbling or hopping
  // kInterval: right.time BETWEEN left.time + lower_ms AND left.time + upper_ms (inclusive).
  int64_t lower_ms = 0;
  int64_t upper_ms = 0;
  // kLifetime: a left event opens a window [left.time, until] (inclusive) for its key; the right
  // events inside it are folded into `aggregates`, emitted when the watermark passes `until`.
  std::optional<SpecText> until;
  std::vector<AggregateItem> aggregates;
  // Member names of the joined row (default: the two input stream names).
  std::string left_as;
  std::string right_as;
};

enum class LookupKind { kTable, kPostgres };

// An enrich operator (docs/pipelines.md, "Enrichment"): the event plus member `as` holding the
// row found for key `on` (NULL for `mode: left` when there is none).
struct EnrichSpec {
  LookupKind kind = LookupKind::kTable;
  JoinType type = JoinType::kInner;  // `mode: inner | left`
  SpecText on;                       // the lookup key, an expression over the event
  std::string as;                    // member name of the row (default: the operator's name)
  // kTable: the source (read as a table: latest row per key) and the key of its rows (none: the
  // record key, which needs the source's `metadata: true`). `lookup: {topic: T}` is shorthand for
  // a source "<operator>_table" reading T from the start with metadata.
  std::string table;
  std::string topic;  // the shorthand's topic (empty when `table` names a source)
  std::optional<SpecText> table_key;
  // kPostgres: libpq connection string and a query with one parameter ($1 = the key as text).
  std::string dsn;
  std::string query;
  int64_t cache_ttl_ms = 60'000;  // found and not-found results alike
  int64_t cache_size = 100'000;   // entries (least recently used evicted)
  int64_t timeout_ms = 5'000;     // per query, connecting included
};

struct OperatorSpec {
  std::string name;
  OperatorKind kind = OperatorKind::kFilter;
  std::vector<std::string> inputs;
  std::optional<SpecText> condition;                  // filter
  std::vector<std::pair<std::string, SpecText>> fields;  // map, derive (in order)
  std::optional<SpecText> key;                        // key_by, dedup, window (optional)
  std::string key_name = "key";                       // window: name of the key field in results
  std::string field;                                  // flatten: the array path
  std::string as;                                     // flatten: where the item goes
  int64_t within_ms = 0;                              // dedup
  std::vector<std::pair<std::string, SpecText>> routes;  // route
  WindowSpec window;
  std::vector<AggregateItem> aggregates;
  std::optional<SpecText> partition_by;  // top_n (none: one partition per event time)
  std::optional<SpecText> order_by;      // top_n
  int64_t n = 1;                         // top_n
  bool descending = true;                // top_n: order: desc (default) | asc
  bool with_ties = false;                // top_n
  JoinSpec join;                                      // join
  EnrichSpec enrich;                                  // enrich
  // Keyed state (docs/pipelines.md, "State"). state_ttl: aggregates and regular and temporal
  // joins drop a key not updated for this long of event time (0: never). state_memory: bytes of
  // an aggregate's, a dedup's or a regular or temporal join's keyed state kept in memory before
  // the coldest keys spill to disk (0: no limit).
  int64_t state_ttl_ms = 0;
  int64_t state_memory_bytes = 0;
  SpecLoc loc;
};

// kExchange is planned, not written by users: rows re-partitioned by key to the task that owns
// the key (docs/pipelines.md, "Keyed exchange").
enum class OutputKind { kTopic, kDiscard, kExchange };

struct OutputSpec {
  std::string name;
  std::string input;
  OutputKind kind = OutputKind::kTopic;
  std::string topic;
  std::optional<SpecText> key;  // expression for the record key (string form); none: null key
  // kExchange without `key`: partition by the row's key (set by key_by) when true, else send
  // every row to partition 0 (a global window or top-n).
  bool exchange_row_key = false;
  SpecLoc loc;
};

enum class Delivery { kExactlyOnce, kAtLeastOnce };

struct PipelineSpec {
  std::string name;
  int32_t parallelism = 1;
  // exactly_once: outputs are held until the checkpoint that covers them is durable, then
  // appended (readers see them about checkpoint_interval later); at_least_once: appended every
  // cycle, positions committed about once a second, state not checkpointed.
  Delivery delivery = Delivery::kExactlyOnce;
  int64_t checkpoint_interval_ms = 1000;
  std::vector<SourceSpec> sources;
  std::vector<OperatorSpec> operators;
  std::vector<OutputSpec> outputs;
  std::string errors_topic;  // default "<name>.errors"
  std::string late_topic;    // default "<name>.late"
  std::string text;          // the document as submitted
};

// Parses and structurally validates a spec: required fields, types, known kinds, unique names,
// inputs that exist, no cycles, durations and sizes in range. Expressions are only compiled
// when the plan is built (PipelinePlan::Build), which reports their errors with the same
// positions. Errors: kInvalidArgument "line L, column C: <path>: <what is wrong>".
Result<PipelineSpec> ParsePipelineSpec(std::string_view text);

// The longest duration a spec (or a CLI flag) may give: 365,000 days, about 1000 years. With
// event times limited to the years 1 to 9999 (operator.h), time arithmetic cannot overflow.
inline constexpr int64_t kMaxDurationMs = 365'000LL * 86'400'000;
// "1500", "1500ms", "5s", "2m", "1h", "1d" -> milliseconds. nullopt when malformed or longer
// than kMaxDurationMs.
std::optional<int64_t> ParseDurationMs(std::string_view text);
// "65536", "512KiB", "64MiB", "1GiB" (also KB, MB, GB = powers of 1000) -> bytes. nullopt when
// malformed.
std::optional<int64_t> ParseSizeBytes(std::string_view text);

std::string_view OperatorKindName(OperatorKind k);
std::string_view JoinKindName(JoinKind k);

// Whether rows of `stream` carry a key set upstream (key_by, a join, a keyed window).
bool StreamIsKeyed(const PipelineSpec& spec, const std::string& stream);
// The sources whose rows can reach `stream` (through operators and exchanges).
std::vector<std::string> UpstreamSources(const PipelineSpec& spec, const std::string& stream);
// Topic of the exchange that feeds input `input` of operator `op`.
std::string ExchangeTopic(std::string_view pipeline, std::string_view op, size_t input);

}  // namespace sluice::stream
