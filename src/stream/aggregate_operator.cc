// AggregateOperator (the unbounded GROUP BY) and CompileAggregates.
#include "stream/aggregate_operator.h"

#include <fmt/format.h>

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

AggregateOperator::AggregateOperator(std::string name, TaskContext& ctx,
                                     std::unique_ptr<rules::Expression> key, bool keyed,
                                     std::string key_name,
                                     std::vector<WindowOperator::Aggregate> aggregates)
    : Operator(std::move(name), ctx),
      key_expr_(std::move(key)),
      keyed_(keyed || key_expr_ != nullptr),
      key_name_(std::move(key_name)),
      aggs_(std::move(aggregates)) {
  std::vector<AggregateSpec> specs;
  for (const auto& a : aggs_) specs.push_back(a.spec);
  auto layout = AggregateRowLayout::Make(std::move(specs));
  SLUICE_CHECK(layout.ok(), "aggregate {}: {}", name_, layout.status().message());
  layout_ = std::make_unique<AggregateRowLayout>(std::move(*layout));
  inputs_.resize(aggs_.size());
  results_.resize(aggs_.size());
}

AggregateOperator::~AggregateOperator() = default;

void AggregateOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
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
    scratch_.clear();
    EncodeValue(key, scratch_);
    auto it = groups_.find(scratch_);
    if (it == groups_.end()) {
      it = groups_.try_emplace(scratch_, Group{AggregateRow(*layout_), row.timestamp}).first;
      state_bytes_ += scratch_.size() + sizeof(Group) + layout_->row_bytes();
    }
    Group& g = it->second;
    g.row.Add(inputs_, row.timestamp);
    g.time = std::max(g.time, row.timestamp);
    if (!g.touched) {
      g.touched = true;
      touched_.push_back(Touched{key, scratch_});
    }
  }
  for (Touched& t : touched_) {
    Group& g = groups_.find(t.encoded)->second;
    g.touched = false;
    g.row.Results(ctx_.arena, results_);
    size_t k = keyed_ ? 1 : 0;
    auto members = ctx_.arena.AllocateArray<Member>(k + aggs_.size());
    if (keyed_) members[0] = {key_name_, t.key};
    for (size_t i = 0; i < aggs_.size(); ++i) members[k + i] = {aggs_[i].name, results_[i]};
    out_.push_back(Row{Value::Object(members), t.key, g.time});
  }
  touched_.clear();
  if (!out_.empty()) {
    Emit(out_);
    out_.clear();
  }
}

void AggregateOperator::SaveState(StateWriter& w) const {
  w.U64(groups_.size());
  std::string row;
  for (const auto& [key, g] : groups_) {
    w.Bytes(key);
    w.I64(g.time);
    row.clear();
    g.row.Serialize(row);
    w.Bytes(row);
  }
}

Status AggregateOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  uint64_t n = r.Count(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string key(r.Bytes());
    int64_t time = r.I64();
    std::string_view bytes = r.Bytes();
    if (!r.ok()) break;
    auto row = AggregateRow::Deserialize(*layout_, bytes);
    if (!row.ok()) return row.status();
    state_bytes_ += key.size() + sizeof(Group) + layout_->row_bytes();
    groups_.insert_or_assign(std::move(key), Group{std::move(*row), time});
  }
  return r.status("aggregate " + name_);
}

Result<std::unique_ptr<Operator>> MakeAggregateOperator(const OperatorSpec& op, TaskContext& ctx,
                                                       bool keyed) {
  std::unique_ptr<rules::Expression> key;
  if (op.key) {
    auto c = CompileSpecExpression(*op.key);
    if (!c.ok()) return c.status();
    key = std::move(*c);
  }
  auto aggs = CompileAggregates(op.aggregates);
  if (!aggs.ok()) return aggs.status();
  return std::unique_ptr<Operator>(std::make_unique<AggregateOperator>(
      op.name, ctx, std::move(key), keyed, op.key_name, std::move(*aggs)));
}

}  // namespace sluice::stream
