// AggregateOperator (the unbounded GROUP BY) and CompileAggregates.
#include "stream/aggregate_operator.h"

#include <fmt/format.h>

#include <limits>

#include "stream/operators.h"
#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

Result<std::vector<WindowOperator::Aggregate>> CompileAggregates(
    const std::vector<AggregateItem>& items, const rules::CompileOptions& options) {
  std::vector<WindowOperator::Aggregate> out;
  for (const AggregateItem& a : items) {
    std::vector<Value> params;
    for (double p : a.params) {
      params.push_back(p == static_cast<double>(static_cast<int64_t>(p))
                           ? Value::Int(static_cast<int64_t>(p))
                           : Value::Double(p));
    }
    auto parsed = ParseAggregateName(a.function, params);
    if (!parsed.ok()) return InvalidArgument("{}: {}", a.loc.Describe(), parsed.status().message());
    WindowOperator::Aggregate agg;
    agg.name = a.name;
    agg.spec = *parsed;
    if (a.argument) {
      auto c = CompileSpecExpression(*a.argument, options);
      if (!c.ok()) return c.status();
      agg.argument = std::move(*c);
    }
    out.push_back(std::move(agg));
  }
  return out;
}

namespace {

std::unique_ptr<AggregateRowLayout> MakeLayout(const std::string& name,
                                               const std::vector<WindowOperator::Aggregate>& aggs) {
  std::vector<AggregateSpec> specs;
  for (const auto& a : aggs) specs.push_back(a.spec);
  auto layout = AggregateRowLayout::Make(std::move(specs));
  SLUICE_CHECK(layout.ok(), "aggregate {}: {}", name, layout.status().message());
  return std::make_unique<AggregateRowLayout>(std::move(*layout));
}

}  // namespace

AggregateOperator::AggregateOperator(std::string name, TaskContext& ctx,
                                     std::unique_ptr<rules::Expression> key, bool keyed,
                                     std::string key_name,
                                     std::vector<WindowOperator::Aggregate> aggregates,
                                     const KeyedStateOptions& state)
    : Operator(std::move(name), ctx),
      key_expr_(std::move(key)),
      keyed_(keyed || key_expr_ != nullptr),
      key_name_(std::move(key_name)),
      aggs_(std::move(aggregates)),
      layout_(MakeLayout(name_, aggs_)),
      ttl_ms_(state.ttl_ms),
      store_(
          [&] {
            SpillStoreOptions o = state.spill;
            o.name = name_;
            return o;
          }(),
          GroupCodec{layout_.get()}) {
  inputs_.resize(aggs_.size());
  results_.resize(aggs_.size());
}

AggregateOperator::~AggregateOperator() = default;

std::vector<std::pair<std::string, uint64_t>> AggregateOperator::Counters() const {
  auto c = store_.Counters();
  c.emplace_back("ttl_expired_keys", ttl_expired_);
  return c;
}

void AggregateOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  const int64_t cutoff = TtlCutoff(ttl_ms_, CombinedInputWatermark());
  for (const Row& row : rows) {
    Value key = row.key;
    if (key_expr_ != nullptr) key = key_expr_->Evaluate(row.value, ctx_.eval);
    if (!keyed_) key = Value::Null();
    bool failed = !ctx_.eval.error.empty();
    for (size_t i = 0; i < aggs_.size() && !failed; ++i) {
      inputs_[i] = aggs_[i].argument ? aggs_[i].argument->Evaluate(row.value, ctx_.eval)
                                     : Value::Null();
      failed = !ctx_.eval.error.empty();
    }
    if (failed) {
      reason_ = std::move(ctx_.eval.error);
      ctx_.eval.error.clear();
      ReportError(row, reason_);
      continue;
    }
    // Reported with the event, which still counts for its group (see WindowOperator::Push).
    if (const std::string_view ignored = layout_->InputError(inputs_); !ignored.empty()) {
      ReportError(row, ignored);
    }
    scratch_.clear();
    EncodeValue(key, scratch_);
    GroupStore::Slot* slot = store_.FindOrAdd(scratch_);
    Group& g = slot->value;
    if (g.row.has_value() && slot->stamp <= cutoff) {
      // Expired: the key starts a fresh group. Reset in place, not erased: the slot may be in
      // touched_ already (an earlier row of this batch, itself older than the cutoff).
      ++ttl_expired_;
      g.row.reset();
      slot->stamp = std::numeric_limits<int64_t>::min();
    }
    if (!g.row.has_value()) g.row.emplace(*layout_);
    g.row->Add(inputs_, row.timestamp);
    slot->stamp = std::max(slot->stamp, row.timestamp);
    if (!g.touched) {
      g.touched = true;
      touched_.push_back(Touched{key, slot});
    }
  }
  for (Touched& t : touched_) {
    GroupStore::Slot* slot = t.slot;
    Group& g = slot->value;
    g.touched = false;
    store_.SetValueBytes(slot, store_.codec().Bytes(g));  // heavy aggregates grow
    g.row->Results(ctx_.arena, results_);
    size_t k = keyed_ ? 1 : 0;
    auto members = ctx_.arena.AllocateArray<Member>(k + aggs_.size());
    if (keyed_) members[0] = {key_name_, t.key};
    for (size_t i = 0; i < aggs_.size(); ++i) members[k + i] = {aggs_[i].name, results_[i]};
    out_.push_back(Row{Value::Object(members), t.key, slot->stamp});
  }
  touched_.clear();
  if (!out_.empty()) {
    Emit(out_);
    out_.clear();
  }
  store_.Shrink();  // after the batch: touched_ held slots until now
}

