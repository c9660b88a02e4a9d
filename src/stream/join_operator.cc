// Join operators: shared key/result handling, then window, interval, temporal and regular joins.
#include "stream/join_operator.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "stream/lifetime_join_operator.h"
#include "stream/operators.h"
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

// A deletion on the table side: a NULL event, or what a source with `metadata: true` makes of a
// JSON `null` record value ({"value": null, "_key": ...}).
bool IsDeletion(const Value& v) {
  if (v.is_null()) return true;
  if (!v.is_object()) return false;
  const Value* value = v.Find("value");
  return value != nullptr && value->is_null() && v.Find("_key") != nullptr;
}

template <typename Container>
auto UpperBoundByTime(Container& c, int64_t time) {
  return std::upper_bound(c.begin(), c.end(), time,
                          [](int64_t t, const auto& e) { return t < e.time; });
}
template <typename Container>
auto LowerBoundByTime(Container& c, int64_t time) {
  return std::lower_bound(c.begin(), c.end(), time,
                          [](const auto& e, int64_t t) { return e.time < t; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JoinOperator

JoinOperator::JoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                           std::unique_ptr<rules::Expression> left_key,
                           std::unique_ptr<rules::Expression> right_key)
    : Operator(std::move(name), ctx, 2),
      type_(spec.type),
      left_as_(spec.left_as),
      right_as_(spec.right_as),
      left_key_(std::move(left_key)),
      right_key_(std::move(right_key)) {}

JoinOperator::KeyStatus JoinOperator::EvalKey(int input, const Row& row, std::string& encoded) {
  rules::Expression& expr = input == kLeft ? *left_key_ : *right_key_;
  Value key = expr.Evaluate(row.value, ctx_.eval);
  if (!ctx_.eval.error.empty()) {
    reason_ = std::move(ctx_.eval.error);
    ctx_.eval.error.clear();
    ReportError(row, fmt::format("{}: {}", input == kLeft ? "left_key" : "right_key", reason_));
    return KeyStatus::kError;
  }
  if (key.is_null()) return KeyStatus::kNull;
  encoded.clear();
  EncodeValue(key, encoded);
  return KeyStatus::kOk;
}

JoinOperator::Stored JoinOperator::Store(const Row& row) {
  // Encoded into a reused buffer, then copied once: growing the stored string while encoding
  // would reallocate it several times per event and leave it up to twice too large.
  encode_scratch_.clear();
  EncodeValue(row.value, encode_scratch_);
  Stored s;
  s.time = row.timestamp;
  s.bytes.assign(encode_scratch_);
  return s;
}

Value JoinOperator::Restore(std::string_view bytes, int64_t time) {
  if (bytes.empty()) return Value::Null();
  std::string_view in = bytes;
  auto v = DecodeValue(in, ctx_.arena);
  if (!v.ok()) {
    ReportError(Row{Value::Null(), Value::Null(), time},
                fmt::format("a buffered event could not be restored: {}", v.status().message()));
    return Value::Null();
  }
  return *v;
}

void JoinOperator::AddResult(Value left, Value right, Value key, int64_t time,
                             int64_t window_start, int64_t window_end, bool windowed) {
  auto members = ctx_.arena.AllocateArray<Member>(windowed ? 4 : 2);
  members[0] = {left_as_, left};
  members[1] = {right_as_, right};
  if (windowed) {
    members[2] = {"window_start", Value::Timestamp(window_start)};
    members[3] = {"window_end", Value::Timestamp(window_end)};
  }
  out_.push_back(Row{Value::Object(members), key, time});
}

void JoinOperator::FlushOut() {
  if (out_.empty()) return;
  Emit(out_);
  out_.clear();
}

// ---------------------------------------------------------------------------------------------
// WindowJoinOperator

WindowJoinOperator::WindowJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                                       std::unique_ptr<rules::Expression> left_key,
                                       std::unique_ptr<rules::Expression> right_key)
    : JoinOperator(std::move(name), ctx, spec, std::move(left_key), std::move(right_key)),
      size_ms_(spec.window.size_ms),
      slide_ms_(spec.window.kind == WindowKind::kHopping ? spec.window.slide_ms
                                                          : spec.window.size_ms),
      pane_ms_(std::gcd(size_ms_, slide_ms_)) {
  SLUICE_CHECK(size_ms_ > 0 && slide_ms_ > 0 && spec.window.kind != WindowKind::kSession,
               "window join {}: bad window", name_);
}

int64_t WindowJoinOperator::LastWindowStartFor(int64_t pane) const {
  return FloorTo(pane, slide_ms_);
}

WindowJoinOperator::Pane& WindowJoinOperator::PaneAt(int64_t start) {
  if (cached_pane_ == nullptr || cached_start_ != start) {
    cached_pane_ = &panes_[start];
    cached_start_ = start;
  }
  return *cached_pane_;
}

void WindowJoinOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  for (const Row& row : rows) {
    int64_t pane = FloorTo(row.timestamp, pane_ms_);
    int64_t last_end = LastWindowStartFor(pane) + size_ms_;
    if (wm_ != kNoWatermark && last_end - 1 <= wm_) {
      ReportLate(row, fmt::format("{} event time {} is past every window it belongs to (last "
                                  "ends at {}, watermark {})",
                                  input == kLeft ? "left" : "right", row.timestamp, last_end, wm_));
      continue;
    }
    KeyStatus ks = EvalKey(input, row, scratch_);
    if (ks == KeyStatus::kError) continue;
    if (ks == KeyStatus::kNull) {
      // NULL never matches; a left outer join still reports the left event when its window fires.
      if (input == kRight || !left_outer()) continue;
      scratch_.clear();
    }
    Pane& p = PaneAt(pane);
    Entry e{scratch_, Store(row)};
    state_bytes_ += e.Bytes();
    (input == kLeft ? p.left : p.right).push_back(std::move(e));
  }
}

