// Enrich operators: each event gets member `as` = the row found for its key in a lookup table —
// a table materialised from a compacted topic (a second input), or an external table queried
// through a LookupClient (PostgreSQL) off the shard with a cache. docs/pipelines.md
// ("Enrichment") documents them for users.
//
// Shared rules:
//  1. Lookups are in processing time: an event sees the table as it is when the event is
//     processed (as Flink's lookup join), not as of its event time (use a temporal join for that).
//  2. The result is the event plus member `as` (replacing a member of that name in place; an
//     event that is not an object keeps only `as`, as derive does); with `mode: left` an event
//     without a row gets NULL, with `mode: inner` it is dropped. Keys that are NULL never match.
//     A key expression that fails sends the event to the error output.
//  3. Results keep the event's time and key.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "stream/lookup_cache.h"
#include "stream/operator.h"
#include "stream/pipeline_spec.h"
#include "stream/window_operator.h"  // StringMap

namespace sluice::stream {

// The parts both kinds share: the key of an event, the result row.
class EnrichOperator : public Operator {
 protected:
  enum class KeyStatus { kOk, kNull, kError };

  EnrichOperator(std::string name, TaskContext& ctx, const EnrichSpec& spec,
                 std::unique_ptr<rules::Expression> on, int num_inputs);
  // Evaluates `on` for `row` into `value`, encodes it into `encoded`. `as_string`: the key is
  // compared with record keys, so it is converted to their string form first (strings as they
  // are, other values as JSON text, as outputs write keys). kError was reported already.
  KeyStatus EvalKey(const Row& row, bool as_string, model::Value& value, std::string& encoded);
  // Appends the result for `row` to out_: with the row in `bytes` (EncodeValue), or none
  // (nullptr: NULL for left, nothing for inner).
  void AddResult(const Row& row, const std::string* bytes);
  void FlushOut();
  bool left_outer() const { return type_ == JoinType::kLeft; }

  JoinType type_;
  std::string as_;
  std::unique_ptr<rules::Expression> on_;
  std::vector<Row> out_;
  std::string scratch_;
  uint64_t matched_ = 0;
  uint64_t unmatched_ = 0;
};

// `lookup: {table: SOURCE}`: input 0 is the event stream, input 1 the table's source (a
// compacted topic read from its start by every task). Table rows upsert their key; a deletion
// (a NULL value: a tombstone, or JSON null) removes it. Keys come from `lookup.key` over the row,
// or else from the record key (`_key` of a metadata source; the stored row is then the record's
// value without the metadata members).
// Invariants:
//  1. table_ holds the latest row per key, nothing else: memory is bounded by the number of live
//     keys in the topic (plus their row sizes), reported by StateBytes().
//  2. The output watermark is the event input's: the table is processing-time state and an idle
//     table topic must not hold windows downstream back.
//  3. The table is part of checkpoints (SaveState), together with the table source's positions.
class TableEnrichOperator final : public EnrichOperator {
 public:
  static constexpr int kEvents = 0;
  static constexpr int kTable = 1;
  // `table_key`: null keys rows by their record key.
  TableEnrichOperator(std::string name, TaskContext& ctx, const EnrichSpec& spec,
                      std::unique_ptr<rules::Expression> on,
                      std::unique_ptr<rules::Expression> table_key);
  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return state_bytes_; }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;
  size_t table_size() const { return table_.size(); }

