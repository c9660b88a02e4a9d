// Stateless operators and dedup.
#include "stream/operators.h"

#include <fmt/format.h>

#include <cstdlib>

#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

Result<std::unique_ptr<rules::Expression>> CompileSpecExpression(
    const SpecText& text, const rules::CompileOptions& options) {
  auto e = rules::Expression::Compile(text.text, options);
  if (!e.ok()) {
    return InvalidArgument("{}: {}", text.loc.Describe(), e.status().message());
  }
  return std::move(*e);
}

namespace {

// Takes the evaluation error (if any) out of the context.
bool TakeError(rules::EvalContext& eval, std::string& reason) {
  if (eval.error.empty()) return false;
  reason = std::move(eval.error);
  eval.error.clear();
  return true;
}

}  // namespace

void FilterOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  size_t kept = 0;
  std::string reason;
  for (Row& row : rows) {
    bool keep = condition_->Test(row.value, ctx_.eval);
    if (TakeError(ctx_.eval, reason)) {
      ReportError(row, reason);
      continue;
    }
    if (keep) rows[kept++] = row;
  }
  Emit(rows.first(kept));
}

void MapOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  size_t kept = 0;
  std::string reason;
  for (Row& row : rows) {
    std::span<const Member> base;
    if (keep_input_ && row.value.is_object()) base = row.value.members();
    auto members = ctx_.arena.AllocateArray<Member>(base.size() + fields_.size());
    std::copy(base.begin(), base.end(), members.begin());
    size_t n = base.size();
    bool failed = false;
    for (Field& f : fields_) {
      Value v = f.expr->Evaluate(row.value, ctx_.eval);
      if (TakeError(ctx_.eval, reason)) {
        ReportError(row, fmt::format("field '{}': {}", f.name, reason));
        failed = true;
        break;
      }
      size_t slot = n;
      for (size_t i = 0; i < base.size(); ++i) {
        if (members[i].name == f.name) {
          slot = i;
          break;
        }
      }
      if (slot == n) {
        members[n].name = f.name;
        ++n;
      }
      members[slot].value = v;
    }
    if (failed) continue;
    row.value = Value::Object(members.first(n));
    rows[kept++] = row;
  }
  Emit(rows.first(kept));
}

void FlattenOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  out_.clear();
  std::string reason;
  for (Row& row : rows) {
    Value array = array_->Evaluate(row.value, ctx_.eval);
    if (TakeError(ctx_.eval, reason)) {
      ReportError(row, reason);
      continue;
    }
    if (array.is_null()) continue;
    if (!array.is_array()) {
      ReportError(row, fmt::format("flatten: '{}' is {}, not an array", array_->text(),
                                   model::ValueTypeName(array.type())));
      continue;
    }
    std::span<const Member> base;
    if (row.value.is_object()) base = row.value.members();
    size_t slot = base.size();
    for (size_t i = 0; i < base.size(); ++i) {
      if (base[i].name == as_) slot = i;
    }
    for (const Value& item : array.items()) {
      size_t n = slot == base.size() ? base.size() + 1 : base.size();
      auto members = ctx_.arena.AllocateArray<Member>(n);
      std::copy(base.begin(), base.end(), members.begin());
      members[slot].name = as_;
      members[slot].value = item;
      out_.push_back(Row{Value::Object(members), row.key, row.timestamp});
    }
  }
  Emit(out_);
}

void KeyByOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  size_t kept = 0;
  std::string reason;
  for (Row& row : rows) {
    row.key = key_->Evaluate(row.value, ctx_.eval);
    if (TakeError(ctx_.eval, reason)) {
      ReportError(row, reason);
      continue;
    }
    rows[kept++] = row;
  }
  Emit(rows.first(kept));
}

void DedupOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  size_t kept = 0;
  std::string reason;
  for (Row& row : rows) {
    Value key = key_->Evaluate(row.value, ctx_.eval);
    if (TakeError(ctx_.eval, reason)) {
      ReportError(row, reason);
      continue;
    }
    scratch_.clear();
    EncodeValue(key, scratch_);
    auto [it, inserted] = seen_.try_emplace(scratch_, row.timestamp);
    if (!inserted) {
      if (std::abs(row.timestamp - it->second) < within_ms_) continue;  // a duplicate
      it->second = std::max(it->second, row.timestamp);
    } else {
      state_bytes_ += scratch_.size() + 48;
    }
    rows[kept++] = row;
  }
  Emit(rows.first(kept));
}

void DedupOperator::OnWatermark(int64_t wm) {
  // Scan for expired keys at most once per `within` of event time: amortised O(1) per key.
  if (wm >= next_expiry_scan_) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      if (it->second + within_ms_ <= wm) {
        state_bytes_ -= it->first.size() + 48;
        it = seen_.erase(it);
      } else {
        ++it;
      }
    }
    next_expiry_scan_ = wm + within_ms_;
  }
  EmitWatermark(wm);
}

void DedupOperator::SaveState(StateWriter& w) const {
  w.I64(next_expiry_scan_);
  w.U64(seen_.size());
  for (const auto& [key, ts] : seen_) {
    w.Bytes(key);
    w.I64(ts);
  }
}

Status DedupOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  next_expiry_scan_ = r.I64();
  uint64_t n = r.Count(2);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string key(r.Bytes());
    int64_t ts = r.I64();
    if (!r.ok()) break;
    state_bytes_ += key.size() + 48;
    seen_[std::move(key)] = ts;
  }
  return r.status("dedup " + name_);
}

RouteOperator::RouteOperator(
    std::string name, TaskContext& ctx,
    std::vector<std::pair<std::string, std::unique_ptr<rules::Expression>>> routes)
    : Operator(std::move(name), ctx) {
  for (auto& [route, cond] : routes) {
    conditions_.push_back(std::move(cond));
    branches_.push_back(std::make_unique<PassThroughOperator>(name_ + "." + route, ctx));
  }
}

void RouteOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  std::string reason;
  std::vector<uint8_t> failed(rows.size(), 0);
  for (size_t r = 0; r < conditions_.size(); ++r) {
    selected_.clear();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (failed[i]) continue;
      bool take = conditions_[r]->Test(rows[i].value, ctx_.eval);
      if (TakeError(ctx_.eval, reason)) {
        failed[i] = 1;
        ReportError(rows[i], fmt::format("route '{}': {}", branches_[r]->name(), reason));
        continue;
      }
      if (take) selected_.push_back(rows[i]);
    }
    stats_.rows_out += selected_.size();
    branches_[r]->Deliver(selected_);
  }
}

void RouteOperator::OnWatermark(int64_t wm) {
  for (auto& b : branches_) b->DeliverWatermark(wm);
  EmitWatermark(wm);
}

}  // namespace sluice::stream