void WindowJoinOperator::FireWindow(int64_t start) {
  int64_t end = start + size_ms_;
  auto first = panes_.lower_bound(start);
  auto last = panes_.lower_bound(end);
  // Group by key only the events that can produce rows: an inner join groups its right events
  // and then the left events of those keys (Nexmark q7: every bid on the left, one max per
  // window on the right, so this is one hash probe per bid); a left outer join all left events.
  struct Group {
    std::vector<const Stored*> left;
    std::vector<const Stored*> right;
  };
  absl::flat_hash_map<std::string_view, Group> groups;
  auto add = [&](bool left_side, bool create) {
    for (auto p = first; p != last; ++p) {
      for (const Entry& e : left_side ? p->second.left : p->second.right) {
        Group* g;
        if (create) {
          g = &groups[e.key];
        } else {
          auto it = groups.find(e.key);
          if (it == groups.end()) continue;
          g = &it->second;
        }
        (left_side ? g->left : g->right).push_back(&e.event);
      }
    }
  };
  if (left_outer()) {
    add(/*left_side=*/true, /*create=*/true);
    add(/*left_side=*/false, /*create=*/false);
  } else {
    add(/*left_side=*/false, /*create=*/true);
    add(/*left_side=*/true, /*create=*/false);
  }
  // Results come out ordered by encoded key, then by pane and arrival.
  std::vector<std::string_view> keys;
  for (const auto& [key, g] : groups) {
    if (!g.left.empty() && (!g.right.empty() || left_outer())) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<Value> rights;
  for (std::string_view key : keys) {
    const Group& g = groups[key];
    rights.clear();
    for (const Stored* r : g.right) rights.push_back(Restore(r->bytes, r->time));
    Value key_value = Restore(key, end - 1);
    for (const Stored* l : g.left) {
      Value left = Restore(l->bytes, l->time);
      if (rights.empty()) {
        AddResult(left, Value::Null(), key_value, end - 1, start, end, true);
        continue;
      }
      for (const Value& right : rights) AddResult(left, right, key_value, end - 1, start, end, true);
    }
    FlushOut();  // per key, so a large window does not pile up rows
  }
}

void WindowJoinOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  while (!panes_.empty()) {
    // Windows before the first one holding data, and not closable yet, are skipped only up to
    // the first window the watermark has not closed: an event may still arrive for that one.
    int64_t earliest = CeilTo(panes_.begin()->first + pane_ms_ - size_ms_, slide_ms_);
    int64_t open = CeilTo(wm - size_ms_ + 2, slide_ms_);  // first window with end - 1 > wm
    next_window_start_ = std::max(next_window_start_, std::min(earliest, open));
    if (next_window_start_ + size_ms_ - 1 > wm) break;
    FireWindow(next_window_start_);
    next_window_start_ += slide_ms_;
    // Panes whose last window has fired are done.
    while (!panes_.empty() && LastWindowStartFor(panes_.begin()->first) < next_window_start_) {
      for (const Entry& e : panes_.begin()->second.left) state_bytes_ -= e.Bytes();
      for (const Entry& e : panes_.begin()->second.right) state_bytes_ -= e.Bytes();
      panes_.erase(panes_.begin());
      cached_pane_ = nullptr;
    }
  }
  FlushOut();
  EmitWatermark(wm);
}

