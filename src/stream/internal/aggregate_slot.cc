// Slot operations for every aggregate kind: see aggregate_slot.h.
#include "stream/internal/aggregate_slot.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstring>
#include <new>

namespace sluice::stream::internal {

using model::Value;
using model::ValueType;

std::string_view ErrorMessage(AggregateKind kind, uint8_t code) {
  if (code == kNoError) return {};
  // Built once; immutable afterwards.
  static const auto kMessages = [] {
    std::array<std::array<std::string, 10>, kAggregateKindCount> table;
    for (int k = 0; k < kAggregateKindCount; ++k) {
      const auto name = AggregateKindName(static_cast<AggregateKind>(k));
      for (int t = 0; t <= static_cast<int>(ValueType::kObject); ++t) {
        const auto type = ValueTypeName(static_cast<ValueType>(t));
        const bool vowel = type[0] == 'a' || type[0] == 'i' || type[0] == 'o';
        table[k][t + 1] = fmt::format("{}: ignored {} {} input", name, vowel ? "an" : "a", type);
      }
      table[k][0] = fmt::format("{}: ignored a NaN or infinite input", name);
    }
    return table;
  }();
  const auto& row = kMessages[static_cast<int>(kind)];
  if (code == kErrorNonFinite) return row[0];
  if (code == kErrorTruncated) return "collect_list: reached max_list_items, later items dropped";
  if (code >= 1 && code <= static_cast<uint8_t>(ValueType::kObject) + 1) return row[code];
  return "aggregate: ignored an input";
}

// ---- OwnedValue ----

void OwnedValue::SetBytes(ValueType t, std::string_view bytes) {
  const bool reuse = HasHeap() && heap_ != nullptr && Capacity(len_) >= bytes.size();
  if (!reuse) {
    FreeHeap();
    heap_ = bytes.empty() ? nullptr : std::make_unique<char[]>(Capacity(bytes.size())).release();
  }
  if (!bytes.empty()) std::memcpy(heap_, bytes.data(), bytes.size());
  type_ = t;
  len_ = static_cast<uint32_t>(bytes.size());
}

void OwnedValue::Set(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: Clear(); return;
    case ValueType::kBool:
    case ValueType::kInt:
    case ValueType::kTimestamp:
      FreeHeap();
      type_ = v.type();
      i_ = v.int_value();
      return;
    case ValueType::kDouble: SetDouble(v.double_value()); return;
    case ValueType::kString: SetBytes(ValueType::kString, v.string_value()); return;
    case ValueType::kArray:
    case ValueType::kObject: {
      std::string encoded;
      EncodeValue(v, encoded);
      SetBytes(v.type(), encoded);
      return;
    }
  }
}

void OwnedValue::CopyFrom(const OwnedValue& o) {
  if (&o == this) return;
  if (o.HasHeap()) {
    SetBytes(o.type_, std::string_view(o.heap_, o.len_));
  } else {
    FreeHeap();
    type_ = o.type_;
    i_ = o.i_;
  }
}

Value OwnedValue::ScalarView() const {
  switch (type_) {
    case ValueType::kNull: return Value::Null();
    case ValueType::kBool: return Value::Bool(i_ != 0);
    case ValueType::kInt: return Value::Int(i_);
    case ValueType::kDouble: return Value::Double(d_);
    case ValueType::kTimestamp: return Value::Timestamp(i_);
    case ValueType::kString:
      // An empty string has no heap bytes; point at a literal so data() is never null.
      return Value::String(heap_ != nullptr ? std::string_view(heap_, len_) : std::string_view(""));
    default: SLUICE_CHECK(false, "ScalarView of a {}", ValueTypeName(type_));
  }
  return {};
}

Value OwnedValue::View(model::Arena& scratch) const {
  if (!is_composite()) return ScalarView();
  Reader r(std::string_view(heap_, len_));
  Value v;
  Status st = DecodeValue(r, scratch, &v);
  SLUICE_CHECK(st.ok(), "owned value does not decode: {}", st.ToString());
  return v;
}

