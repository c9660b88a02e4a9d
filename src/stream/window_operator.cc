// WindowOperator: panes for tumbling/hopping windows, per-key session lists, firing on watermarks.
#include "stream/window_operator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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
  explicit State(AggregateRow r) : row(std::move(r)) {}
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
  row_words_ = layout_->row_bytes() / sizeof(uint64_t);
}

WindowOperator::~WindowOperator() = default;

size_t WindowOperator::open_states() const {
  size_t n = 0;
  for (const auto& [_, pane] : panes_) n += pane.size();
  for (const auto& [_, sk] : sessions_) n += sk.sessions.size();
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
    // An input an aggregate ignores (sum of a string) is reported with its event, but the event
    // still counts for the window: one bad field must not lose the other aggregates' inputs.
    if (const std::string_view ignored = layout_->InputError(inputs_); !ignored.empty()) {
      ReportError(row, ignored);
    }
    if (w_.kind == WindowKind::kSession) {
      scratch_.clear();
      EncodeValue(key, scratch_);
      PushSession(row, scratch_, inputs_);
    } else {
      PushPaned(row, key, inputs_);
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

uint32_t WindowOperator::PaneSlot(Pane& p, const Value& key) {
  auto n = static_cast<uint32_t>(p.size());
  uint32_t slot;
  bool inserted;
  // Integral doubles are the same key as the int they equal (as in EncodeValue).
  bool as_int = key.is_int() || (key.is_double() && std::isfinite(key.double_value()) &&
                                 key.double_value() == std::trunc(key.double_value()) &&
                                 std::fabs(key.double_value()) < 9.2e18);
  if (as_int) {
    int64_t k = key.is_int() ? key.int_value() : static_cast<int64_t>(key.double_value());
    auto [it, ins] = p.ints.try_emplace(k, n);
    slot = it->second;
    inserted = ins;
    if (inserted) p.keys.push_back({k, -1});
  } else {
    scratch_.clear();
    EncodeValue(key, scratch_);
    auto [it, ins] = p.others.try_emplace(scratch_, n);
    slot = it->second;
    inserted = ins;
    if (inserted) {
      p.keys.push_back({0, static_cast<int32_t>(p.other_keys.size())});
      p.other_keys.push_back(scratch_);
      state_bytes_ += 2 * scratch_.size();
    }
  }
  if (inserted) {
    // Growing moves rows bytewise: inline slots are plain data and heavy slots own a pointer,
    // so a byte copy is a valid move for every kind.
    p.rows.resize(p.rows.size() + row_words_);
    layout_->Init(PaneRow(p, slot));
    // Counted in full, heap included: DropPane subtracts MemoryBytes(row), and Init already
    // allocates the heavy kinds' accumulators (count_distinct, collect_list, ...).
    state_bytes_ += layout_->MemoryBytes(PaneRow(p, slot)) + 32;
  }
  return slot;
}

Value WindowOperator::PaneKey(const Pane& p, uint32_t i) {
  const Pane::RowKey& k = p.keys[i];
  if (k.other < 0) return Value::Int(k.int_key);
  std::string_view in = p.other_keys[static_cast<size_t>(k.other)];
  auto v = DecodeValue(in, ctx_.arena);
  return v.ok() ? *v : Value::Null();
}

void WindowOperator::DropPane(Pane& p) {
  if (!layout_->all_inline()) {
    for (uint32_t i = 0; i < p.size(); ++i) {
      state_bytes_ -= layout_->MemoryBytes(PaneRow(p, i)) - layout_->row_bytes();
      layout_->Destroy(PaneRow(p, i));
    }
  }
  state_bytes_ -= p.size() * (layout_->row_bytes() + 32);
  for (const auto& k : p.other_keys) state_bytes_ -= 2 * k.size();
}

void WindowOperator::PushPaned(const Row& row, const Value& key, std::span<const Value> inputs) {
  int64_t pane = FloorTo(row.timestamp, pane_ms_);
  int64_t last_end = LastWindowStartFor(pane) + w_.size_ms;
  if (wm_ != kNoWatermark && last_end - 1 + w_.allowed_lateness_ms <= wm_) {
    ReportLate(row, fmt::format("event time {} is past every window it belongs to (last ends at {}, "
                                "allowed lateness {} ms, watermark {})",
                                row.timestamp, last_end, w_.allowed_lateness_ms, wm_));
    return;
  }
  Pane& p = panes_[pane];
  uint32_t slot = PaneSlot(p, key);
  std::byte* r = PaneRow(p, slot);
  if (layout_->all_inline()) {
    layout_->Add(r, inputs, row.timestamp);  // inline rows never grow
  } else {
    size_t before = layout_->MemoryBytes(r);
    layout_->Add(r, inputs, row.timestamp);
    state_bytes_ += layout_->MemoryBytes(r) - before;
  }
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
  // Results of one window come out in no particular order.
  auto first = panes_.lower_bound(start);
  auto last = panes_.lower_bound(end);
  if (first == last) return;
  if (std::next(first) == last) {
    // One pane holds all the window's data (tumbling windows always): no merge needed.
    Pane& p = first->second;
    for (uint32_t i = 0; i < p.size(); ++i) EmitResult(PaneKey(p, i), start, end, PaneRow(p, i));
    return;
  }
  // Hopping: merge the window's panes per key into scratch rows (pane keys stay put meanwhile).
  merge_ints_.clear();
  merge_others_.clear();
  merge_keys_.clear();
  auto row_at = [&](size_t i) {
    return reinterpret_cast<std::byte*>(merge_rows_.data() + i * row_words_);
  };
  for (auto it = first; it != last; ++it) {
    Pane& p = it->second;
    for (uint32_t i = 0; i < p.size(); ++i) {
      const Pane::RowKey& k = p.keys[i];
      uint32_t slot;
      bool inserted;
      if (k.other < 0) {
        auto [m, ins] = merge_ints_.try_emplace(k.int_key, static_cast<uint32_t>(merge_keys_.size()));
        slot = m->second;
        inserted = ins;
        if (inserted) merge_keys_.push_back(Value::Int(k.int_key));
      } else {
        std::string_view bytes = p.other_keys[static_cast<size_t>(k.other)];
        auto [m, ins] = merge_others_.try_emplace(bytes, static_cast<uint32_t>(merge_keys_.size()));
        slot = m->second;
        inserted = ins;
        if (inserted) {
          std::string_view in = bytes;
          auto v = DecodeValue(in, ctx_.arena);
          merge_keys_.push_back(v.ok() ? *v : Value::Null());
        }
      }
      if (inserted) {
        if (merge_rows_.size() < merge_keys_.size() * row_words_) {
          merge_rows_.resize(std::max(merge_keys_.size() * row_words_, merge_rows_.size() * 2));
        }
        layout_->Init(row_at(slot));
      }
      layout_->Merge(row_at(slot), PaneRow(p, i));
    }
  }
  for (size_t i = 0; i < merge_keys_.size(); ++i) {
    EmitResult(merge_keys_[i], start, end, row_at(i));
    layout_->Destroy(row_at(i));
  }
}

void WindowOperator::EmitEncodedResult(std::string_view key, int64_t start, int64_t end,
                                       const std::byte* row) {
  std::string_view in = key;
  auto decoded = DecodeValue(in, ctx_.arena);
  EmitResult(decoded.ok() ? *decoded : Value::Null(), start, end, row);
}

void WindowOperator::EmitResult(const Value& key, int64_t start, int64_t end, const std::byte* row) {
  size_t n = 2 + (keyed_ ? 1 : 0) + aggs_.size();
  auto members = ctx_.arena.AllocateArray<Member>(n);
  size_t i = 0;
  members[i++] = {"window_start", Value::Timestamp(start)};
  members[i++] = {"window_end", Value::Timestamp(end)};
  if (keyed_) members[i++] = {key_name_, key};
  layout_->Results(row, ctx_.arena, results_);
  for (size_t a = 0; a < aggs_.size(); ++a) members[i++] = {aggs_[a].name, results_[a]};
  out_.push_back(Row{Value::Object(members), key, end - 1});
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
  // The first window still open at this watermark (end - 1 > wm): empty windows may only be
  // skipped up to it, since an event for an open window can still come.
  const int64_t first_open = CeilTo(wm - w_.size_ms + 2, w_.slide_ms);
  while (!panes_.empty()) {
    // Windows starting before `earliest` hold no data: skip them (closed ones only).
    int64_t earliest = CeilTo(panes_.begin()->first + pane_ms_ - w_.size_ms, w_.slide_ms);
    int64_t skip_to = std::min(earliest, first_open);
    if (next_window_start_ == kNoWatermark || next_window_start_ < skip_to) {
      next_window_start_ = skip_to;
    }
    if (next_window_start_ + w_.size_ms - 1 > wm) break;
    auto data = panes_.lower_bound(next_window_start_);
    if (data == panes_.end()) break;  // only panes kept for allowed lateness remain
    if (data->first >= next_window_start_ + w_.size_ms) {
      // A gap in the data: jump to the first window holding the next pane (or the first open).
      next_window_start_ = std::min(CeilTo(data->first + pane_ms_ - w_.size_ms, w_.slide_ms),
                                    std::max(next_window_start_ + w_.slide_ms, first_open));
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
    DropPane(first->second);
    panes_.erase(first);
  }
}

int64_t WindowOperator::NextSessionTimer(const SessionKey& sk) const {
  int64_t next = kNoTimer;
  for (const Session& s : sk.sessions) {
    next = std::min(next, s.fired ? s.end + w_.allowed_lateness_ms : s.end);
  }
  return next;
}

void WindowOperator::ArmSessionTimer(std::string_view key, SessionKey& sk, int64_t at) {
  // One pending timer per key is enough: when it fires, the next one is armed. An earlier time
  // (an out-of-order event opening an older session) adds another.
  if (at < sk.armed) {
    sk.armed = at;
    session_timers_.emplace(at, std::string(key));
  }
}

void WindowOperator::PushSession(const Row& row, std::string_view key,
                                 std::span<const Value> inputs) {
  int64_t start = row.timestamp;
  int64_t end = row.timestamp + w_.gap_ms;
  auto found = sessions_.find(key);
  if (found == sessions_.end()) found = sessions_.try_emplace(std::string(key)).first;
  SessionKey& sk = found->second;
  std::vector<Session>& list = sk.sessions;
  // Sessions this event touches merge into one.
  int64_t merged_start = start, merged_end = end;
  size_t touching = 0;
  size_t first_touching = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const Session& s = list[i];
    if (s.start < end && start < s.end) {
      if (touching++ == 0) first_touching = i;
      merged_start = std::min(merged_start, s.start);
      merged_end = std::max(merged_end, s.end);
    }
  }
  if (wm_ != kNoWatermark && merged_end - 1 + w_.allowed_lateness_ms <= wm_) {
    ReportLate(row, fmt::format("event time {} falls in a session that closed at {} (allowed "
                                "lateness {} ms, watermark {})",
                                row.timestamp, merged_end, w_.allowed_lateness_ms, wm_));
    if (list.empty()) sessions_.erase(found);
    return;
  }
  Session* target;
  if (touching == 0) {
    list.push_back(Session{start, end, NewState(), false});
    target = &list.back();
    state_bytes_ += target->state->Bytes();
  } else {
    // The common case extends one session in place; a bridging event folds the others into it.
    target = &list[first_touching];
    for (size_t i = list.size(); i-- > first_touching + 1;) {
      Session& s = list[i];
      if (s.start < merged_end && merged_start < s.end) {
        target->fired |= s.fired;
        size_t before = target->state->Bytes();
        target->state->row.Merge(s.state->row);
        state_bytes_ += target->state->Bytes() - before;
        state_bytes_ -= s.state->Bytes();
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    target = &list[first_touching];
    target->start = merged_start;
    target->end = merged_end;
  }
  if (layout_->all_inline()) {
    AddTo(*target->state, row, inputs);
  } else {
    size_t before = target->state->Bytes();
    AddTo(*target->state, row, inputs);
    state_bytes_ += target->state->Bytes() - before;
  }
  if (wm_ != kNoWatermark && target->end - 1 <= wm_) {
    // An allowed-late event changed (or created) a session past the watermark: emit it now.
    target->fired = true;
    EmitEncodedResult(key, target->start, target->end, target->state->row.data());
  } else {
    target->fired = false;  // extended past the watermark: it fires (again) at its new end
  }
  ArmSessionTimer(key, sk, target->fired ? target->end + w_.allowed_lateness_ms : target->end);
}

void WindowOperator::FireSessions(int64_t wm) {
  while (!session_timers_.empty() && session_timers_.begin()->first - 1 <= wm) {
    int64_t at = session_timers_.begin()->first;
    std::string key = std::move(session_timers_.begin()->second);
    session_timers_.erase(session_timers_.begin());
    auto it = sessions_.find(key);
    if (it == sessions_.end()) continue;
    SessionKey& sk = it->second;
    if (sk.armed == at) sk.armed = kNoTimer;
    auto& list = sk.sessions;
    std::sort(list.begin(), list.end(), [](const Session& a, const Session& b) { return a.start < b.start; });
    for (Session& s : list) {
      if (!s.fired && s.end - 1 <= wm) {
        s.fired = true;
        EmitEncodedResult(key, s.start, s.end, s.state->row.data());
      }
    }
    std::erase_if(list, [&](const Session& s) {
      bool expired = s.fired && s.end - 1 + w_.allowed_lateness_ms <= wm;
      if (expired) state_bytes_ -= s.state->Bytes();
      return expired;
    });
    if (list.empty()) {
      sessions_.erase(it);
      continue;
    }
    int64_t next = NextSessionTimer(sk);
    if (next != kNoTimer) ArmSessionTimer(key, sk, next);
  }
}

void WindowOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  if (w_.kind == WindowKind::kSession) {
    if (w_.early_every_ms > 0 && (last_early_ == kNoWatermark || wm >= last_early_ + w_.early_every_ms)) {
      last_early_ = wm;
      for (const auto& [key, sk] : sessions_) {
        for (const Session& s : sk.sessions) {
          if (!s.fired) EmitEncodedResult(key, s.start, s.end, s.state->row.data());
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

// Checkpoint layout: wm, next window start, last early firing; panes (start, rows: key kind,
// key, serialized aggregate row); sessions per key (start, end, fired, row).
void WindowOperator::SaveState(StateWriter& w) const {
  w.I64(wm_);
  w.I64(next_window_start_);
  w.I64(last_early_);
  w.U64(panes_.size());
  std::string row_bytes;
  for (const auto& [start, pane] : panes_) {
    w.I64(start);
    w.U64(pane.size());
    for (uint32_t i = 0; i < pane.size(); ++i) {
      const Pane::RowKey& k = pane.keys[i];
      if (k.other < 0) {
        w.U64(0);
        w.I64(k.int_key);
      } else {
        w.U64(1);
        w.Bytes(pane.other_keys[static_cast<size_t>(k.other)]);
      }
      row_bytes.clear();
      layout_->Serialize(reinterpret_cast<const std::byte*>(pane.rows.data() + i * row_words_),
                         row_bytes);
      w.Bytes(row_bytes);
    }
  }
  w.U64(sessions_.size());
  for (const auto& [key, sk] : sessions_) {
    w.Bytes(key);
    w.U64(sk.sessions.size());
    for (const Session& s : sk.sessions) {
      w.I64(s.start);
      w.I64(s.end);
      w.U64(s.fired ? 1 : 0);
      row_bytes.clear();
      s.state->row.Serialize(row_bytes);
      w.Bytes(row_bytes);
    }
  }
}

Status WindowOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();  // nothing saved yet
  wm_ = r.I64();
  next_window_start_ = r.I64();
  last_early_ = r.I64();
  uint64_t panes = r.Count(2);
  model::Arena scratch(4096);
  for (uint64_t p = 0; p < panes && r.ok(); ++p) {
    int64_t start = r.I64();
    uint64_t rows = r.Count(3);
    Pane& pane = panes_[start];
    for (uint64_t i = 0; i < rows && r.ok(); ++i) {
      Value key;
      if (r.U64() == 0) {
        key = Value::Int(r.I64());
      } else {
        std::string_view bytes = r.Bytes();
        auto v = DecodeValue(bytes, scratch);
        if (!v.ok()) return v.status();
        key = *v;
      }
      std::string_view row = r.Bytes();
      if (!r.ok()) break;
      uint32_t slot = PaneSlot(pane, key);
      // PaneSlot counted the empty row; the restored state replaces it.
      size_t before = layout_->MemoryBytes(PaneRow(pane, slot));
      SLUICE_RETURN_IF_ERROR(layout_->Deserialize(PaneRow(pane, slot), row));
      state_bytes_ += layout_->MemoryBytes(PaneRow(pane, slot)) - before;
      scratch.Reset();
    }
  }
  uint64_t keys = r.Count(2);
  for (uint64_t k = 0; k < keys && r.ok(); ++k) {
    std::string key(r.Bytes());
    uint64_t n = r.Count(4);
    SessionKey& sk = sessions_[key];
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Session s;
      s.start = r.I64();
      s.end = r.I64();
      s.fired = r.U64() != 0;
      std::string_view row = r.Bytes();
      if (!r.ok()) break;
      auto restored = AggregateRow::Deserialize(*layout_, row);
      if (!restored.ok()) return restored.status();
      s.state = std::make_unique<State>(std::move(*restored));
      state_bytes_ += s.state->Bytes();
      sk.sessions.push_back(std::move(s));
    }
    if (r.ok() && !sk.sessions.empty()) ArmSessionTimer(key, sk, NextSessionTimer(sk));
  }
  return r.status("window " + name_);
}

}  // namespace sluice::stream