// ---------------------------------------------------------------------------------------------
// IntervalJoinOperator

IntervalJoinOperator::IntervalJoinOperator(std::string name, TaskContext& ctx,
                                           const JoinSpec& spec,
                                           std::unique_ptr<rules::Expression> left_key,
                                           std::unique_ptr<rules::Expression> right_key)
    : JoinOperator(std::move(name), ctx, spec, std::move(left_key), std::move(right_key)),
      lower_ms_(spec.lower_ms),
      upper_ms_(spec.upper_ms) {
  SLUICE_CHECK(lower_ms_ <= upper_ms_, "interval join {}: lower > upper", name_);
}

int64_t IntervalJoinOperator::ExpiryOf(int input, int64_t time) const {
  return input == kLeft ? time + upper_ms_ : time - lower_ms_;
}

void IntervalJoinOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  for (const Row& row : rows) {
    const int64_t t = row.timestamp;
    if (wm_ != kNoWatermark && t <= wm_) {
      ReportLate(row, fmt::format("{} event time {} is at or before the join's watermark {}",
                                  input == kLeft ? "left" : "right", t, wm_));
      continue;
    }
    KeyStatus ks = EvalKey(input, row, scratch_);
    if (ks == KeyStatus::kError) continue;
    if (ks == KeyStatus::kNull) {
      if (input == kLeft && left_outer()) AddResult(row.value, Value::Null(), Value::Null(), t);
      continue;
    }
    auto [it, inserted] = keys_.try_emplace(scratch_);
    if (inserted) state_bytes_ += kStoredOverhead + scratch_.size();
    KeyState& k = it->second;
    Value key_value;
    bool matched = false;
    if (input == kLeft) {
      // right.time in [t + lower, t + upper]
      for (auto r = LowerBoundByTime(k.right, t + lower_ms_);
           r != k.right.end() && r->time <= t + upper_ms_; ++r) {
        if (!matched) key_value = Restore(it->first, t);
        matched = true;
        AddResult(row.value, Restore(r->bytes, r->time), key_value, std::max(t, r->time));
      }
    } else {
      // left.time in [t - upper, t - lower]
      for (auto l = LowerBoundByTime(k.left, t - upper_ms_);
           l != k.left.end() && l->time <= t - lower_ms_; ++l) {
        if (!matched) key_value = Restore(it->first, t);
        matched = true;
        l->matched = true;
        AddResult(Restore(l->bytes, l->time), row.value, key_value, std::max(t, l->time));
      }
    }
    if (ExpiryOf(input, t) <= wm_) {
      // Nothing that is not late can match it any more: do not buffer it.
      if (input == kLeft && left_outer() && !matched) {
        AddResult(row.value, Value::Null(), Restore(it->first, t), t);
      }
    } else {
      Stored s = Store(row);
      s.matched = matched;
      state_bytes_ += s.Bytes();
      auto& side = input == kLeft ? k.left : k.right;
      side.insert(UpperBoundByTime(side, t), std::move(s));
    }
    if (k.left.empty() && k.right.empty()) {
      state_bytes_ -= kStoredOverhead + it->first.size();
      keys_.erase(it);
    } else {
      Arm(it->first, k);
    }
  }
  FlushOut();
}

void IntervalJoinOperator::Arm(const std::string& key, KeyState& ks) {
  int64_t e = INT64_MAX;
  if (!ks.left.empty()) e = std::min(e, ExpiryOf(kLeft, ks.left.front().time));
  if (!ks.right.empty()) e = std::min(e, ExpiryOf(kRight, ks.right.front().time));
  if (e < ks.timer) {
    ks.timer = e;
    timers_.emplace(e, key);
  }
}

void IntervalJoinOperator::Expire(const std::string& key, KeyState& ks, int64_t wm) {
  while (!ks.left.empty() && ExpiryOf(kLeft, ks.left.front().time) <= wm) {
    Stored& l = ks.left.front();
    if (left_outer() && !l.matched) {
      AddResult(Restore(l.bytes, l.time), Value::Null(), Restore(key, l.time), l.time);
    }
    state_bytes_ -= l.Bytes();
    ks.left.pop_front();
  }
  while (!ks.right.empty() && ExpiryOf(kRight, ks.right.front().time) <= wm) {
    state_bytes_ -= ks.right.front().Bytes();
    ks.right.pop_front();
  }
}

void IntervalJoinOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  while (!timers_.empty() && timers_.begin()->first <= wm) {
    auto node = timers_.extract(timers_.begin());
    auto it = keys_.find(node.mapped());
    if (it == keys_.end() || it->second.timer != node.key()) continue;  // stale
    KeyState& ks = it->second;
    ks.timer = INT64_MAX;
    Expire(it->first, ks, wm);
    if (ks.left.empty() && ks.right.empty()) {
      state_bytes_ -= kStoredOverhead + it->first.size();
      keys_.erase(it);
    } else {
      Arm(it->first, ks);
    }
  }
  FlushOut();
  // Unmatched left rows of a left outer join come out when the watermark reaches time + upper:
  // hold the output watermark back so they are not behind it downstream.
  EmitWatermark(left_outer() ? wm - std::max<int64_t>(upper_ms_, 0) : wm);
}

// ---------------------------------------------------------------------------------------------
// TemporalJoinOperator

TemporalJoinOperator::TemporalJoinOperator(std::string name, TaskContext& ctx,
                                           const JoinSpec& spec,
                                           std::unique_ptr<rules::Expression> left_key,
                                           std::unique_ptr<rules::Expression> right_key,
                                           const JoinStateOptions& state)
    : JoinOperator(std::move(name), ctx, spec, std::move(left_key), std::move(right_key)),
      ttl_ms_(state.ttl_ms),
      table_([&] {
        SpillStoreOptions o = state.spill;
        o.name = name_;
        return o;
      }()) {}

std::vector<std::pair<std::string, uint64_t>> TemporalJoinOperator::Counters() const {
  auto c = table_.Counters();
  c.emplace_back("versions", versions_);
  c.emplace_back("waiting", waiting_.size());
  c.emplace_back("ttl_expired_keys", ttl_expired_);
  return c;
}

void TemporalJoinOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  for (const Row& row : rows) {
    if (input == kLeft) {
      PushLeft(row);
    } else {
      PushRight(row);
    }
  }
  FlushOut();
  table_.Shrink();  // after the batch: slots are not held across it
}

void TemporalJoinOperator::PushLeft(const Row& row) {
  const int64_t t = row.timestamp;
  if (wm_ != kNoWatermark && t <= wm_) {
    ReportLate(row, fmt::format("left event time {} is at or before the join's watermark {}", t,
                                wm_));
    return;
  }
  KeyStatus ks = EvalKey(kLeft, row, scratch_);
  if (ks == KeyStatus::kError) return;
  if (ks == KeyStatus::kNull) {
    if (left_outer()) AddResult(row.value, Value::Null(), Value::Null(), t);
    return;
  }
  if (right_wm_ != kNoWatermark && t <= right_wm_) {
    JoinLeft(scratch_, row.value, t);  // every version up to t is known
    return;
  }
  Waiting w;
  w.key = scratch_;
  EncodeValue(row.value, w.bytes);
  state_bytes_ += kStoredOverhead + w.key.size() + w.bytes.size();
  waiting_.emplace(t, std::move(w));
}

void TemporalJoinOperator::PushRight(const Row& row) {
  const int64_t t = row.timestamp;
  if (right_wm_ != kNoWatermark && t <= right_wm_) {
    ReportLate(row, fmt::format("right (table) event time {} is at or before the right input's "
                                "watermark {}: left events up to it were joined without it",
                                t, right_wm_));
    return;
  }
  bool deletion = IsDeletion(row.value);
  KeyStatus ks = EvalKey(kRight, row, scratch_);
  if (ks != KeyStatus::kOk) return;  // errors were reported; a NULL key never matches
  Table::Slot* slot = table_.FindOrAdd(scratch_);
  Version v;
  v.time = t;
  if (!deletion) EncodeValue(row.value, v.bytes);  // never empty: empty marks a deletion
  table_.AddBytes(slot, static_cast<int64_t>(v.Bytes()));
  ++versions_;
  auto& versions = slot->value;
  versions.insert(UpperBoundByTime(versions, t), std::move(v));  // same time: the later wins
  slot->stamp = versions.back().time;
  if (Prune(*slot)) table_.Erase(slot);
}

void TemporalJoinOperator::JoinLeft(std::string_view key, Value left, int64_t time) {
  const Version* version = nullptr;
  if (Table::Slot* slot = table_.Find(key); slot != nullptr) {
    auto pos = UpperBoundByTime(slot->value, time);
    if (pos != slot->value.begin()) version = &*std::prev(pos);
    if (version != nullptr && !Visible(*version, time)) version = nullptr;  // TTL passed
  }
  if (version != nullptr && !version->bytes.empty()) {
    AddResult(left, Restore(version->bytes, version->time), Restore(key, time), time);
  } else if (left_outer()) {
    AddResult(left, Value::Null(), Restore(key, time), time);
  }
}

