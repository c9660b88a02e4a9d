// The state of one aggregate inside a row ("slot"), and the operations on it, switch-dispatched
// on AggregateKind. Inline kinds (count, count(*), sum, avg, min, max, first, last) keep their
// state in the slot itself; the others keep a pointer to a virtual Accumulator. Used by
// AggregateRowLayout (the devirtualised fast path) and by the scalar Accumulator, so each
// aggregate's semantics are written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"
#include "stream/aggregate.h"
#include "stream/internal/aggregate_codec.h"

namespace sluice::stream::internal {

// Why an input was ignored, kept in one byte per slot: 0 = nothing ignored; 1 + ValueType = an
// input of that type was ignored; the two codes below for the rest.
inline constexpr uint8_t kNoError = 0;
inline constexpr uint8_t kErrorNonFinite = 100;  // NaN or infinity given to approx_percentile
inline constexpr uint8_t kErrorTruncated = 101;  // collect_list went past max_list_items
inline uint8_t ErrorForType(model::ValueType t) { return static_cast<uint8_t>(t) + 1; }
// "sum: ignored a string input", ...; empty for kNoError.
std::string_view ErrorMessage(AggregateKind kind, uint8_t code);

// A model::Value that owns its bytes: scalars inline, strings as a heap copy, arrays and objects
// as their EncodeValue bytes on the heap (decoded again on demand). 16 bytes.
// Invariants:
//  1. heap_ is used (and may be non-null) only for kString, kArray and kObject.
//  2. When non-null, heap_ holds at least Capacity(len_) bytes.
class OwnedValue {
 public:
  OwnedValue() : i_(0) {}
  ~OwnedValue() { FreeHeap(); }
  OwnedValue(const OwnedValue&) = delete;
  OwnedValue& operator=(const OwnedValue&) = delete;
  OwnedValue(OwnedValue&& o) noexcept : type_(o.type_), spare_(o.spare_), len_(o.len_), i_(o.i_) {
    o.type_ = model::ValueType::kNull;  // o no longer owns the heap bytes
    o.len_ = 0;
    o.i_ = 0;
  }
  OwnedValue& operator=(OwnedValue&& o) noexcept {
    if (this != &o) {
      FreeHeap();
      type_ = o.type_;
      spare_ = o.spare_;
      len_ = o.len_;
      i_ = o.i_;
      o.type_ = model::ValueType::kNull;
      o.len_ = 0;
      o.i_ = 0;
    }
    return *this;
  }

  model::ValueType type() const { return type_; }
  bool is_null() const { return type_ == model::ValueType::kNull; }
  bool is_composite() const {
    return type_ == model::ValueType::kArray || type_ == model::ValueType::kObject;
  }
  // A spare byte the owning slot uses for its error code.
  uint8_t spare() const { return spare_; }
  void set_spare(uint8_t b) { spare_ = b; }

  // Fast paths for the numeric hot loop.
  int64_t int_value() const { return i_; }
  double double_value() const { return d_; }
  void SetInt(int64_t i) {
    if (HasHeap()) FreeHeap();
    type_ = model::ValueType::kInt;
    i_ = i;
  }
  void SetDouble(double d) {
    if (HasHeap()) FreeHeap();
    type_ = model::ValueType::kDouble;
    d_ = d;
  }

  // Copies `v` (deeply).
  void Set(const model::Value& v);
  void CopyFrom(const OwnedValue& o);
  void Clear() {
    FreeHeap();
    type_ = model::ValueType::kNull;
    i_ = 0;
  }

  // The value without copying: strings point into this object. REQUIRES: !is_composite().
  model::Value ScalarView() const;
  // The value, with arrays and objects decoded into `scratch` (strings still point here).
  model::Value View(model::Arena& scratch) const;
  // A copy in `arena` that does not depend on this object.
  model::Value ToValue(model::Arena& arena) const;

  // Same bytes as EncodeValue(value).
  void Encode(std::string& out) const;
  // Reads one EncodeValue encoding. DataLoss on malformed input.
  Status Decode(Reader& r);

  size_t HeapBytes() const { return heap_ != nullptr && HasHeap() ? Capacity(len_) : 0; }

 private:
  static size_t Capacity(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
  }
  bool HasHeap() const {
    return type_ == model::ValueType::kString || type_ == model::ValueType::kArray ||
           type_ == model::ValueType::kObject;
  }
  void SetBytes(model::ValueType t, std::string_view bytes);
  void FreeHeap() {
    if (HasHeap()) {
      std::unique_ptr<char[]> free(heap_);  // the one owner of heap_ (invariant 1)
      heap_ = nullptr;
    }
  }