 protected:
  void OnWatermark(int64_t) override {}
  void OnInputWatermark(int input, int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  static constexpr size_t kEntryOverhead = 48;
  void PushTable(const Row& row);

  std::unique_ptr<rules::Expression> table_key_;
  StringMap<std::string> table_;  // encoded key -> row (EncodeValue)
  size_t state_bytes_ = 0;
  uint64_t upserts_ = 0;
  uint64_t deletes_ = 0;
};

// The result of one lookup in an external table.
struct LookupResult {
  enum class Kind { kFound, kMissing, kError };
  Kind kind = Kind::kMissing;
  std::string data;  // kFound: the row (EncodeValue bytes of an object); kError: the reason
};

// A blocking client of an external table (PostgresLookup). Used by one thread at a time: only
// inside BlockingWork::Run on a blocking-pool thread. Implementations must not throw.
class LookupClient {
 public:
  virtual ~LookupClient() = default;
  // One result per key; `params[i]` is key i as the query parameter (text). `results` is
  // cleared first.
  virtual void Lookup(std::span<const std::string> params, std::vector<LookupResult>& results) = 0;
};

// `lookup: {postgres: ...}`: looks keys up through a LookupClient, never on the shard.
// Push emits events whose key is cached at once; from the first miss on, events are buffered
// in arrival order (later ones queue behind it even when cached) and their missing keys wait
// for TakeBlockingWork. FinishBlockingWork caches the results (found and not-found alike, for
// cache_ttl) and emits the buffered events it can, in order. A failed or timed-out query sends
// its events to the error output with the reason and is not cached, so the next event with that
// key asks again.
// Invariants:
//  1. Output order equals input order (per operator): pending_ is emitted only from its front.
//  2. While pending_ is not empty the watermark is held (held_wm_) and sent after the last
//     buffered event, so no event comes out behind a watermark sent before it.
//  3. Every key of an unresolved pending event is in requested_ (queued in to_fetch_ or in the
//     work handed out); results of the current buffering episode stay in resolved_ until pending_
//     empties, so eviction from a small cache cannot make an event wait for its key twice.
//  4. At most one BlockingWork is out at a time (the client is not shared).
//  5. pending_ is empty whenever the task checkpoints (see Operator::TakeBlockingWork), so the
//     operator has no checkpointed state; the cache is rebuilt after a restart.
class LookupEnrichOperator final : public EnrichOperator {
 public:
  // Keys per BlockingWork: bounds how long one trip to the pool takes.
  static constexpr size_t kMaxKeysPerWork = 256;

  LookupEnrichOperator(std::string name, TaskContext& ctx, const EnrichSpec& spec,
                       std::unique_ptr<rules::Expression> on, std::unique_ptr<LookupClient> client);
  ~LookupEnrichOperator() override;
  void Push(int input, std::span<Row> rows) override;
  std::unique_ptr<BlockingWork> TakeBlockingWork() override;
  void FinishBlockingWork(std::unique_ptr<BlockingWork> work) override;
  size_t StateBytes() const override { return cache_.bytes(); }
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;
  size_t buffered() const { return pending_.size(); }

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;

 private:
  class Fetch;
  struct Pending {
    Row row;
    std::string key;  // encoded; empty: NULL key
    bool resolved = false;
    LookupResult result;
  };
  // Resolves `p` from the current episode's results or the cache; false when it must wait.
  bool Resolve(Pending& p);
  void Request(const std::string& key, const model::Value& value);
  void EmitResolvedPrefix();

  std::unique_ptr<LookupClient> client_;
  LookupCache cache_;
  std::deque<Pending> pending_;
  std::vector<std::pair<std::string, std::string>> to_fetch_;  // (encoded key, parameter)
  StringMap<bool> requested_;
  StringMap<LookupResult> resolved_;
  bool work_out_ = false;
  int64_t held_wm_ = kNoWatermark;
  uint64_t cache_hits_ = 0;
  uint64_t cache_misses_ = 0;
  uint64_t queries_ = 0;
  uint64_t query_errors_ = 0;
  uint64_t buffered_total_ = 0;
};

// Builds the enrich operator of `spec`. `make_client` makes the LookupClient of a postgres
// lookup (null: PostgresLookup). Errors: the expressions' compile errors.
using LookupClientFactory = std::function<std::unique_ptr<LookupClient>(const EnrichSpec&)>;
Result<std::unique_ptr<Operator>> MakeEnrichOperator(const OperatorSpec& spec, TaskContext& ctx,
                                                    const LookupClientFactory& make_client);

}  // namespace sluice::stream