bool TemporalJoinOperator::Prune(Table::Slot& slot) {
  std::vector<Version>& versions = slot.value;
  // Keep the latest version with time <= wm_ (what a left event just after wm_ sees) and later.
  auto pos = UpperBoundByTime(versions, wm_);
  auto keep_from = pos == versions.begin() ? pos : std::prev(pos);
  // That version, when its TTL has passed at wm_ + 1, is invisible to every left event to come.
  if (keep_from != pos && !Visible(*keep_from, wm_ + 1) && !keep_from->bytes.empty()) {
    ++ttl_expired_;
    ++keep_from;
  }
  // A leading deletion means the same as no version at all.
  while (keep_from != versions.end() && keep_from->bytes.empty()) ++keep_from;
  int64_t freed = 0;
  for (auto v = versions.begin(); v != keep_from; ++v) freed += static_cast<int64_t>(v->Bytes());
  table_.AddBytes(&slot, -freed);
  versions_ -= static_cast<size_t>(keep_from - versions.begin());
  versions.erase(versions.begin(), keep_from);
  return versions.empty();
}

void TemporalJoinOperator::PruneAll() {
  table_.RetainInMemory([&](Table::Slot& slot) { return !Prune(slot); });
  // Spilled keys are pruned when read back; TTL reaches them on disk: a key whose latest version
  // (its stamp) is invisible at wm_ + 1 is all gone, as Prune would find.
  if (ttl_ms_ > 0 && wm_ != kNoWatermark) {
    int64_t cutoff = TtlCutoff(ttl_ms_, wm_ + 1);
    if (cutoff != INT64_MIN) {
      table_.EraseStampedUpTo(
          cutoff, [&](const Table::Slot& slot) { versions_ -= slot.value.size(); },
          [&](std::string_view, std::string_view encoded) {
            versions_ -= VersionsCodec::Count(encoded);
            ++ttl_expired_;
          });
    }
  }
  // Amortised: the next full pass comes after as many new versions as are kept now.
  next_prune_at_ = std::max<size_t>(1024, 2 * versions_);
}

void TemporalJoinOperator::OnInputWatermark(int input, int64_t wm) {
  if (input != kRight) return;
  right_wm_ = wm;
  // Left events up to the table's watermark have every version they can see: join them now,
  // before the combined watermark moves past them.
  while (!waiting_.empty() && waiting_.begin()->first <= wm) {
    auto node = waiting_.extract(waiting_.begin());
    const Waiting& w = node.mapped();
    state_bytes_ -= kStoredOverhead + w.key.size() + w.bytes.size();
    Value left = Restore(w.bytes, node.key());
    JoinLeft(w.key, left, node.key());
  }
  FlushOut();
  table_.Shrink();  // JoinLeft read spilled keys back
}

void TemporalJoinOperator::OnWatermark(int64_t wm) {
  wm_ = wm;
  bool ttl_due = ttl_ms_ > 0 && wm >= next_ttl_prune_;
  if (versions_ >= next_prune_at_ || ttl_due) PruneAll();
  if (ttl_due) next_ttl_prune_ = wm + std::max<int64_t>(1, ttl_ms_ / 2);
  FlushOut();
  EmitWatermark(wm);
}

// ---------------------------------------------------------------------------------------------
// RegularJoinOperator

RegularJoinOperator::RegularJoinOperator(std::string name, TaskContext& ctx, const JoinSpec& spec,
                                         std::unique_ptr<rules::Expression> left_key,
                                         std::unique_ptr<rules::Expression> right_key,
                                         const JoinStateOptions& state)
    : JoinOperator(std::move(name), ctx, spec, std::move(left_key), std::move(right_key)),
      ttl_ms_(state.ttl_ms),
      store_([&] {
        SpillStoreOptions o = state.spill;
        o.name = name_;
        return o;
      }()) {
  SLUICE_CHECK(!left_outer(), "regular join {}: inner only", name_);
}

int64_t RegularJoinOperator::ExpiryCutoff(int64_t wm) const { return TtlCutoff(ttl_ms_, wm); }

std::vector<std::pair<std::string, uint64_t>> RegularJoinOperator::Counters() const {
  auto c = store_.Counters();
  c.emplace_back("ttl_expired_keys", ttl_expired_);
  return c;
}