void AggregateOperator::OnWatermark(int64_t wm) {
  // Expired keys restart on their next row (Push checks); freeing them costs a pass over the
  // whole state, memory and disk, so it runs once per ttl/2 of event time.
  if (ttl_ms_ > 0 && wm >= next_sweep_) {
    int64_t cutoff = TtlCutoff(ttl_ms_, wm);
    if (cutoff != std::numeric_limits<int64_t>::min()) {
      ttl_expired_ += store_.EraseStampedUpTo(cutoff);
    }
    next_sweep_ = wm + std::max<int64_t>(1, ttl_ms_ / 2);
  }
  EmitWatermark(wm);
}

void AggregateOperator::GroupCodec::Encode(const Group& g, std::string& out) const {
  g.row->Serialize(out);
}

bool AggregateOperator::GroupCodec::Decode(std::string_view in, Group& g) const {
  auto row = AggregateRow::Deserialize(*layout, in);
  if (!row.ok()) return false;
  g.row.emplace(std::move(*row));
  return true;
}

size_t AggregateOperator::GroupCodec::Bytes(const Group& g) const {
  return sizeof(Group) + (g.row.has_value() ? g.row->MemoryBytes() : 0);
}

// Format (docs/formats/checkpoint.md): `u` keys, each `bytes` key, `i` time (the stamp), `bytes`
// row. Keys come from memory and from disk (whose bytes are the same row encoding, copied as
// they are); expired keys are left out.
void AggregateOperator::SaveState(StateWriter& w) const {
  const int64_t cutoff = TtlCutoff(ttl_ms_, CombinedInputWatermark());
  std::string body;
  StateWriter b(body);
  uint64_t n = 0;
  std::string row;
  store_.ForEachInMemory([&](const GroupStore::Slot& slot) {
    if (!slot.value.row.has_value() || slot.stamp <= cutoff) return;
    ++n;
    b.Bytes(slot.key());
    b.I64(slot.stamp);
    row.clear();
    slot.value.row->Serialize(row);
    b.Bytes(row);
  });
  store_.ForEachSpilled([&](std::string_view key, int64_t stamp, std::string_view bytes) {
    if (stamp <= cutoff) return;
    ++n;
    b.Bytes(key);
    b.I64(stamp);
    b.Bytes(bytes);
  });
  w.U64(n);
  w.out().append(body);
}

Status AggregateOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  const int64_t cutoff = TtlCutoff(ttl_ms_, CombinedInputWatermark());
  uint64_t n = r.Count(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string_view key = r.Bytes();
    int64_t time = r.I64();
    std::string_view bytes = r.Bytes();
    if (!r.ok()) break;
    auto row = AggregateRow::Deserialize(*layout_, bytes);
    if (!row.ok()) return row.status();
    if (time <= cutoff) {
      ++ttl_expired_;  // expired while saved: restoring it would bring it back
      continue;
    }
    GroupStore::Slot* slot = store_.FindOrAdd(key);
    slot->value.row.emplace(std::move(*row));
    slot->stamp = time;
    store_.SetValueBytes(slot, store_.codec().Bytes(slot->value));
    store_.Shrink();  // a state larger than the budget spills while it loads
  }
  return r.status("aggregate " + name_);
}

Result<std::unique_ptr<Operator>> MakeAggregateOperator(const OperatorSpec& op, TaskContext& ctx,
                                                       bool keyed,
                                                       const KeyedStateOptions& state) {
  std::unique_ptr<rules::Expression> key;
  if (op.key) {
    auto c = CompileSpecExpression(*op.key);
    if (!c.ok()) return c.status();
    key = std::move(*c);
  }
  auto aggs = CompileAggregates(op.aggregates);
  if (!aggs.ok()) return aggs.status();
  return std::unique_ptr<Operator>(std::make_unique<AggregateOperator>(
      op.name, ctx, std::move(key), keyed, op.key_name, std::move(*aggs), state));
}

}  // namespace sluice::stream
