// Stateless operators and dedup.
#include "stream/operators.h"

#include <fmt/format.h>

#include <cctype>
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
    if (!keep) continue;
    if (&rows[kept] != &row) rows[kept] = row;
    ++kept;
  }
  Emit(rows.first(kept));
}

namespace {

// The member `name` of `v` (nullptr when v is not an object or has none), trying the remembered
// position first.
inline const Value* MemberOf(const Value& v, std::string_view name, uint32_t& hint) {
  if (!v.is_object()) return nullptr;
  auto members = v.members();
  if (hint < members.size() && model::NameEquals(members[hint].name, name)) {
    return &members[hint].value;
  }
  return v.Find(name, &hint);
}

// The member names of `expr` when it is nothing but a field path of names (`a`, `a.b.c`); empty
// otherwise (indexes, quoted names, operators, functions, literals).
std::vector<std::string> PlainPathOf(const rules::Expression& expr) {
  const auto& refs = expr.referenced_fields();
  if (refs.size() != 1 || refs[0] != expr.text()) return {};
  std::vector<std::string> steps;
  std::string_view rest = refs[0];
  while (true) {
    size_t dot = rest.find('.');
    std::string_view step = rest.substr(0, dot);
    if (step.empty()) return {};
    for (char c : step) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return {};
    }
    steps.emplace_back(step);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return steps;
}

}  // namespace

MapOperator::MapOperator(std::string name, TaskContext& ctx, std::vector<Field> fields,
                         bool keep_input)
    : Operator(std::move(name), ctx), fields_(std::move(fields)), keep_input_(keep_input) {
  for (const Field& f : fields_) {
    Path p;
    std::vector<std::string> steps = PlainPathOf(*f.expr);
    if (!steps.empty()) {
      size_t i = 0;
      while (i < prefixes_.size() && prefixes_[i].name != steps[0]) ++i;
      if (i == prefixes_.size()) prefixes_.push_back(Step{steps[0]});
      p.prefix = static_cast<int>(i);
      for (size_t s = 1; s < steps.size(); ++s) p.rest.push_back(Step{std::move(steps[s])});
    }
    paths_.push_back(std::move(p));
  }
  resolved_.resize(prefixes_.size());
}

void MapOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  size_t kept = 0;
  std::string reason;
  for (Row& row : rows) {
    for (size_t i = 0; i < prefixes_.size(); ++i) {
      resolved_[i] = MemberOf(row.value, prefixes_[i].name, prefixes_[i].hint);
    }
    std::span<const Member> base;
    if (keep_input_ && row.value.is_object()) base = row.value.members();
    auto members = ctx_.arena.AllocateArray<Member>(base.size() + fields_.size());
    std::copy(base.begin(), base.end(), members.begin());
    size_t n = base.size();
    bool failed = false;
    for (size_t fi = 0; fi < fields_.size(); ++fi) {
      Field& f = fields_[fi];
      size_t slot = n;
      for (size_t i = 0; i < base.size(); ++i) {
        if (members[i].name == f.name) {
          slot = i;
          break;
        }
      }
      // The result goes straight into its slot (expressions read row.value, never `members`):
      // a Value kept in a local and copied on is stored and reloaded in halves, which stalls
      // store forwarding — a measurable share of a map's cost.
      Path& path = paths_[fi];
      if (path.prefix >= 0) {
        const Value* v = resolved_[path.prefix];
        for (size_t s = 0; s < path.rest.size() && v != nullptr; ++s) {
          v = MemberOf(*v, path.rest[s].name, path.rest[s].hint);
        }
        members[slot].value = v != nullptr ? *v : Value::Null();
      } else {
        members[slot].value = f.expr->Evaluate(row.value, ctx_.eval);
      }
      if (TakeError(ctx_.eval, reason)) {
        ReportError(row, fmt::format("field '{}': {}", f.name, reason));
        failed = true;
        break;
      }
      if (slot == n) {
        members[n].name = f.name;
        ++n;
      }
    }
    if (failed) continue;
    Row& out = rows[kept++];
    if (&out != &row) {
      out.key = row.key;
      out.timestamp = row.timestamp;
    }
    out.value = Value::Object(members.first(n));
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

DedupOperator::DedupOperator(std::string name, TaskContext& ctx,
                             std::unique_ptr<rules::Expression> key, int64_t within_ms,
                             SpillStoreOptions spill)
    : Operator(std::move(name), ctx),
      key_(std::move(key)),
      within_ms_(within_ms),
      seen_([&] {
        spill.name = name_;
        return std::move(spill);
      }()) {}

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
    bool added = false;
    SeenStore::Slot* slot = seen_.FindOrAdd(scratch_, &added);
    if (added) {
      slot->stamp = row.timestamp;
    } else {
      if (std::abs(row.timestamp - slot->stamp) < within_ms_) continue;  // a duplicate
      slot->stamp = std::max(slot->stamp, row.timestamp);
    }
    rows[kept++] = row;
  }
  Emit(rows.first(kept));
  seen_.Shrink();
}

void DedupOperator::OnWatermark(int64_t wm) {
  // Scan for expired keys (time + within <= wm) at most once per `within` of event time:
  // amortised O(1) per key (on disk too: one pass over the spilled keys).
  if (wm >= next_expiry_scan_) {
    int64_t cutoff = TtlCutoff(within_ms_, wm);
    if (cutoff != kNoWatermark) seen_.EraseStampedUpTo(cutoff);
    next_expiry_scan_ = wm + within_ms_;
  }
  EmitWatermark(wm);
}

// Keys from memory and from disk alike (docs/formats/checkpoint.md; the format did not change).
void DedupOperator::SaveState(StateWriter& w) const {
  w.I64(next_expiry_scan_);
  w.U64(seen_.size());
  seen_.ForEachInMemory([&](const SeenStore::Slot& slot) {
    w.Bytes(slot.key());
    w.I64(slot.stamp);
  });
  seen_.ForEachSpilled([&](std::string_view key, int64_t stamp, std::string_view) {
    w.Bytes(key);
    w.I64(stamp);
  });
}

Status DedupOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  next_expiry_scan_ = r.I64();
  uint64_t n = r.Count(2);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string_view key = r.Bytes();
    int64_t ts = r.I64();
    if (!r.ok()) break;
    seen_.FindOrAdd(key)->stamp = ts;
    seen_.Shrink();  // more keys than the budget spill while they load
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