void RegularJoinOperator::Push(int input, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  const int64_t cutoff = ExpiryCutoff(CombinedInputWatermark());
  for (const Row& row : rows) {
    if (EvalKey(input, row, scratch_) != KeyStatus::kOk) continue;  // NULL never matches
    KeyStore::Slot* slot = store_.Find(scratch_);
    if (slot != nullptr && slot->stamp <= cutoff) {
      // Expired: its rows match nothing any more; the key starts afresh.
      store_.Erase(slot);
      ++ttl_expired_;
      slot = nullptr;
    }
    if (slot == nullptr) slot = store_.Add(scratch_);
    KeyState& k = slot->value;
    const auto& others = input == kLeft ? k.right : k.left;
    if (!others.empty()) {
      Value key_value = Restore(slot->key(), row.timestamp);
      for (const Stored& o : others) {
        Value other = Restore(o.bytes, o.time);
        int64_t time = std::max(row.timestamp, o.time);
        if (input == kLeft) {
          AddResult(row.value, other, key_value, time);
        } else {
          AddResult(other, row.value, key_value, time);
        }
      }
    }
    Stored s = Store(row);
    store_.AddBytes(slot, static_cast<int64_t>(s.Bytes()));
    (input == kLeft ? k.left : k.right).push_back(std::move(s));
    slot->stamp = std::max(slot->stamp, row.timestamp);
  }
  FlushOut();
  store_.Shrink();  // after the batch: slots are not held across it
}

void RegularJoinOperator::OnWatermark(int64_t wm) {
  // Expired keys never match (Push checks); sweeping them out costs a pass over the whole state,
  // memory and disk, so it runs once per ttl/2 of event time: a key is freed by 1.5 ttl.
  if (ttl_ms_ > 0 && wm >= next_sweep_) {
    int64_t cutoff = ExpiryCutoff(wm);
    if (cutoff != INT64_MIN) ttl_expired_ += store_.EraseStampedUpTo(cutoff);
    next_sweep_ = wm + std::max<int64_t>(1, ttl_ms_ / 2);
  }
  EmitWatermark(wm);
}

void TemporalJoinOperator::VersionsCodec::Encode(const std::vector<Version>& v,
                                                 std::string& out) {
  StateWriter w(out);
  w.U64(v.size());
  for (const Version& x : v) {
    w.I64(x.time);
    w.Bytes(x.bytes);
  }
}

bool TemporalJoinOperator::VersionsCodec::Decode(std::string_view in, std::vector<Version>& v) {
  StateReader r(in);
  for (uint64_t i = 0, m = r.Count(2); i < m && r.ok(); ++i) {
    Version x;
    x.time = r.I64();
    x.bytes = std::string(r.Bytes());
    v.push_back(std::move(x));
  }
  return r.ok() && r.done();
}

size_t TemporalJoinOperator::VersionsCodec::Bytes(const std::vector<Version>& v) {
  size_t n = 0;
  for (const Version& x : v) n += x.Bytes();
  return n;
}

size_t TemporalJoinOperator::VersionsCodec::Count(std::string_view in) {
  StateReader r(in);
  uint64_t n = r.U64();
  return r.ok() ? static_cast<size_t>(n) : 0;
}

void RegularJoinOperator::KeyCodec::Encode(const KeyState& k, std::string& out) {
  StateWriter w(out);
  SaveEvents(w, k.left);
  SaveEvents(w, k.right);
}

bool RegularJoinOperator::KeyCodec::Decode(std::string_view in, KeyState& k) {
  StateReader r(in);
  for (auto* side : {&k.left, &k.right}) {
    for (uint64_t i = 0, m = r.Count(3); i < m && r.ok(); ++i) side->push_back(LoadStored(r));
  }
  return r.ok() && r.done();
}

