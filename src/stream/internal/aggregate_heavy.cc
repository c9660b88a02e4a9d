// count_distinct, approx_count_distinct, approx_percentile and collect_list accumulators.
#include "stream/internal/aggregate_heavy.h"

#include <cmath>
#include <vector>

#include "stream/hyperloglog.h"
#include "stream/internal/aggregate_slot.h"
#include "stream/quantile_sketch.h"

namespace sluice::stream::internal {

using model::Value;

namespace {

template <typename T>
const T& SameKind(const Accumulator& self, const Accumulator& other) {
  SLUICE_CHECK(self.kind() == other.kind(), "merging {} into {}", AggregateKindName(other.kind()),
               AggregateKindName(self.kind()));
  return static_cast<const T&>(other);
}

// ---- count_distinct (exact) ----

// Distinct values in an open-addressing table of indexes into values_ (with their hashes kept
// apart so probing and growing never touch the values). One heap copy per distinct string,
// array or object; numbers and timestamps are stored inline in their OwnedValue.
// Invariants:
//  1. values_.size() == hashes_.size(); no two values_ are Equal.
//  2. table_ is empty or a power of two, at most half full; a slot holds index + 1, 0 = free.
class CountDistinctAccumulator final : public Accumulator {
 public:
  CountDistinctAccumulator() : Accumulator(AggregateKind::kCountDistinct) {}

  void Add(const Value& v, int64_t) override {
    if (v.is_null()) return;
    const uint64_t h = v.Hash();
    if (Find(v, h)) return;
    auto& owned = values_.emplace_back();
    owned.Set(v);
    Insert(h);
  }

  void Merge(const Accumulator& other) override {
    const auto& o = SameKind<CountDistinctAccumulator>(*this, other);
    model::Arena tmp(256);
    for (size_t i = 0; i < o.values_.size(); ++i) {
      const Value v = o.values_[i].View(tmp);
      if (!Find(v, o.hashes_[i])) {
        values_.emplace_back().CopyFrom(o.values_[i]);
        Insert(o.hashes_[i]);
      }
      tmp.Reset();
    }
  }

  Value Result(model::Arena&) const override {
    return Value::Int(static_cast<int64_t>(values_.size()));
  }

  void Serialize(std::string& out) const override {
    PutAccumulatorHeader(out, kind());
    varint::AppendUnsigned(out, values_.size());
    for (const OwnedValue& v : values_) v.Encode(out);
  }

  static sluice::Result<std::unique_ptr<Accumulator>> Decode(Reader& r) {
    auto acc = std::make_unique<CountDistinctAccumulator>();
    uint64_t n;
    if (!r.Varint(&n) || n > r.remaining()) return Corrupt("bad distinct count");
    model::Arena tmp(256);
    for (uint64_t i = 0; i < n; ++i) {
      OwnedValue v;
      SLUICE_RETURN_IF_ERROR(v.Decode(r));
      if (v.is_null()) return Corrupt("null in count_distinct");
      const Value view = v.View(tmp);
      const uint64_t h = view.Hash();
      if (acc->Find(view, h)) return Corrupt("duplicate in count_distinct");
      acc->values_.emplace_back().CopyFrom(v);
      acc->Insert(h);
      tmp.Reset();
    }
    return std::unique_ptr<Accumulator>(std::move(acc));
  }

  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) + values_.capacity() * sizeof(OwnedValue) +
                   hashes_.capacity() * sizeof(uint64_t) + table_.capacity() * sizeof(uint32_t) +
                   scratch_.reserved_bytes();
    for (const OwnedValue& v : values_) bytes += v.HeapBytes();
    return bytes;
  }

  void Reset() override {
    values_.clear();
    hashes_.clear();
    table_.clear();
    scratch_.Reset();
  }

  std::string_view error() const override { return {}; }

 private:
  bool Find(const Value& v, uint64_t h) const {
    if (table_.empty()) return false;
    const size_t mask = table_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint32_t slot = table_[i];
      if (slot == 0) return false;
      if (hashes_[slot - 1] == h && Equal(values_[slot - 1], v)) return true;
    }
  }

  bool Equal(const OwnedValue& owned, const Value& v) const {
    if (!owned.is_composite()) return owned.ScalarView().Equals(v);
    const bool eq = owned.View(scratch_).Equals(v);
    scratch_.Reset();
    return eq;
  }

  // Adds hashes_/table_ entries for values_.back().
  void Insert(uint64_t h) {
    hashes_.push_back(h);
    if ((values_.size()) * 2 > table_.size()) {
      Rehash(table_.empty() ? 16 : table_.size() * 2);
    } else {
      Place(static_cast<uint32_t>(values_.size()));
    }
  }

  void Place(uint32_t slot) {
    const size_t mask = table_.size() - 1;
    size_t i = hashes_[slot - 1] & mask;
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = slot;
  }

  void Rehash(size_t size) {
    table_.assign(size, 0);
    for (uint32_t s = 1; s <= values_.size(); ++s) Place(s);
  }

  std::vector<OwnedValue> values_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> table_;
  mutable model::Arena scratch_{256};  // decodes stored arrays/objects for comparisons
};