Value OwnedValue::ToValue(model::Arena& arena) const {
  if (type_ == ValueType::kString && len_ > 0) {
    return arena.CopyStringValue(std::string_view(heap_, len_));
  }
  return View(arena);
}

void OwnedValue::Encode(std::string& out) const {
  if (is_composite()) {
    out.append(heap_, len_);
  } else {
    EncodeValue(ScalarView(), out);
  }
}

Status OwnedValue::Decode(Reader& r) {
  Reader peek = r;
  uint8_t tag;
  if (!peek.Byte(&tag)) return Corrupt("truncated value");
  const auto type = static_cast<ValueType>(tag);
  if (type == ValueType::kArray || type == ValueType::kObject) {
    const size_t before = r.remaining();
    Reader start = r;
    if (!SkipValue(r)) return Corrupt("malformed value");
    std::string_view bytes;
    start.Bytes(before - r.remaining(), &bytes);
    SetBytes(type, bytes);
    return {};
  }
  if (type == ValueType::kString) {
    std::string_view s;
    if (!peek.LengthPrefixed(&s) || s.size() >= (uint64_t{1} << 32)) {
      return Corrupt("truncated string");
    }
    SetBytes(ValueType::kString, s);
    r = peek;
    return {};
  }
  // Scalars decode without an arena.
  model::Arena unused(256);
  Value v;
  SLUICE_RETURN_IF_ERROR(DecodeValue(r, unused, &v));
  Set(v);
  return {};
}

// ---- ordering ----

namespace {

int Sign(bool less, bool greater) { return less ? -1 : (greater ? 1 : 0); }

// Exact comparison of an int64 and a double; NaN is greater than every number.
int CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return -1;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const auto ti = static_cast<int64_t>(t);
  if (i != ti) return Sign(i < ti, i > ti);
  return Sign(t < d, t > d);  // i == trunc(d): the fraction decides
}

int CompareDoubles(double a, double b) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return Sign(!an && bn, an && !bn);
  return Sign(a < b, a > b);
}

int TypeRank(ValueType t) {
  switch (t) {
    case ValueType::kBool: return 0;
    case ValueType::kInt:
    case ValueType::kDouble: return 1;
    case ValueType::kTimestamp: return 2;
    case ValueType::kString: return 3;
    default: return 4;
  }
}

}  // namespace

int CompareOrderable(const Value& a, const Value& b) {
  const int ra = TypeRank(a.type()), rb = TypeRank(b.type());
  if (ra != rb) return Sign(ra < rb, ra > rb);
  switch (a.type()) {
    case ValueType::kBool: return Sign(!a.bool_value() && b.bool_value(), a.bool_value() && !b.bool_value());
    case ValueType::kTimestamp: return Sign(a.int_value() < b.int_value(), a.int_value() > b.int_value());
    case ValueType::kString: {
      const int c = a.string_value().compare(b.string_value());
      return Sign(c < 0, c > 0);
    }
    case ValueType::kInt:
      if (b.is_int()) return Sign(a.int_value() < b.int_value(), a.int_value() > b.int_value());
      return CompareIntDouble(a.int_value(), b.double_value());
    case ValueType::kDouble:
      if (b.is_int()) return -CompareIntDouble(b.int_value(), a.double_value());
      return CompareDoubles(a.double_value(), b.double_value());
    default: return 0;
  }
}

// ---- slots ----

size_t SlotBytes(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: return sizeof(CountSlot);
    case AggregateKind::kSum:
    case AggregateKind::kAvg: return sizeof(SumSlot);
    case AggregateKind::kMin:
    case AggregateKind::kMax: return sizeof(ExtremeSlot);
    case AggregateKind::kFirst:
    case AggregateKind::kLast: return sizeof(PickSlot);
    default: return sizeof(HeavySlot);
  }
}

void SlotInit(const AggregateSpec& spec, void* slot) {
  switch (spec.kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: new (slot) CountSlot(); return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: new (slot) SumSlot(); return;
    case AggregateKind::kMin:
    case AggregateKind::kMax: new (slot) ExtremeSlot(); return;
    case AggregateKind::kFirst:
    case AggregateKind::kLast: new (slot) PickSlot(); return;
    default: new (slot) HeavySlot{MakeAccumulator(spec)}; return;
  }
}