size_t RegularJoinOperator::KeyCodec::Bytes(const KeyState& k) {
  size_t n = 0;
  for (const Stored& s : k.left) n += s.Bytes();
  for (const Stored& s : k.right) n += s.Bytes();
  return n;
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Operator>> MakeJoinOperator(std::string name, TaskContext& ctx,
                                                  const JoinSpec& spec,
                                                  const JoinStateOptions& state) {
  if (spec.kind == JoinKind::kLifetime) return MakeLifetimeJoinOperator(std::move(name), ctx, spec);
  auto left = CompileSpecExpression(spec.left_key);
  if (!left.ok()) return left.status();
  auto right = CompileSpecExpression(spec.right_key);
  if (!right.ok()) return right.status();
  std::unique_ptr<Operator> op;
  switch (spec.kind) {
    case JoinKind::kWindow:
      op = std::make_unique<WindowJoinOperator>(std::move(name), ctx, spec, std::move(*left),
                                                std::move(*right));
      break;
    case JoinKind::kInterval:
      op = std::make_unique<IntervalJoinOperator>(std::move(name), ctx, spec, std::move(*left),
                                                  std::move(*right));
      break;
    case JoinKind::kTemporal:
      op = std::make_unique<TemporalJoinOperator>(std::move(name), ctx, spec, std::move(*left),
                                                  std::move(*right), state);
      break;
    case JoinKind::kRegular:
      op = std::make_unique<RegularJoinOperator>(std::move(name), ctx, spec, std::move(*left),
                                                 std::move(*right), state);
      break;
    case JoinKind::kLifetime: break;  // above
  }
  return op;
}

// --- checkpointed state ---

void JoinOperator::SaveStored(StateWriter& w, const Stored& s) {
  w.I64(s.time);
  w.Bytes(s.bytes);
  w.U64(s.matched ? 1 : 0);
}

JoinOperator::Stored JoinOperator::LoadStored(StateReader& r) {
  Stored s;
  s.time = r.I64();
  s.bytes = std::string(r.Bytes());
  s.matched = r.U64() != 0;
  return s;
}

void WindowJoinOperator::SaveState(StateWriter& w) const {
  // Format (docs/formats/checkpoint.md) groups each pane's events by key, arrival order kept.
  w.I64(wm_);
  w.I64(next_window_start_);
  w.U64(panes_.size());
  for (const auto& [start, pane] : panes_) {
    struct Group {
      std::vector<const Stored*> left;
      std::vector<const Stored*> right;
    };
    std::vector<std::string_view> order;
    absl::flat_hash_map<std::string_view, Group> groups;
    for (int side = kLeft; side <= kRight; ++side) {
      for (const Entry& e : side == kLeft ? pane.left : pane.right) {
        auto [it, inserted] = groups.try_emplace(e.key);
        if (inserted) order.push_back(e.key);
        (side == kLeft ? it->second.left : it->second.right).push_back(&e.event);
      }
    }
    w.I64(start);
    w.U64(order.size());
    for (std::string_view key : order) {
      const Group& g = groups[key];
      w.Bytes(key);
      w.U64(g.left.size());
      for (const Stored* s : g.left) SaveStored(w, *s);
      w.U64(g.right.size());
      for (const Stored* s : g.right) SaveStored(w, *s);
    }
  }
}

Status WindowJoinOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  wm_ = r.I64();
  next_window_start_ = r.I64();
  uint64_t panes = r.Count(2);
  for (uint64_t p = 0; p < panes && r.ok(); ++p) {
    Pane& pane = panes_[r.I64()];
    uint64_t n = r.Count(3);
    for (uint64_t k = 0; k < n && r.ok(); ++k) {
      std::string key(r.Bytes());
      for (int side = kLeft; side <= kRight; ++side) {
        auto& entries = side == kLeft ? pane.left : pane.right;
        for (uint64_t i = 0, m = r.Count(3); i < m && r.ok(); ++i) {
          entries.push_back(Entry{key, LoadStored(r)});
          state_bytes_ += entries.back().Bytes();
        }
      }
    }
  }
  return r.status("window join " + name_);
}

void IntervalJoinOperator::SaveState(StateWriter& w) const {
  w.I64(wm_);
  w.U64(keys_.size());
  for (const auto& [key, ks] : keys_) {
    w.Bytes(key);
    SaveEvents(w, ks.left);
    SaveEvents(w, ks.right);
  }
}

Status IntervalJoinOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  wm_ = r.I64();
  uint64_t n = r.Count(3);
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    std::string key(r.Bytes());
    KeyState& ks = keys_[key];
    state_bytes_ += kStoredOverhead + key.size();
    LoadEvents(r, ks.left);
    LoadEvents(r, ks.right);
    if (r.ok()) Arm(key, ks);
  }
  return r.status("interval join " + name_);
}

