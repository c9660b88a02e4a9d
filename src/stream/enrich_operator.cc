// Enrich operators: shared key/result handling, the topic table, and external lookups with a
// cache and the async hook.
#include "stream/enrich_operator.h"

#include <fmt/format.h>

#include "base/check.h"
#include "codec/value_json.h"
#include "stream/operators.h"
#include "stream/postgres_lookup.h"
#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

namespace {

// The members a source with `metadata: true` adds (pipeline_task.cc).
bool IsMetadataMember(std::string_view name) {
  return name == "_key" || name == "_timestamp" || name == "_partition" || name == "_offset";
}

// A deletion on the table side: a NULL event (a tombstone), or what a metadata source makes of
// one ({"value": null, "_key": ...}).
bool IsDeletion(const Value& v) {
  if (v.is_null()) return true;
  if (!v.is_object()) return false;
  const Value* value = v.Find("value");
  return value != nullptr && value->is_null() && v.Find("_key") != nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EnrichOperator

EnrichOperator::EnrichOperator(std::string name, TaskContext& ctx, const EnrichSpec& spec,
                               std::unique_ptr<rules::Expression> on, int num_inputs)
    : Operator(std::move(name), ctx, num_inputs),
      type_(spec.type),
      as_(spec.as),
      on_(std::move(on)) {}

EnrichOperator::KeyStatus EnrichOperator::EvalKey(const Row& row, bool as_string, Value& value,
                                                  std::string& encoded) {
  value = on_->Evaluate(row.value, ctx_.eval);
  if (!ctx_.eval.error.empty()) {
    std::string reason = std::move(ctx_.eval.error);
    ctx_.eval.error.clear();
    ReportError(row, fmt::format("on: {}", reason));
    return KeyStatus::kError;
  }
  if (value.is_null()) return KeyStatus::kNull;
  if (as_string && !value.is_string()) {
    std::string text;
    codec::AppendValueJson(text, value);
    value = ctx_.arena.CopyStringValue(text);
  }
  encoded.clear();
  EncodeValue(value, encoded);
  return KeyStatus::kOk;
}

void EnrichOperator::AddResult(const Row& row, const std::string* bytes) {
  Value found = Value::Null();
  if (bytes != nullptr) {
    std::string_view in = *bytes;
    auto v = DecodeValue(in, ctx_.arena);
    if (!v.ok()) {
      ReportError(row, fmt::format("lookup row: {}", v.status().message()));
      return;
    }
    found = *v;
    ++matched_;
  } else {
    ++unmatched_;
    if (!left_outer()) return;
  }
  std::span<const Member> base;
  if (row.value.is_object()) base = row.value.members();
  auto members = ctx_.arena.AllocateArray<Member>(base.size() + 1);
  std::copy(base.begin(), base.end(), members.begin());
  size_t n = base.size();
  size_t slot = n;
  for (size_t i = 0; i < n; ++i) {
    if (members[i].name == as_) {
      slot = i;
      break;
    }
  }
  if (slot == n) members[n++].name = as_;
  members[slot].value = found;
  Row out = row;
  out.value = Value::Object(members.first(n));
  out_.push_back(out);
}

void EnrichOperator::FlushOut() {
  if (out_.empty()) return;
  Emit(out_);
  out_.clear();
}

// ---------------------------------------------------------------------------------------------
// TableEnrichOperator

TableEnrichOperator::TableEnrichOperator(std::string name, TaskContext& ctx,
                                         const EnrichSpec& spec,
                                         std::unique_ptr<rules::Expression> on,
                                         std::unique_ptr<rules::Expression> table_key)
    : EnrichOperator(std::move(name), ctx, spec, std::move(on), 2),
      table_key_(std::move(table_key)) {}

void TableEnrichOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  if (input == kTable) {
    for (const Row& row : rows) PushTable(row);
    return;
  }
  Value key;
  for (const Row& row : rows) {
    KeyStatus ks = EvalKey(row, /*as_string=*/table_key_ == nullptr, key, scratch_);
    if (ks == KeyStatus::kError) continue;
    const std::string* found = nullptr;
    if (ks == KeyStatus::kOk) {
      auto it = table_.find(scratch_);
      if (it != table_.end()) found = &it->second;
    }
    AddResult(row, found);
  }
  FlushOut();
}

void TableEnrichOperator::PushTable(const Row& row) {
  const bool deletion = IsDeletion(row.value);
  Value key;
  if (table_key_) {
    key = table_key_->Evaluate(row.value, ctx_.eval);
    if (!ctx_.eval.error.empty()) {
      std::string reason = std::move(ctx_.eval.error);
      ctx_.eval.error.clear();
      ReportError(row, fmt::format("lookup.key: {}", reason));
      return;
    }
  } else if (const Value* k = row.value.is_object() ? row.value.Find("_key") : nullptr) {
    key = *k;
  }
  if (key.is_null()) {
    ReportError(row, table_key_ ? "lookup table row: lookup.key is NULL"
                                : "lookup table record has no key");
    return;
  }
  scratch_.clear();
  EncodeValue(key, scratch_);
  auto it = table_.find(scratch_);
  if (deletion) {
    ++deletes_;
    if (it != table_.end()) {
      state_bytes_ -= kEntryOverhead + it->first.size() + it->second.size();
      table_.erase(it);
    }
    return;
  }
  ++upserts_;
  Value stored = row.value;
  if (!table_key_ && row.value.is_object()) {
    // Keyed by the record key: the row is the record's value, without the metadata members.
    auto base = row.value.members();
    auto members = ctx_.arena.AllocateArray<Member>(base.size());
    size_t n = 0;
    for (const Member& m : base) {
      if (!IsMetadataMember(m.name)) members[n++] = m;
    }
    stored = Value::Object(members.first(n));
  }
  std::string bytes;
  EncodeValue(stored, bytes);
  if (it == table_.end()) {
    state_bytes_ += kEntryOverhead + scratch_.size() + bytes.size();
    table_.emplace(scratch_, std::move(bytes));
  } else {
    state_bytes_ += bytes.size();
    state_bytes_ -= it->second.size();
    it->second = std::move(bytes);
  }
}

void TableEnrichOperator::OnInputWatermark(int input, int64_t wm) {
  if (input == kEvents) EmitWatermark(wm);
}

std::vector<std::pair<std::string, uint64_t>> TableEnrichOperator::Counters() const {
  return {{"table_keys", table_.size()},
          {"table_upserts", upserts_},
          {"table_deletes", deletes_},
          {"matched", matched_},
          {"unmatched", unmatched_}};
}

void TableEnrichOperator::SaveState(StateWriter& w) const {
  w.U64(table_.size());
  for (const auto& [key, row] : table_) {
    w.Bytes(key);
    w.Bytes(row);
  }
}

Status TableEnrichOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  uint64_t n = r.Count(2);
  table_.clear();
  state_bytes_ = 0;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string key(r.Bytes());
    std::string row(r.Bytes());
    state_bytes_ += kEntryOverhead + key.size() + row.size();
    table_.insert_or_assign(std::move(key), std::move(row));
  }
  return r.status("lookup table");
}

