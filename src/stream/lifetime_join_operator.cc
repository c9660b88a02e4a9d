// LifetimeJoinOperator: windows opened by left events, fed by right events and by the panes of
// right events that arrived before their window.
#include "stream/lifetime_join_operator.h"

#include <fmt/format.h>

#include <algorithm>

#include "stream/aggregate_operator.h"  // CompileAggregates
#include "stream/operators.h"
#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

LifetimeJoinOperator::LifetimeJoinOperator(std::string name, TaskContext& ctx,
                                           const JoinSpec& spec,
                                           std::unique_ptr<rules::Expression> left_key,
                                           std::unique_ptr<rules::Expression> right_key,
                                           std::unique_ptr<rules::Expression> until,
                                           std::vector<WindowOperator::Aggregate> aggregates)
    : Operator(std::move(name), ctx, 2),
      type_(spec.type),
      left_as_(spec.left_as),
      left_key_(std::move(left_key)),
      right_key_(std::move(right_key)),
      until_(std::move(until)),
      aggs_(std::move(aggregates)) {
  std::vector<AggregateSpec> specs;
  for (const auto& a : aggs_) specs.push_back(a.spec);
  auto layout = AggregateRowLayout::Make(std::move(specs));
  SLUICE_CHECK(layout.ok(), "lifetime join {}: {}", name_, layout.status().message());
  layout_ = std::make_unique<AggregateRowLayout>(std::move(*layout));
  inputs_.resize(aggs_.size());
  results_.resize(aggs_.size());
}

LifetimeJoinOperator::~LifetimeJoinOperator() = default;

size_t LifetimeJoinOperator::WindowBytes(const Window& w) const {
  return sizeof(Window) + w.left.size() + layout_->row_bytes();
}
size_t LifetimeJoinOperator::PaneBytes() const { return sizeof(Pane) + layout_->row_bytes(); }

bool LifetimeJoinOperator::EvalInputs(int input, const Row& row, Value& key) {
  key = (input == 0 ? *left_key_ : *right_key_).Evaluate(row.value, ctx_.eval);
  const char* what = input == 0 ? "left_key" : "right_key";
  if (input == 1 && ctx_.eval.error.empty()) {
    for (size_t i = 0; i < aggs_.size(); ++i) {
      inputs_[i] = aggs_[i].argument ? aggs_[i].argument->Evaluate(row.value, ctx_.eval)
                                     : Value::Null();
      if (!ctx_.eval.error.empty()) {
        what = "aggregate argument";
        break;
      }
    }
  }
  if (ctx_.eval.error.empty()) return true;
  reason_ = std::move(ctx_.eval.error);
  ctx_.eval.error.clear();
  ReportError(row, fmt::format("{}: {}", what, reason_));
  return false;
}

void LifetimeJoinOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  Value key;
  for (const Row& row : rows) {
    if (wm_ != kNoWatermark && row.timestamp <= wm_) {
      ReportLate(row, fmt::format("{} event time {} is at or before the join's watermark {}",
                                  input == 0 ? "left" : "right", row.timestamp, wm_));
      continue;
    }
    if (!EvalInputs(input, row, key) || key.is_null()) continue;
    KeyRef ref;
    if (key.is_int()) {
      ref.is_int = true;
      ref.int_key = key.int_value();
    } else {
      scratch_.clear();
      EncodeValue(key, scratch_);
      ref.bytes = scratch_;
    }
    if (input == 0) {
      PushLeft(row, ref);
    } else {
      PushRight(row, ref);
    }
  }
  if (!out_.empty()) {
    Emit(out_);
    out_.clear();
  }
}

LifetimeJoinOperator::KeyState& LifetimeJoinOperator::StateFor(const KeyRef& key, KeyRef& ref) {
  ref = key;
  if (key.is_int) {
    auto [it, inserted] = int_keys_.try_emplace(key.int_key);
    if (inserted) state_bytes_ += sizeof(KeyState) + sizeof(int64_t);
    return it->second;
  }
  auto [it, inserted] = keys_.try_emplace(key.bytes);
  if (inserted) state_bytes_ += sizeof(KeyState) + key.bytes.size();
  ref.bytes = it->first;
  return it->second;
}