void SlotDestroy(AggregateKind kind, void* slot) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: static_cast<CountSlot*>(slot)->~CountSlot(); return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: static_cast<SumSlot*>(slot)->~SumSlot(); return;
    case AggregateKind::kMin:
    case AggregateKind::kMax: static_cast<ExtremeSlot*>(slot)->~ExtremeSlot(); return;
    case AggregateKind::kFirst:
    case AggregateKind::kLast: static_cast<PickSlot*>(slot)->~PickSlot(); return;
    default: static_cast<HeavySlot*>(slot)->~HeavySlot(); return;
  }
}

void SlotReset(AggregateKind kind, void* slot) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: static_cast<CountSlot*>(slot)->n = 0; return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: *static_cast<SumSlot*>(slot) = SumSlot(); return;
    case AggregateKind::kMin:
    case AggregateKind::kMax: {
      auto* s = static_cast<ExtremeSlot*>(slot);
      s->value.Clear();
      s->value.set_spare(kNoError);
      return;
    }
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      auto* s = static_cast<PickSlot*>(slot);
      s->value.Clear();
      s->ts = 0;
      return;
    }
    default: static_cast<HeavySlot*>(slot)->acc->Reset(); return;
  }
}

namespace {

void AddToSum(SumSlot* s, const Value& v) {
  if (v.is_int()) {
    if (!s->is_double) {
      int64_t r;
      if (!__builtin_add_overflow(s->i, v.int_value(), &r)) {
        s->i = r;
        ++s->n;
        return;
      }
      // Overflow: the sum continues as a double (documented in docs/aggregates.md).
      s->d = static_cast<double>(s->i);
      s->is_double = 1;
    }
    s->d += static_cast<double>(v.int_value());
    ++s->n;
  } else if (v.is_double()) {
    if (!s->is_double) {
      s->d = static_cast<double>(s->i);
      s->is_double = 1;
    }
    s->d += v.double_value();
    ++s->n;
  } else if (!v.is_null() && s->error == kNoError) {
    s->error = ErrorForType(v.type());
  }
}

void AddToExtreme(bool is_max, ExtremeSlot* s, const Value& v) {
  if (v.is_null()) return;
  if (!IsOrderable(v)) {
    if (s->value.spare() == kNoError) s->value.set_spare(ErrorForType(v.type()));
    return;
  }
  if (s->value.is_null()) {
    const uint8_t err = s->value.spare();
    s->value.Set(v);
    s->value.set_spare(err);
    return;
  }
  const int c = CompareOrderable(v, s->value.ScalarView());
  if (is_max ? c > 0 : c < 0) {
    const uint8_t err = s->value.spare();
    s->value.Set(v);
    s->value.set_spare(err);
  }
}

void AddToPick(bool is_last, PickSlot* s, const Value& v, int64_t ts) {
  if (v.is_null()) return;
  // first: strictly earlier replaces (an equal time keeps the earlier arrival);
  // last: equal or later replaces (an equal time takes the later arrival).
  if (s->value.is_null() || (is_last ? ts >= s->ts : ts < s->ts)) {
    s->value.Set(v);
    s->ts = ts;
  }
}

}  // namespace

void SlotAddSlow(AggregateKind kind, void* slot, const Value& v, int64_t ts) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: SlotAdd(kind, slot, v, ts); return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: AddToSum(static_cast<SumSlot*>(slot), v); return;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      AddToExtreme(kind == AggregateKind::kMax, static_cast<ExtremeSlot*>(slot), v);
      return;
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      AddToPick(kind == AggregateKind::kLast, static_cast<PickSlot*>(slot), v, ts);
      return;
    default: static_cast<HeavySlot*>(slot)->acc->Add(v, ts); return;
  }
}