// ---------------------------------------------------------------------------------------------
// LookupEnrichOperator

// One trip to the blocking pool: keys to look up and, after Run, their results.
class LookupEnrichOperator::Fetch final : public BlockingWork {
 public:
  explicit Fetch(LookupClient& client) : client_(client) {}
  void Run() override { client_.Lookup(params, results); }

  std::vector<std::string> keys;  // encoded
  std::vector<std::string> params;
  std::vector<LookupResult> results;

 private:
  LookupClient& client_;
};

LookupEnrichOperator::LookupEnrichOperator(std::string name, TaskContext& ctx,
                                           const EnrichSpec& spec,
                                           std::unique_ptr<rules::Expression> on,
                                           std::unique_ptr<LookupClient> client)
    : EnrichOperator(std::move(name), ctx, spec, std::move(on), 1),
      client_(std::move(client)),
      cache_(static_cast<size_t>(spec.cache_size), spec.cache_ttl_ms) {}

LookupEnrichOperator::~LookupEnrichOperator() = default;

void LookupEnrichOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  Value key;
  for (const Row& row : rows) {
    KeyStatus ks = EvalKey(row, /*as_string=*/false, key, scratch_);
    if (ks == KeyStatus::kError) continue;
    Pending p;
    p.row = row;
    if (ks == KeyStatus::kNull) {
      p.resolved = true;  // NULL never matches: no lookup
      p.result.kind = LookupResult::Kind::kMissing;
    } else {
      p.key = scratch_;
      p.resolved = Resolve(p);
    }
    if (pending_.empty() && p.resolved) {
      // Nothing waits ahead of it: emit now.
      bool found = p.result.kind == LookupResult::Kind::kFound;
      AddResult(p.row, found ? &p.result.data : nullptr);
      continue;
    }
    if (!p.resolved) Request(p.key, key);
    ++buffered_total_;
    pending_.push_back(std::move(p));
  }
  FlushOut();
}

bool LookupEnrichOperator::Resolve(Pending& p) {
  auto r = resolved_.find(p.key);
  if (r != resolved_.end()) {
    ++cache_hits_;
    p.result = r->second;
    return true;
  }
  if (requested_.contains(p.key)) {
    ++cache_hits_;  // its key is being fetched already: served without a query of its own
    return false;
  }
  if (const LookupCache::Entry* e = cache_.Get(p.key, ctx_.processing_time_ms)) {
    ++cache_hits_;
    p.result.kind = e->found ? LookupResult::Kind::kFound : LookupResult::Kind::kMissing;
    p.result.data = e->bytes;
    return true;
  }
  ++cache_misses_;
  return false;
}

