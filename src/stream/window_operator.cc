// WindowOperator: panes for tumbling/hopping windows, per-key session lists, firing on watermarks.
#include "stream/window_operator.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorTo(int64_t a, int64_t b) { return FloorDiv(a, b) * b; }
int64_t CeilTo(int64_t a, int64_t b) { return -FloorDiv(-a, b) * b; }

constexpr size_t kStateOverhead = 64;

}  // namespace

struct WindowOperator::State {
  explicit State(const AggregateRowLayout& layout) : row(layout) {}
  AggregateRow row;
  size_t Bytes() const { return kStateOverhead + row.MemoryBytes(); }
};

struct WindowOperator::Session {
  int64_t start = 0;
  int64_t end = 0;  // exclusive: last event time + gap
  StatePtr state;
  bool fired = false;
};

WindowOperator::WindowOperator(std::string name, TaskContext& ctx, WindowSpec window,
                               std::unique_ptr<rules::Expression> key, bool keyed,
                               std::string key_name, std::vector<Aggregate> aggregates)
    : Operator(std::move(name), ctx),
      w_(window),
      key_expr_(std::move(key)),
      keyed_(keyed),
      key_name_(std::move(key_name)),
      aggs_(std::move(aggregates)),
      next_window_start_(kNoWatermark) {
  if (w_.kind == WindowKind::kTumbling) {
    w_.slide_ms = w_.size_ms;
    pane_ms_ = w_.size_ms;
  } else if (w_.kind == WindowKind::kHopping) {
    pane_ms_ = std::gcd(w_.size_ms, w_.slide_ms);
  }
  inputs_.resize(aggs_.size());
  results_.resize(aggs_.size());
  std::vector<AggregateSpec> specs;
  for (const auto& a : aggs_) specs.push_back(a.spec);
  auto layout = AggregateRowLayout::Make(std::move(specs));
  SLUICE_CHECK(layout.ok(), "window {}: {}", name_, layout.status().message());
  layout_ = std::make_unique<AggregateRowLayout>(std::move(*layout));
}

WindowOperator::~WindowOperator() = default;

size_t WindowOperator::open_states() const {
  size_t n = 0;
  for (const auto& [_, keys] : panes_) n += keys.size();
  for (const auto& [_, list] : sessions_) n += list.size();
  return n;
}

WindowOperator::StatePtr WindowOperator::NewState() const {
  return std::make_unique<State>(*layout_);
}

void WindowOperator::AddTo(State& s, const Row& row, std::span<const Value> inputs) {
  s.row.Add(inputs, row.timestamp);
}

void WindowOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  std::string reason;
  for (Row& row : rows) {
    Value key = row.key;
    if (key_expr_) key = key_expr_->Evaluate(row.value, ctx_.eval);
    bool failed = false;
    for (size_t i = 0; i < aggs_.size() && !failed; ++i) {
      inputs_[i] = aggs_[i].argument ? aggs_[i].argument->Evaluate(row.value, ctx_.eval)
                                     : Value::Null();
      failed = !ctx_.eval.error.empty();
    }
    if (!ctx_.eval.error.empty()) {
      reason = std::move(ctx_.eval.error);
      ctx_.eval.error.clear();
      ReportError(row, reason);
      continue;
    }
    scratch_.clear();
    EncodeValue(key, scratch_);
    if (w_.kind == WindowKind::kSession) {
      PushSession(row, scratch_, inputs_);
    } else {
      PushPaned(row, scratch_, inputs_);
    }
  }
  // Windows that allowed-late events changed are emitted again right away.
  for (int64_t start : refire_) FireWindow(start, false);
  refire_.clear();
  FlushOut();
}

int64_t WindowOperator::LastWindowStartFor(int64_t pane_start) const {
  return FloorTo(pane_start, w_.slide_ms);
}