void SlotMerge(AggregateKind kind, void* slot, const void* other) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll:
      static_cast<CountSlot*>(slot)->n += static_cast<const CountSlot*>(other)->n;
      return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      auto* s = static_cast<SumSlot*>(slot);
      const auto* o = static_cast<const SumSlot*>(other);
      if (s->error == kNoError) s->error = o->error;
      if (o->n == 0) return;
      const int64_t n = s->n + o->n;
      if (o->is_double) {
        AddToSum(s, Value::Double(o->d));
      } else {
        AddToSum(s, Value::Int(o->i));
      }
      s->n = n;
      return;
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax: {
      auto* s = static_cast<ExtremeSlot*>(slot);
      const auto* o = static_cast<const ExtremeSlot*>(other);
      if (s->value.spare() == kNoError && o->value.spare() != kNoError) {
        s->value.set_spare(o->value.spare());
      }
      if (!o->value.is_null()) AddToExtreme(kind == AggregateKind::kMax, s, o->value.ScalarView());
      return;
    }
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      auto* s = static_cast<PickSlot*>(slot);
      const auto* o = static_cast<const PickSlot*>(other);
      if (o->value.is_null()) return;
      const bool take = s->value.is_null() ||
                        (kind == AggregateKind::kLast ? o->ts >= s->ts : o->ts < s->ts);
      if (take) {
        s->value.CopyFrom(o->value);
        s->ts = o->ts;
      }
      return;
    }
    default:
      static_cast<HeavySlot*>(slot)->acc->Merge(*static_cast<const HeavySlot*>(other)->acc);
      return;
  }
}

Value SlotResult(AggregateKind kind, const void* slot, model::Arena& arena) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: return Value::Int(static_cast<const CountSlot*>(slot)->n);
    case AggregateKind::kSum: {
      const auto* s = static_cast<const SumSlot*>(slot);
      if (s->n == 0) return Value::Null();
      return s->is_double ? Value::Double(s->d) : Value::Int(s->i);
    }
    case AggregateKind::kAvg: {
      const auto* s = static_cast<const SumSlot*>(slot);
      if (s->n == 0) return Value::Null();
      const double sum = s->is_double ? s->d : static_cast<double>(s->i);
      return Value::Double(sum / static_cast<double>(s->n));
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax: return static_cast<const ExtremeSlot*>(slot)->value.ToValue(arena);
    case AggregateKind::kFirst:
    case AggregateKind::kLast: return static_cast<const PickSlot*>(slot)->value.ToValue(arena);
    default: return static_cast<const HeavySlot*>(slot)->acc->Result(arena);
  }
}

size_t SlotHeapBytes(AggregateKind kind, const void* slot) {
  switch (kind) {
    case AggregateKind::kMin:
    case AggregateKind::kMax: return static_cast<const ExtremeSlot*>(slot)->value.HeapBytes();
    case AggregateKind::kFirst:
    case AggregateKind::kLast: return static_cast<const PickSlot*>(slot)->value.HeapBytes();
    case AggregateKind::kCount:
    case AggregateKind::kCountAll:
    case AggregateKind::kSum:
    case AggregateKind::kAvg: return 0;
    default: return static_cast<const HeavySlot*>(slot)->acc->MemoryBytes();
  }
}

std::string_view SlotInputError(AggregateKind kind, const Value& v) {
  if (v.is_null()) return {};
  switch (kind) {
    case AggregateKind::kSum:
    case AggregateKind::kAvg:
      return v.is_number() ? std::string_view() : ErrorMessage(kind, ErrorForType(v.type()));
    case AggregateKind::kApproxPercentile:
      if (!v.is_number()) return ErrorMessage(kind, ErrorForType(v.type()));
      return std::isfinite(v.AsDouble()) ? std::string_view()
                                         : ErrorMessage(kind, kErrorNonFinite);
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      return IsOrderable(v) ? std::string_view() : ErrorMessage(kind, ErrorForType(v.type()));
    default: return {};
  }
}

std::string_view SlotError(AggregateKind kind, const void* slot) {
  switch (kind) {
    case AggregateKind::kSum:
    case AggregateKind::kAvg: return ErrorMessage(kind, static_cast<const SumSlot*>(slot)->error);
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      return ErrorMessage(kind, static_cast<const ExtremeSlot*>(slot)->value.spare());
    case AggregateKind::kCount:
    case AggregateKind::kCountAll:
    case AggregateKind::kFirst:
    case AggregateKind::kLast: return {};
    default: return static_cast<const HeavySlot*>(slot)->acc->error();
  }
}