void LookupEnrichOperator::Request(const std::string& key, const Value& value) {
  if (!requested_.emplace(key, true).second) return;
  std::string param;
  if (value.is_string()) {
    param = std::string(value.string_value());
  } else {
    codec::AppendValueJson(param, value);
  }
  to_fetch_.emplace_back(key, std::move(param));
}

std::unique_ptr<BlockingWork> LookupEnrichOperator::TakeBlockingWork() {
  if (work_out_ || to_fetch_.empty()) return nullptr;
  auto work = std::make_unique<Fetch>(*client_);
  size_t n = std::min(to_fetch_.size(), kMaxKeysPerWork);
  for (size_t i = 0; i < n; ++i) {
    work->keys.push_back(std::move(to_fetch_[i].first));
    work->params.push_back(std::move(to_fetch_[i].second));
  }
  to_fetch_.erase(to_fetch_.begin(), to_fetch_.begin() + static_cast<ptrdiff_t>(n));
  queries_ += n;
  work_out_ = true;
  return work;
}

void LookupEnrichOperator::FinishBlockingWork(std::unique_ptr<BlockingWork> work) {
  auto* fetch = static_cast<Fetch*>(work.get());
  SLUICE_CHECK(work_out_, "operator {}: blocking work finished that was not handed out", name_);
  work_out_ = false;
  if (fetch->results.size() != fetch->keys.size()) {
    // A client that broke its contract: fail the keys rather than guess.
    fetch->results.assign(fetch->keys.size(),
                          LookupResult{LookupResult::Kind::kError, "lookup client gave no result"});
  }
  for (size_t i = 0; i < fetch->keys.size(); ++i) {
    std::string& key = fetch->keys[i];
    LookupResult& r = fetch->results[i];
    if (r.kind == LookupResult::Kind::kError) {
      ++query_errors_;
    } else {
      cache_.Put(key, r.kind == LookupResult::Kind::kFound, r.data, ctx_.processing_time_ms);
    }
    requested_.erase(key);
    resolved_.insert_or_assign(std::move(key), std::move(r));
  }
  for (Pending& p : pending_) {
    if (p.resolved) continue;
    auto it = resolved_.find(p.key);
    if (it == resolved_.end()) continue;
    p.result = it->second;
    p.resolved = true;
  }
  EmitResolvedPrefix();
}

void LookupEnrichOperator::EmitResolvedPrefix() {
  while (!pending_.empty() && pending_.front().resolved) {
    Pending& p = pending_.front();
    switch (p.result.kind) {
      case LookupResult::Kind::kFound: AddResult(p.row, &p.result.data); break;
      case LookupResult::Kind::kMissing: AddResult(p.row, nullptr); break;
      case LookupResult::Kind::kError:
        ReportError(p.row, fmt::format("lookup: {}", p.result.data));
        break;
    }
    pending_.pop_front();
  }
  FlushOut();
  if (pending_.empty()) {
    resolved_.clear();
    if (held_wm_ != kNoWatermark) {
      int64_t wm = std::exchange(held_wm_, kNoWatermark);
      EmitWatermark(wm);
    }
  }
}

void LookupEnrichOperator::OnWatermark(int64_t wm) {
  if (pending_.empty()) {
    EmitWatermark(wm);
  } else {
    held_wm_ = wm;
  }
}

void LookupEnrichOperator::SaveState(StateWriter&) const {
  SLUICE_CHECK(pending_.empty(), "operator {}: checkpoint with {} events waiting for lookups",
               name_, pending_.size());
}

std::vector<std::pair<std::string, uint64_t>> LookupEnrichOperator::Counters() const {
  return {{"cache_hits", cache_hits_},
          {"cache_misses", cache_misses_},
          {"cache_entries", cache_.size()},
          {"cache_evictions", cache_.evictions()},
          {"cache_expirations", cache_.expirations()},
          {"queries", queries_},
          {"query_errors", query_errors_},
          {"buffered", pending_.size()},
          {"buffered_total", buffered_total_},
          {"matched", matched_},
          {"unmatched", unmatched_}};
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Operator>> MakeEnrichOperator(const OperatorSpec& spec, TaskContext& ctx,
                                                    const LookupClientFactory& make_client) {
  const EnrichSpec& e = spec.enrich;
  auto on = CompileSpecExpression(e.on);
  if (!on.ok()) return on.status();
  if (e.kind == LookupKind::kTable) {
    std::unique_ptr<rules::Expression> key;
    if (e.table_key) {
      auto k = CompileSpecExpression(*e.table_key);
      if (!k.ok()) return k.status();
      key = std::move(*k);
    }
    return std::unique_ptr<Operator>(
        std::make_unique<TableEnrichOperator>(spec.name, ctx, e, std::move(*on), std::move(key)));
  }
  std::unique_ptr<LookupClient> client = make_client ? make_client(e) : MakePostgresLookup(e);
  return std::unique_ptr<Operator>(std::make_unique<LookupEnrichOperator>(
      spec.name, ctx, e, std::move(*on), std::move(client)));
}

}  // namespace sluice::stream