// ---- approx_count_distinct ----

class HllAccumulator final : public Accumulator {
 public:
  explicit HllAccumulator(int precision)
      : Accumulator(AggregateKind::kApproxCountDistinct), hll_(precision) {}
  explicit HllAccumulator(HyperLogLog hll)
      : Accumulator(AggregateKind::kApproxCountDistinct), hll_(std::move(hll)) {}

  void Add(const Value& v, int64_t) override {
    if (!v.is_null()) hll_.AddHash(v.Hash());
  }
  void Merge(const Accumulator& other) override {
    hll_.Merge(SameKind<HllAccumulator>(*this, other).hll_);
  }
  Value Result(model::Arena&) const override {
    return Value::Int(static_cast<int64_t>(std::llround(hll_.Estimate())));
  }
  void Serialize(std::string& out) const override {
    PutAccumulatorHeader(out, kind());
    std::string inner;
    hll_.Serialize(inner);
    varint::AppendUnsigned(out, inner.size());
    out.append(inner);
  }
  static sluice::Result<std::unique_ptr<Accumulator>> Decode(const AggregateSpec& spec, Reader& r) {
    std::string_view inner;
    if (!r.LengthPrefixed(&inner)) return Corrupt("truncated HyperLogLog");
    SLUICE_ASSIGN_OR_RETURN(HyperLogLog hll, HyperLogLog::Deserialize(inner));
    if (hll.precision() != spec.hll_precision) {
      return Corrupt("HyperLogLog precision differs from the spec");
    }
    return std::unique_ptr<Accumulator>(std::make_unique<HllAccumulator>(std::move(hll)));
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) - sizeof(hll_) + hll_.MemoryBytes();
  }
  void Reset() override { hll_.Reset(); }
  std::string_view error() const override { return {}; }

 private:
  HyperLogLog hll_;
};

// ---- approx_percentile ----

class PercentileAccumulator final : public Accumulator {
 public:
  PercentileAccumulator(double percentile, QuantileSketch sketch)
      : Accumulator(AggregateKind::kApproxPercentile),
        percentile_(percentile),
        sketch_(std::move(sketch)) {}

  void Add(const Value& v, int64_t) override {
    if (v.is_number()) {
      if (!sketch_.Add(v.AsDouble()) && error_ == kNoError) error_ = kErrorNonFinite;
    } else if (!v.is_null() && error_ == kNoError) {
      error_ = ErrorForType(v.type());
    }
  }
  void Merge(const Accumulator& other) override {
    const auto& o = SameKind<PercentileAccumulator>(*this, other);
    sketch_.Merge(o.sketch_);
    if (error_ == kNoError) error_ = o.error_;
  }
  Value Result(model::Arena&) const override {
    const auto q = sketch_.Quantile(percentile_);
    return q ? Value::Double(*q) : Value::Null();
  }
  void Serialize(std::string& out) const override {
    PutAccumulatorHeader(out, kind());
    out.push_back(static_cast<char>(error_));
    std::string inner;
    sketch_.Serialize(inner);
    varint::AppendUnsigned(out, inner.size());
    out.append(inner);
  }
  static sluice::Result<std::unique_ptr<Accumulator>> Decode(const AggregateSpec& spec, Reader& r) {
    uint8_t error;
    std::string_view inner;
    if (!r.Byte(&error) || (error != kNoError && error != kErrorNonFinite &&
                            error > static_cast<uint8_t>(model::ValueType::kObject) + 1)) {
      return Corrupt("bad percentile header");
    }
    if (!r.LengthPrefixed(&inner)) return Corrupt("truncated DDSketch");
    SLUICE_ASSIGN_OR_RETURN(QuantileSketch sketch, QuantileSketch::Deserialize(inner));
    if (sketch.relative_accuracy() != spec.relative_accuracy ||
        sketch.max_buckets() != QuantileSketch::DefaultMaxBuckets(spec.relative_accuracy)) {
      return Corrupt("DDSketch accuracy differs from the spec");
    }
    auto acc = std::make_unique<PercentileAccumulator>(spec.percentile, std::move(sketch));
    acc->error_ = error;
    return std::unique_ptr<Accumulator>(std::move(acc));
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) - sizeof(sketch_) + sketch_.MemoryBytes();
  }
  void Reset() override {
    sketch_.Reset();
    error_ = kNoError;
  }
  std::string_view error() const override { return ErrorMessage(kind(), error_); }

 private:
  double percentile_;
  QuantileSketch sketch_;
  uint8_t error_ = kNoError;
};