void LifetimeJoinOperator::PushLeft(const Row& row, const KeyRef& key) {
  Value until = until_->Evaluate(row.value, ctx_.eval);
  if (!ctx_.eval.error.empty()) {
    reason_ = std::move(ctx_.eval.error);
    ctx_.eval.error.clear();
    ReportError(row, fmt::format("until: {}", reason_));
    return;
  }
  if (!until.is_int() && !until.is_timestamp()) {
    ReportError(row, fmt::format("until: {} is {}, not a time (ms or a timestamp)",
                                 until_->text(), model::ValueTypeName(until.type())));
    return;
  }
  Window w{row.timestamp, until.int_value(), {}, AggregateRow(*layout_)};
  encode_scratch_.clear();
  EncodeValue(row.value, encode_scratch_);
  w.left.assign(encode_scratch_);
  if (w.end < w.start) {
    // An empty lifetime: nothing can fall into it. Emitted at its own time, which is ahead of
    // the watermark (its end may not be).
    if (type_ == JoinType::kLeft) EmitWindow(key, w, w.start);
    return;
  }
  KeyRef ref;
  KeyState& ks = StateFor(key, ref);
  // Right events that came first (same millisecond, or out of order) wait in panes.
  auto p = std::lower_bound(ks.panes.begin(), ks.panes.end(), w.start,
                            [](const Pane& pane, int64_t t) { return pane.time < t; });
  for (; p != ks.panes.end() && p->time <= w.end; ++p) {
    w.row.Merge(p->row);
    w.matched = true;
  }
  state_bytes_ += WindowBytes(w);
  ++windows_;
  ks.windows.push_back(std::move(w));
  Arm(ref, ks);
}

void LifetimeJoinOperator::PushRight(const Row& row, const KeyRef& key) {
  const int64_t t = row.timestamp;
  KeyRef ref;
  KeyState& ks = StateFor(key, ref);
  for (Window& w : ks.windows) {
    if (w.start <= t && t <= w.end) {
      w.row.Add(inputs_, t);
      w.matched = true;
    }
  }
  AddToPane(ks, t);
  Arm(ref, ks);
}

void LifetimeJoinOperator::AddToPane(KeyState& ks, int64_t time) {
  // Right events mostly arrive in time order: the pane is the last one, or a new last one.
  auto p = ks.panes.end();
  if (ks.panes.empty() || ks.panes.back().time < time) {
    ks.panes.push_back(Pane{time, AggregateRow(*layout_)});
    state_bytes_ += PaneBytes();
    ++panes_;
    p = ks.panes.end() - 1;
  } else if (ks.panes.back().time == time) {
    p = ks.panes.end() - 1;
  } else {
    p = std::lower_bound(ks.panes.begin(), ks.panes.end(), time,
                         [](const Pane& pane, int64_t t) { return pane.time < t; });
    if (p->time != time) {
      p = ks.panes.insert(p, Pane{time, AggregateRow(*layout_)});
      state_bytes_ += PaneBytes();
      ++panes_;
    }
  }
  p->row.Add(inputs_, time);
}

void LifetimeJoinOperator::Arm(const KeyRef& key, KeyState& ks) {
  int64_t next = kNoTimer;
  for (const Window& w : ks.windows) next = std::min(next, w.end);
  if (!ks.panes.empty()) next = std::min(next, ks.panes.front().time);
  if (next < ks.timer) {
    ks.timer = next;
    timers_.push(Timer{next, key.is_int, key.int_key, std::string(key.bytes)});
  }
}

void LifetimeJoinOperator::EmitWindow(const KeyRef& key, const Window& w, int64_t time) {
  std::string_view in = w.left;
  auto left = DecodeValue(in, ctx_.arena);
  std::string_view key_in = key.bytes;
  Result<Value> key_value =
      key.is_int ? Result<Value>(Value::Int(key.int_key)) : DecodeValue(key_in, ctx_.arena);
  if (!left.ok() || !key_value.ok()) {
    ReportError(Row{Value::Null(), Value::Null(), w.end},
                "a buffered left event could not be restored");
    return;
  }
  layout_->Results(w.row.data(), ctx_.arena, results_);
  auto members = ctx_.arena.AllocateArray<Member>(1 + aggs_.size());
  members[0] = {left_as_, *left};
  for (size_t i = 0; i < aggs_.size(); ++i) members[1 + i] = {aggs_[i].name, results_[i]};
  out_.push_back(Row{Value::Object(members), *key_value, time});
}

void LifetimeJoinOperator::Expire(const KeyRef& key, KeyState& ks, int64_t wm) {
  size_t kept = 0;
  for (size_t i = 0; i < ks.windows.size(); ++i) {
    Window& w = ks.windows[i];
    if (w.end <= wm) {
      if (w.matched || type_ == JoinType::kLeft) EmitWindow(key, w, w.end);
      state_bytes_ -= WindowBytes(w);
      --windows_;
    } else {
      if (kept != i) ks.windows[kept] = std::move(w);
      ++kept;
    }
  }
  ks.windows.erase(ks.windows.begin() + static_cast<std::ptrdiff_t>(kept), ks.windows.end());
  auto past = std::upper_bound(ks.panes.begin(), ks.panes.end(), wm,
                               [](int64_t t, const Pane& pane) { return t < pane.time; });
  size_t dropped = static_cast<size_t>(past - ks.panes.begin());
  ks.panes.erase(ks.panes.begin(), past);
  state_bytes_ -= dropped * PaneBytes();
  panes_ -= dropped;
}

void LifetimeJoinOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  while (!timers_.empty() && timers_.top().time <= wm) {
    Timer t = std::move(const_cast<Timer&>(timers_.top()));
    timers_.pop();
    KeyState* ks = nullptr;
    KeyRef ref{t.is_int, t.int_key, {}};
    auto int_it = int_keys_.end();
    auto it = keys_.end();
    if (t.is_int) {
      int_it = int_keys_.find(t.int_key);
      if (int_it != int_keys_.end()) ks = &int_it->second;
    } else {
      it = keys_.find(t.bytes);
      if (it != keys_.end()) {
        ks = &it->second;
        ref.bytes = it->first;
      }
    }
    if (ks == nullptr || ks->timer != t.time) continue;  // stale
    ks->timer = kNoTimer;
    Expire(ref, *ks, wm);
    if (!ks->windows.empty() || !ks->panes.empty()) {
      Arm(ref, *ks);
    } else if (t.is_int) {
      state_bytes_ -= sizeof(KeyState) + sizeof(int64_t);
      int_keys_.erase(int_it);
    } else {
      state_bytes_ -= sizeof(KeyState) + it->first.size();
      keys_.erase(it);
    }
  }
  if (!out_.empty()) {
    Emit(out_);
    out_.clear();
  }
  EmitWatermark(wm);
}

void LifetimeJoinOperator::SaveState(StateWriter& w) const {
  w.I64(wm_);
  w.U64(int_keys_.size() + keys_.size());
  std::string row;
  std::string encoded;
  auto save = [&](std::string_view key, const KeyState& ks) {
    w.Bytes(key);
    w.U64(ks.windows.size());
    for (const Window& win : ks.windows) {
      w.I64(win.start);
      w.I64(win.end);
      w.Bytes(win.left);
      w.U64(win.matched ? 1 : 0);
      row.clear();
      win.row.Serialize(row);
      w.Bytes(row);
    }
    w.U64(ks.panes.size());
    for (const Pane& p : ks.panes) {
      w.I64(p.time);
      row.clear();
      p.row.Serialize(row);
      w.Bytes(row);
    }
  };
  for (const auto& [key, ks] : int_keys_) {
    encoded.clear();
    EncodeValue(Value::Int(key), encoded);
    save(encoded, ks);
  }
  for (const auto& [key, ks] : keys_) save(key, ks);
}

Status LifetimeJoinOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  wm_ = r.I64();
  uint64_t keys = r.Count(3);
  for (uint64_t k = 0; k < keys && r.ok(); ++k) {
    std::string key(r.Bytes());
    KeyState ks;
    uint64_t nw = r.Count(5);
    for (uint64_t i = 0; i < nw && r.ok(); ++i) {
      int64_t start = r.I64();
      int64_t end = r.I64();
      std::string left(r.Bytes());
      bool matched = r.U64() != 0;
      std::string_view bytes = r.Bytes();
      if (!r.ok()) break;
      auto row = AggregateRow::Deserialize(*layout_, bytes);
      if (!row.ok()) return row.status();
      ks.windows.push_back(Window{start, end, std::move(left), std::move(*row), matched});
      state_bytes_ += WindowBytes(ks.windows.back());
      ++windows_;
    }
    uint64_t np = r.Count(2);
    for (uint64_t i = 0; i < np && r.ok(); ++i) {
      int64_t time = r.I64();
      std::string_view bytes = r.Bytes();
      if (!r.ok()) break;
      auto row = AggregateRow::Deserialize(*layout_, bytes);
      if (!row.ok()) return row.status();
      ks.panes.push_back(Pane{time, std::move(*row)});
      state_bytes_ += PaneBytes();
      ++panes_;
    }
    if (!r.ok()) break;
    std::string_view in = key;
    auto decoded = DecodeValue(in, ctx_.arena);
    if (!decoded.ok()) return decoded.status();
    KeyRef ref;
    if (decoded->is_int()) {
      ref.is_int = true;
      ref.int_key = decoded->int_value();
    } else {
      ref.bytes = key;
    }
    KeyRef stored;
    KeyState& into = StateFor(ref, stored);
    into = std::move(ks);
    Arm(stored, into);
  }
  return r.status("lifetime join " + name_);
}

Result<std::unique_ptr<Operator>> MakeLifetimeJoinOperator(std::string name, TaskContext& ctx,
                                                          const JoinSpec& spec) {
  SLUICE_CHECK(spec.kind == JoinKind::kLifetime && spec.until.has_value(),
               "not a lifetime join spec");
  auto left = CompileSpecExpression(spec.left_key);
  if (!left.ok()) return left.status();
  auto right = CompileSpecExpression(spec.right_key);
  if (!right.ok()) return right.status();
  auto until = CompileSpecExpression(*spec.until);
  if (!until.ok()) return until.status();
  auto aggs = CompileAggregates(spec.aggregates);
  if (!aggs.ok()) return aggs.status();
  return std::unique_ptr<Operator>(std::make_unique<LifetimeJoinOperator>(
      std::move(name), ctx, spec, std::move(*left), std::move(*right), std::move(*until),
      std::move(*aggs)));
}

}  // namespace sluice::stream
