// TopNOperator: bounded candidate lists per partition, flushed on watermarks.
#include "stream/top_n_operator.h"

#include <algorithm>

#include "stream/value_codec.h"

namespace sluice::stream {

using model::Value;

namespace {

// Orders scalars: numbers by value, then timestamps, strings, booleans; NULL ranks last.
int Rank(const Value& v) {
  if (v.is_null()) return 9;
  if (v.is_number()) return 0;
  if (v.is_timestamp()) return 1;
  if (v.is_string()) return 2;
  if (v.is_bool()) return 3;
  return 4;
}

int Ascending(const Value& a, const Value& b) {
  int ra = Rank(a), rb = Rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (a.is_number()) {
    if (a.is_int() && b.is_int()) return a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value();
    double x = a.AsDouble(), y = b.AsDouble();
    return x < y ? -1 : x > y;
  }
  if (a.is_timestamp()) return a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value();
  if (a.is_string()) {
    int c = a.string_value().compare(b.string_value());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_bool()) return static_cast<int>(a.bool_value()) - static_cast<int>(b.bool_value());
  return 0;
}

}  // namespace

int TopNOperator::Compare(const Value& a, const Value& b) const {
  // NULL always ranks last, whatever the direction.
  if (a.is_null() || b.is_null()) return Ascending(a, b);
  int c = Ascending(a, b);
  return options_.descending ? -c : c;
}

void TopNOperator::Offer(Partition& p, const Row& row, const Value& order) {
  auto n = static_cast<size_t>(options_.n);
  // Quick reject: the list is full and this row ranks after the last kept one (or ties it
  // without ties allowed).
  if (p.rows.size() >= n) {
    int c = Compare(order, p.rows.back().order);
    if (c > 0 || (c == 0 && !options_.with_ties)) return;
  }
  Candidate cand;
  EncodeValue(row.value, cand.bytes);
  cand.timestamp = row.timestamp;
  cand.order = order;
  if (order.is_string()) {
    cand.order_bytes = std::string(order.string_value());
  }
  // Insert after every row that ranks before or equal (stable: earlier arrivals first).
  auto pos = std::upper_bound(p.rows.begin(), p.rows.end(), order, [this](const Value& o, const Candidate& c) {
    return Compare(o, c.order) < 0;
  });
  for (const auto& r : p.rows) state_bytes_ -= r.bytes.size() + r.order_bytes.size() + sizeof(Candidate);
  p.rows.insert(pos, std::move(cand));
  // Re-point string orders at their own storage (vector moves invalidated nothing we hold, but
  // a fresh Candidate's view must point into its own string).
  for (auto& r : p.rows) {
    if (!r.order_bytes.empty() || r.order.is_string()) r.order = Value::String(r.order_bytes);
  }
  // Trim beyond n, keeping ties with the n-th row when asked.
  if (p.rows.size() > n) {
    size_t keep = n;
    if (options_.with_ties) {
      while (keep < p.rows.size() && Compare(p.rows[keep].order, p.rows[n - 1].order) == 0) ++keep;
    }
    p.rows.resize(keep);
  }
  for (const auto& r : p.rows) state_bytes_ += r.bytes.size() + r.order_bytes.size() + sizeof(Candidate);
}

void TopNOperator::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  for (Row& row : rows) {
    Value part = partition_ ? partition_->Evaluate(row.value, ctx_.eval) : Value::Null();
    Value order = order_->Evaluate(row.value, ctx_.eval);
    if (!ctx_.eval.error.empty()) {
      std::string reason = std::move(ctx_.eval.error);
      ctx_.eval.error.clear();
      ReportError(row, reason);
      continue;
    }
    if (!order.is_null() && !order.is_number() && !order.is_timestamp() && !order.is_string() &&
        !order.is_bool()) {
      ReportError(row, "top_n: order_by must be a number, timestamp, string or boolean");
      continue;
    }
    scratch_.clear();
    EncodeValue(part, scratch_);
    auto it = partitions_.find(std::string_view(scratch_));
    if (it == partitions_.end()) {
      it = partitions_.emplace(scratch_, Partition{}).first;
      state_bytes_ += scratch_.size() + sizeof(Partition);
    }
    it->second.max_timestamp = std::max(it->second.max_timestamp, row.timestamp);
    Offer(it->second, row, order);
  }
}

void TopNOperator::OnWatermark(int64_t wm) {
  // Partitions complete at this watermark, emitted in a deterministic order.
  std::vector<StringMap<Partition>::iterator> due;
  for (auto it = partitions_.begin(); it != partitions_.end(); ++it) {
    if (it->second.max_timestamp <= wm) due.push_back(it);
  }
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    if (a->second.max_timestamp != b->second.max_timestamp) {
      return a->second.max_timestamp < b->second.max_timestamp;
    }
    return a->first < b->first;
  });
  for (auto& it : due) {
    for (const Candidate& c : it->second.rows) {
      std::string_view in = c.bytes;
      auto v = DecodeValue(in, ctx_.arena);
      if (!v.ok()) continue;  // our own encoding: cannot fail
      out_.push_back(Row{*v, Value::Null(), c.timestamp});
      state_bytes_ -= c.bytes.size() + c.order_bytes.size() + sizeof(Candidate);
    }
    state_bytes_ -= it->first.size() + sizeof(Partition);
    partitions_.erase(it);
  }
  if (!out_.empty()) {
    Emit(out_);
    out_.clear();
  }
  EmitWatermark(wm);
}

void TopNOperator::SaveState(StateWriter& w) const {
  w.U64(partitions_.size());
  std::string order;
  for (const auto& [key, p] : partitions_) {
    w.Bytes(key);
    w.I64(p.max_timestamp);
    w.U64(p.rows.size());
    for (const Candidate& c : p.rows) {
      w.Bytes(c.bytes);
      w.I64(c.timestamp);
      order.clear();
      EncodeValue(c.order, order);
      w.Bytes(order);
    }
  }
}

Status TopNOperator::LoadState(StateReader& r) {
  if (r.done()) return Status::Ok();
  uint64_t n = r.Count(3);
  model::Arena scratch(1024);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string key(r.Bytes());
    Partition& p = partitions_[key];
    state_bytes_ += key.size() + sizeof(Partition);
    p.max_timestamp = r.I64();
    uint64_t rows = r.Count(3);
    for (uint64_t j = 0; j < rows && r.ok(); ++j) {
      Candidate c;
      c.bytes = std::string(r.Bytes());
      c.timestamp = r.I64();
      std::string_view order = r.Bytes();
      if (!r.ok()) break;
      auto v = DecodeValue(order, scratch);
      if (!v.ok()) return v.status();
      if (v->is_string()) {
        c.order_bytes = std::string(v->string_value());
      } else if (!v->is_null() && !v->is_number() && !v->is_timestamp() && !v->is_bool()) {
        return DataLoss("top_n {}: order value of an unexpected type", name_);
      }
      c.order = *v;
      state_bytes_ += c.bytes.size() + c.order_bytes.size() + sizeof(Candidate);
      p.rows.push_back(std::move(c));
    }
    for (auto& c : p.rows) {
      if (c.order.is_string()) c.order = Value::String(c.order_bytes);
    }
    scratch.Reset();
  }
  return r.status("top_n " + name_);
}

}  // namespace sluice::stream