void WindowOperator::PushPaned(const Row& row, std::string_view key,
                               std::span<const Value> inputs) {
  int64_t pane = FloorTo(row.timestamp, pane_ms_);
  int64_t last_end = LastWindowStartFor(pane) + w_.size_ms;
  if (wm_ != kNoWatermark && last_end - 1 + w_.allowed_lateness_ms <= wm_) {
    ReportLate(row, fmt::format("event time {} is past every window it belongs to (last ends at {}, "
                                "allowed lateness {} ms, watermark {})",
                                row.timestamp, last_end, w_.allowed_lateness_ms, wm_));
    return;
  }
  auto& keys = panes_[pane];
  auto it = keys.find(key);
  if (it == keys.end()) {
    it = keys.emplace(std::string(key), NewState()).first;
    state_bytes_ += key.size() + it->second->Bytes();
  }
  size_t before = it->second->Bytes();
  AddTo(*it->second, row, inputs);
  state_bytes_ += it->second->Bytes() - before;
  if (wm_ != kNoWatermark) {
    // Windows containing this pane that have already fired get an updated result.
    int64_t first = CeilTo(pane + pane_ms_ - w_.size_ms, w_.slide_ms);
    for (int64_t s = first; s <= LastWindowStartFor(pane); s += w_.slide_ms) {
      if (s + w_.size_ms - 1 <= wm_ && s + w_.size_ms - 1 + w_.allowed_lateness_ms > wm_) {
        refire_.insert(s);
      }
    }
  }
}

void WindowOperator::FireWindow(int64_t start, bool early) {
  (void)early;
  int64_t end = start + w_.size_ms;
  if (w_.kind == WindowKind::kTumbling) {
    auto it = panes_.find(start);
    if (it == panes_.end()) return;
    std::vector<const std::pair<const std::string, StatePtr>*> sorted;
    sorted.reserve(it->second.size());
    for (const auto& kv : it->second) sorted.push_back(&kv);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : sorted) EmitResult(kv->first, start, end, *kv->second);
    return;
  }
  // Hopping: merge the window's panes per key.
  std::map<std::string_view, StatePtr> merged;
  for (auto it = panes_.lower_bound(start); it != panes_.end() && it->first < end; ++it) {
    for (const auto& [key, st] : it->second) {
      auto [m, inserted] = merged.try_emplace(key);
      if (inserted) m->second = NewState();
      m->second->row.Merge(st->row);
    }
  }
  for (const auto& [key, st] : merged) EmitResult(key, start, end, *st);
}

void WindowOperator::EmitResult(std::string_view key, int64_t start, int64_t end, const State& s) {
  size_t n = 2 + (keyed_ ? 1 : 0) + aggs_.size();
  auto members = ctx_.arena.AllocateArray<Member>(n);
  size_t i = 0;
  members[i++] = {"window_start", Value::Timestamp(start)};
  members[i++] = {"window_end", Value::Timestamp(end)};
  Value key_value;
  std::string_view in = key;
  auto decoded = DecodeValue(in, ctx_.arena);
  if (decoded.ok()) key_value = *decoded;
  if (keyed_) members[i++] = {key_name_, key_value};
  s.row.Results(ctx_.arena, results_);
  for (size_t a = 0; a < aggs_.size(); ++a) members[i++] = {aggs_[a].name, results_[a]};
  out_.push_back(Row{Value::Object(members), key_value, end - 1});
}

void WindowOperator::FlushOut() {
  if (out_.empty()) return;
  Emit(out_);
  out_.clear();
}

void WindowOperator::FirePaned(int64_t wm) {
  if (w_.early_every_ms > 0 && (last_early_ == kNoWatermark || wm >= last_early_ + w_.early_every_ms)) {
    last_early_ = wm;
    if (!panes_.empty()) {
      int64_t last_pane = panes_.rbegin()->first;
      int64_t s = std::max(next_window_start_, CeilTo(panes_.begin()->first + pane_ms_ - w_.size_ms, w_.slide_ms));
      for (; s <= last_pane; s += w_.slide_ms) {
        if (s + w_.size_ms - 1 > wm) FireWindow(s, true);
      }
    }
  }
  while (!panes_.empty()) {
    // Windows starting before `earliest` hold no data: skip them.
    int64_t earliest = CeilTo(panes_.begin()->first + pane_ms_ - w_.size_ms, w_.slide_ms);
    if (next_window_start_ == kNoWatermark || next_window_start_ < earliest) {
      next_window_start_ = earliest;
    }
    if (next_window_start_ + w_.size_ms - 1 > wm) break;
    auto data = panes_.lower_bound(next_window_start_);
    if (data == panes_.end()) break;  // only panes kept for allowed lateness remain
    if (data->first >= next_window_start_ + w_.size_ms) {
      // A gap in the data: jump to the first window holding the next pane.
      next_window_start_ = CeilTo(data->first + pane_ms_ - w_.size_ms, w_.slide_ms);
      continue;
    }
    FireWindow(next_window_start_, false);
    next_window_start_ += w_.slide_ms;
  }
  // Drop panes whose last window has fired and whose lateness has passed (windows fire in start
  // order, so every window starting before next_window_start_ has fired or was empty).
  while (!panes_.empty()) {
    auto first = panes_.begin();
    int64_t last_start = LastWindowStartFor(first->first);
    if (last_start >= next_window_start_) break;
    if (last_start + w_.size_ms - 1 + w_.allowed_lateness_ms > wm) break;
    for (const auto& [key, st] : first->second) state_bytes_ -= key.size() + st->Bytes();
    panes_.erase(first);
  }
}