  model::ValueType type_ = model::ValueType::kNull;
  uint8_t spare_ = 0;
  uint32_t len_ = 0;
  union {
    int64_t i_;
    double d_;
    char* heap_;
  };
};
static_assert(sizeof(OwnedValue) == 16);

// Slot states.
struct CountSlot {
  int64_t n = 0;
};
struct SumSlot {  // sum and avg
  int64_t n = 0;  // numeric inputs folded
  union {
    int64_t i = 0;
    double d;
  };
  uint8_t is_double = 0;  // i until an int64 overflow or a double input, then d
  uint8_t error = kNoError;
};
struct ExtremeSlot {  // min and max; the error code lives in value.spare()
  OwnedValue value;
};
struct PickSlot {  // first and last; null value = empty
  OwnedValue value;
  int64_t ts = 0;
};
struct HeavySlot {
  std::unique_ptr<Accumulator> acc;
};

inline constexpr size_t kMaxSlotBytes = 24;
static_assert(sizeof(SumSlot) <= kMaxSlotBytes && sizeof(PickSlot) <= kMaxSlotBytes &&
              sizeof(ExtremeSlot) <= kMaxSlotBytes && sizeof(HeavySlot) <= kMaxSlotBytes);

// Bytes of a slot of this kind (a multiple of 8).
size_t SlotBytes(AggregateKind kind);

// Lifecycle on raw, 8-byte aligned memory of SlotBytes(kind) bytes.
void SlotInit(const AggregateSpec& spec, void* slot);
void SlotDestroy(AggregateKind kind, void* slot);
void SlotReset(AggregateKind kind, void* slot);

// Out-of-line parts of SlotAdd (rare or heavy inputs).
void SlotAddSlow(AggregateKind kind, void* slot, const model::Value& v, int64_t ts);
// Returns -1, 0 or 1. REQUIRES: both are non-null orderable scalars (bool, number, timestamp,
// string). Order across types: bool < number < timestamp < string; within numbers by value
// (int and double compared exactly, NaN greatest); strings bytewise (= code point order).
int CompareOrderable(const model::Value& a, const model::Value& b);
inline bool IsOrderable(const model::Value& v) {
  return v.type() != model::ValueType::kArray && v.type() != model::ValueType::kObject &&
         !v.is_null();
}

// Folds one input into the slot. Numeric inputs of the inline kinds take the inlined branch.
inline void SlotAdd(AggregateKind kind, void* slot, const model::Value& v, int64_t ts) {
  switch (kind) {
    case AggregateKind::kCountAll: ++static_cast<CountSlot*>(slot)->n; return;
    case AggregateKind::kCount:
      static_cast<CountSlot*>(slot)->n += v.is_null() ? 0 : 1;
      return;
    case AggregateKind::kSum:
    case AggregateKind::kAvg: {
      auto* s = static_cast<SumSlot*>(slot);
      if (v.is_int() && !s->is_double) {
        int64_t r;
        if (!__builtin_add_overflow(s->i, v.int_value(), &r)) [[likely]] {
          s->i = r;
          ++s->n;
          return;
        }
      } else if (v.is_double() && s->is_double) {
        s->d += v.double_value();
        ++s->n;
        return;
      }
      break;
    }
    case AggregateKind::kMax:
    case AggregateKind::kMin: {
      auto* s = static_cast<ExtremeSlot*>(slot);
      if (v.is_int() && s->value.type() == model::ValueType::kInt) {
        const int64_t cur = s->value.int_value();
        const bool better = kind == AggregateKind::kMax ? v.int_value() > cur : v.int_value() < cur;
        if (better) s->value.SetInt(v.int_value());
        return;
      }
      break;
    }
    default: break;
  }
  SlotAddSlow(kind, slot, v, ts);
}

// Folds `other` into `slot` (other's inputs count as later arrivals). REQUIRES: same kind and
// spec parameters.
void SlotMerge(AggregateKind kind, void* slot, const void* other);
model::Value SlotResult(AggregateKind kind, const void* slot, model::Arena& arena);
// Heap bytes held beyond the slot itself (for heavy kinds: the accumulator's MemoryBytes).
size_t SlotHeapBytes(AggregateKind kind, const void* slot);
std::string_view SlotError(AggregateKind kind, const void* slot);
// Why SlotAdd would ignore `v` (the message SlotError keeps for the first one), or empty. Pure:
// SlotError only remembers the first reason, and the runtime reports every ignored input.
std::string_view SlotInputError(AggregateKind kind, const model::Value& v);

// Payload only (no kind byte); see docs/formats/aggregate-state.md.
void SlotSerialize(AggregateKind kind, const void* slot, std::string& out);
// REQUIRES: slot was SlotInit'ed with `spec` (it is overwritten). DataLoss on malformed input.
Status SlotDeserialize(const AggregateSpec& spec, void* slot, Reader& r);

}  // namespace sluice::stream::internal