// Payloads (docs/formats/aggregate-state.md):
//   count:     varint n
//   sum, avg:  byte flags (bit 0: double), byte error, varint n, then zig-zag varint or 8-byte
//              double
//   min, max:  byte error, encoded value (null when empty)
//   first/last: encoded value, then zig-zag varint event time when the value is not null
//   others:    varint length + the accumulator's Serialize bytes
void SlotSerialize(AggregateKind kind, const void* slot, std::string& out) {
  switch (kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll:
      varint::AppendUnsigned(out, static_cast<uint64_t>(static_cast<const CountSlot*>(slot)->n));
      return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      const auto* s = static_cast<const SumSlot*>(slot);
      out.push_back(static_cast<char>(s->is_double));
      out.push_back(static_cast<char>(s->error));
      varint::AppendUnsigned(out, static_cast<uint64_t>(s->n));
      if (s->is_double) {
        PutDouble(out, s->d);
      } else {
        varint::AppendSigned(out, s->i);
      }
      return;
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax: {
      const auto* s = static_cast<const ExtremeSlot*>(slot);
      out.push_back(static_cast<char>(s->value.spare()));
      s->value.Encode(out);
      return;
    }
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      const auto* s = static_cast<const PickSlot*>(slot);
      s->value.Encode(out);
      if (!s->value.is_null()) varint::AppendSigned(out, s->ts);
      return;
    }
    default: {
      std::string inner;
      static_cast<const HeavySlot*>(slot)->acc->Serialize(inner);
      varint::AppendUnsigned(out, inner.size());
      out.append(inner);
      return;
    }
  }
}

namespace {

bool ValidErrorCode(uint8_t e) {
  return e <= static_cast<uint8_t>(ValueType::kObject) + 1 || e == kErrorNonFinite ||
         e == kErrorTruncated;
}

}  // namespace

Status SlotDeserialize(const AggregateSpec& spec, void* slot, Reader& r) {
  switch (spec.kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountAll: {
      uint64_t n;
      if (!r.Varint(&n) || n > static_cast<uint64_t>(INT64_MAX)) return Corrupt("bad count");
      static_cast<CountSlot*>(slot)->n = static_cast<int64_t>(n);
      return {};
    }
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      auto* s = static_cast<SumSlot*>(slot);
      uint8_t flags, error;
      uint64_t n;
      if (!r.Byte(&flags) || flags > 1 || !r.Byte(&error) || !ValidErrorCode(error) ||
          !r.Varint(&n) || n > static_cast<uint64_t>(INT64_MAX)) {
        return Corrupt("bad sum header");
      }
      s->is_double = flags;
      s->error = error;
      s->n = static_cast<int64_t>(n);
      const bool ok = flags ? r.Double(&s->d) : r.SignedVarint(&s->i);
      if (!ok) return Corrupt("truncated sum");
      return {};
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax: {
      auto* s = static_cast<ExtremeSlot*>(slot);
      uint8_t error;
      if (!r.Byte(&error) || !ValidErrorCode(error)) return Corrupt("bad min/max header");
      SLUICE_RETURN_IF_ERROR(s->value.Decode(r));
      if (s->value.is_composite()) return Corrupt("min/max of an array or object");
      s->value.set_spare(error);
      return {};
    }
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      auto* s = static_cast<PickSlot*>(slot);
      SLUICE_RETURN_IF_ERROR(s->value.Decode(r));
      s->ts = 0;
      if (!s->value.is_null() && !r.SignedVarint(&s->ts)) return Corrupt("truncated event time");
      return {};
    }
    default: {
      std::string_view inner;
      if (!r.LengthPrefixed(&inner)) return Corrupt("truncated accumulator");
      SLUICE_ASSIGN_OR_RETURN(auto acc, DeserializeAccumulator(spec, inner));
      static_cast<HeavySlot*>(slot)->acc = std::move(acc);
      return {};
    }
  }
}

}  // namespace sluice::stream::internal