// ---- collect_list ----

// Items in arrival order, each as EncodeValue bytes appended to one buffer: one growing
// allocation per list instead of one per item.
class CollectListAccumulator final : public Accumulator {
 public:
  explicit CollectListAccumulator(uint32_t max_items)
      : Accumulator(AggregateKind::kCollectList), max_items_(max_items) {}

  void Add(const Value& v, int64_t) override {
    if (v.is_null()) return;
    if (count_ >= max_items_) {
      truncated_ = true;
      return;
    }
    EncodeValue(v, items_);
    ++count_;
  }

  void Merge(const Accumulator& other) override {
    const auto& o = SameKind<CollectListAccumulator>(*this, other);
    truncated_ = truncated_ || o.truncated_;
    if (count_ + uint64_t{o.count_} <= max_items_) {
      items_.append(o.items_);
      count_ += o.count_;
      return;
    }
    Reader r(o.items_);
    for (uint32_t i = 0; i < o.count_; ++i) {
      if (count_ >= max_items_) {
        truncated_ = true;
        break;
      }
      const size_t before = r.remaining();
      Reader start = r;
      SLUICE_CHECK(SkipValue(r), "collect_list buffer does not decode");
      std::string_view item;
      start.Bytes(before - r.remaining(), &item);
      items_.append(item);
      ++count_;
    }
  }

  Value Result(model::Arena& arena) const override {
    auto out = arena.AllocateArray<Value>(count_);
    Reader r(items_);
    for (Value& v : out) {
      Status st = DecodeValue(r, arena, &v);
      SLUICE_CHECK(st.ok(), "collect_list buffer does not decode: {}", st.ToString());
    }
    return Value::Array(out);
  }

  void Serialize(std::string& out) const override {
    PutAccumulatorHeader(out, kind());
    out.push_back(truncated_ ? 1 : 0);
    varint::AppendUnsigned(out, count_);
    varint::AppendUnsigned(out, items_.size());
    out.append(items_);
  }

  static sluice::Result<std::unique_ptr<Accumulator>> Decode(const AggregateSpec& spec, Reader& r) {
    uint8_t truncated;
    uint64_t count;
    std::string_view items;
    if (!r.Byte(&truncated) || truncated > 1 || !r.Varint(&count) ||
        count > spec.max_list_items || !r.LengthPrefixed(&items)) {
      return Corrupt("bad collect_list header");
    }
    Reader check(items);
    for (uint64_t i = 0; i < count; ++i) {
      if (!SkipValue(check)) return Corrupt("bad collect_list item");
    }
    if (!check.empty()) return Corrupt("bytes after collect_list items");
    auto acc = std::make_unique<CollectListAccumulator>(spec.max_list_items);
    acc->truncated_ = truncated != 0;
    acc->count_ = static_cast<uint32_t>(count);
    acc->items_.assign(items);
    return std::unique_ptr<Accumulator>(std::move(acc));
  }

  size_t MemoryBytes() const override { return sizeof(*this) + items_.capacity(); }
  void Reset() override {
    items_.clear();
    count_ = 0;
    truncated_ = false;
  }
  std::string_view error() const override {
    return truncated_ ? ErrorMessage(kind(), kErrorTruncated) : std::string_view();
  }

 private:
  uint32_t max_items_;
  uint32_t count_ = 0;
  bool truncated_ = false;
  std::string items_;
};

}  // namespace

std::unique_ptr<Accumulator> MakeHeavyAccumulator(const AggregateSpec& spec) {
  switch (spec.kind) {
    case AggregateKind::kCountDistinct: return std::make_unique<CountDistinctAccumulator>();
    case AggregateKind::kApproxCountDistinct:
      return std::make_unique<HllAccumulator>(spec.hll_precision);
    case AggregateKind::kApproxPercentile:
      return std::make_unique<PercentileAccumulator>(spec.percentile,
                                                     QuantileSketch(spec.relative_accuracy));
    case AggregateKind::kCollectList:
      return std::make_unique<CollectListAccumulator>(spec.max_list_items);
    default: SLUICE_CHECK(false, "{} is an inline aggregate", AggregateKindName(spec.kind));
  }
  return nullptr;
}

Result<std::unique_ptr<Accumulator>> DecodeHeavyAccumulator(const AggregateSpec& spec, Reader& r) {
  switch (spec.kind) {
    case AggregateKind::kCountDistinct: return CountDistinctAccumulator::Decode(r);
    case AggregateKind::kApproxCountDistinct: return HllAccumulator::Decode(spec, r);
    case AggregateKind::kApproxPercentile: return PercentileAccumulator::Decode(spec, r);
    case AggregateKind::kCollectList: return CollectListAccumulator::Decode(spec, r);
    default: return Corrupt("not a heavy aggregate");
  }
}

}  // namespace sluice::stream::internal