void WindowOperator::PushSession(const Row& row, std::string_view key,
                                 std::span<const Value> inputs) {
  int64_t start = row.timestamp;
  int64_t end = row.timestamp + w_.gap_ms;
  auto& list = sessions_[std::string(key)];
  // Sessions this event touches merge into one.
  int64_t merged_start = start, merged_end = end;
  bool any_fired = false;
  for (const Session& s : list) {
    if (s.start < end && start < s.end) {
      merged_start = std::min(merged_start, s.start);
      merged_end = std::max(merged_end, s.end);
    }
  }
  if (wm_ != kNoWatermark && merged_end - 1 + w_.allowed_lateness_ms <= wm_) {
    ReportLate(row, fmt::format("event time {} falls in a session that closed at {} (allowed "
                                "lateness {} ms, watermark {})",
                                row.timestamp, merged_end, w_.allowed_lateness_ms, wm_));
    if (list.empty()) sessions_.erase(std::string(key));
    return;
  }
  Session merged;
  merged.start = merged_start;
  merged.end = merged_end;
  merged.state = NewState();
  for (auto it = list.begin(); it != list.end();) {
    if (it->start < merged_end && merged_start < it->end) {
      any_fired |= it->fired;
      merged.state->row.Merge(it->state->row);
      state_bytes_ -= it->state->Bytes();
      it = list.erase(it);
    } else {
      ++it;
    }
  }
  AddTo(*merged.state, row, inputs);
  state_bytes_ += merged.state->Bytes();
  session_timers_.emplace(merged.end, std::string(key));
  if (w_.allowed_lateness_ms > 0) session_timers_.emplace(merged.end + w_.allowed_lateness_ms, std::string(key));
  if (wm_ != kNoWatermark && merged.end - 1 <= wm_) {
    // An allowed-late event changed (or created) a session past the watermark: emit it now.
    merged.fired = true;
    EmitResult(key, merged.start, merged.end, *merged.state);
  }
  (void)any_fired;
  list.push_back(std::move(merged));
}

void WindowOperator::FireSessions(int64_t wm) {
  std::vector<std::string> due;
  while (!session_timers_.empty() && session_timers_.begin()->first - 1 <= wm) {
    due.push_back(std::move(session_timers_.begin()->second));
    session_timers_.erase(session_timers_.begin());
  }
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  for (const std::string& key : due) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) continue;
    auto& list = it->second;
    std::sort(list.begin(), list.end(), [](const Session& a, const Session& b) { return a.start < b.start; });
    for (Session& s : list) {
      if (!s.fired && s.end - 1 <= wm) {
        s.fired = true;
        EmitResult(key, s.start, s.end, *s.state);
      }
    }
    std::erase_if(list, [&](const Session& s) {
      bool expired = s.fired && s.end - 1 + w_.allowed_lateness_ms <= wm;
      if (expired) state_bytes_ -= s.state->Bytes();
      return expired;
    });
    if (list.empty()) sessions_.erase(it);
  }
}

void WindowOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  if (w_.kind == WindowKind::kSession) {
    if (w_.early_every_ms > 0 && (last_early_ == kNoWatermark || wm >= last_early_ + w_.early_every_ms)) {
      last_early_ = wm;
      for (const auto& [key, list] : sessions_) {
        for (const Session& s : list) {
          if (!s.fired) EmitResult(key, s.start, s.end, *s.state);
        }
      }
    }
    FireSessions(wm);
  } else {
    FirePaned(wm);
  }
  FlushOut();
  EmitWatermark(wm);
}

}  // namespace sluice::stream