void TemporalJoinOperator::SaveState(StateWriter& w) const {
  w.I64(wm_);
  w.I64(right_wm_);
  // Keys from memory and from disk (whose bytes are the same encoding, copied as they are).
  std::string body;
  StateWriter b(body);
  uint64_t n = 0;
  table_.ForEachInMemory([&](const Table::Slot& slot) {
    ++n;
    b.Bytes(slot.key());
    VersionsCodec::Encode(slot.value, body);
  });
  table_.ForEachSpilled([&](std::string_view key, int64_t, std::string_view versions) {
    ++n;
    b.Bytes(key);
    body.append(versions);
  });
  w.U64(n);
  w.out().append(body);
  w.U64(waiting_.size());
  for (const auto& [time, wait] : waiting_) {
    w.I64(time);
    w.Bytes(wait.key);
    w.Bytes(wait.bytes);
  }
}

Status TemporalJoinOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  wm_ = r.I64();
  right_wm_ = r.I64();
  uint64_t n = r.Count(2);
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    std::string_view key = r.Bytes();
    std::vector<Version> versions;
    for (uint64_t i = 0, m = r.Count(2); i < m && r.ok(); ++i) {
      Version v;
      v.time = r.I64();
      v.bytes = std::string(r.Bytes());
      versions.push_back(std::move(v));
    }
    if (!r.ok() || versions.empty()) continue;
    Table::Slot* slot = table_.FindOrAdd(key);
    versions_ -= slot->value.size();  // a key saved twice: the later copy wins
    slot->value = std::move(versions);
    slot->stamp = slot->value.back().time;
    versions_ += slot->value.size();
    table_.SetValueBytes(slot, VersionsCodec::Bytes(slot->value));
    // Versions whose TTL passed while the state was saved (or under a shorter TTL now) go.
    if (ttl_ms_ > 0 && Prune(*slot)) table_.Erase(slot);
    table_.Shrink();  // a table larger than the budget spills while it loads
  }
  uint64_t waiting = r.Count(3);
  for (uint64_t i = 0; i < waiting && r.ok(); ++i) {
    int64_t time = r.I64();
    Waiting w;
    w.key = std::string(r.Bytes());
    w.bytes = std::string(r.Bytes());
    state_bytes_ += kStoredOverhead + w.key.size() + w.bytes.size();
    waiting_.emplace(time, std::move(w));
  }
  next_prune_at_ = std::max<size_t>(1024, 2 * versions_);
  return r.status("temporal join " + name_);
}

// Format 2 (docs/formats/checkpoint.md): `u` 0 (an empty format-1 state to older readers), `u` 2,
// `u` keys, each `bytes` key, `i` stamp, left and right events. Keys come from memory and from
// disk (their disk bytes are the same encoding, copied as they are); expired keys are left out.
void RegularJoinOperator::SaveState(StateWriter& w) const {
  const int64_t cutoff = ExpiryCutoff(CombinedInputWatermark());
  std::string body;
  StateWriter b(body);
  uint64_t n = 0;
  store_.ForEachInMemory([&](const KeyStore::Slot& slot) {
    if (slot.stamp <= cutoff) return;
    ++n;
    b.Bytes(slot.key());
    b.I64(slot.stamp);
    KeyCodec::Encode(slot.value, body);
  });
  store_.ForEachSpilled([&](std::string_view key, int64_t stamp, std::string_view events) {
    if (stamp <= cutoff) return;
    ++n;
    b.Bytes(key);
    b.I64(stamp);
    body.append(events);
  });
  w.U64(0);
  w.U64(2);
  w.U64(n);
  w.out().append(body);
}

Status RegularJoinOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  uint64_t n = r.Count(3);
  bool stamped = false;
  if (n == 0 && !r.done()) {
    if (r.U64() != 2) return DataLoss("regular join {}: unknown state format", name_);
    stamped = true;
    n = r.Count(4);
  }
  const int64_t wm = CombinedInputWatermark();
  const int64_t cutoff = ExpiryCutoff(wm);
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    std::string_view key = r.Bytes();
    // Format 1 has no stamps: such keys count as updated at the restored watermark.
    int64_t stamp = stamped ? r.I64() : wm;
    KeyState ks;
    for (auto* side : {&ks.left, &ks.right}) {
      for (uint64_t i = 0, m = r.Count(3); i < m && r.ok(); ++i) side->push_back(LoadStored(r));
    }
    if (!r.ok()) break;
    if (stamp <= cutoff) {
      ++ttl_expired_;  // expired while saved: restoring it would bring it back
      continue;
    }
    KeyStore::Slot* slot = store_.Add(key);
    slot->value = std::move(ks);
    slot->stamp = stamp;
    store_.AddBytes(slot, static_cast<int64_t>(KeyCodec::Bytes(slot->value)));
    store_.Shrink();  // a state larger than the budget spills while it loads
  }
  return r.status("regular join " + name_);
}

}  // namespace sluice::stream
