// Value encoding for aggregate state: see aggregate_codec.h.
#include "stream/internal/aggregate_codec.h"

namespace sluice::stream::internal {

using model::Value;
using model::ValueType;

Status Corrupt(std::string_view what) {
  return DataLoss("aggregate state: {}", what);
}

void EncodeValue(const Value& v, std::string& out) {
  out.push_back(static_cast<char>(v.type()));
  switch (v.type()) {
    case ValueType::kNull: break;
    case ValueType::kBool: out.push_back(v.bool_value() ? 1 : 0); break;
    case ValueType::kInt:
    case ValueType::kTimestamp: varint::AppendSigned(out, v.int_value()); break;
    case ValueType::kDouble: PutDouble(out, v.double_value()); break;
    case ValueType::kString:
      varint::AppendUnsigned(out, v.string_value().size());
      out.append(v.string_value());
      break;
    case ValueType::kArray:
      varint::AppendUnsigned(out, v.items().size());
      for (const Value& item : v.items()) EncodeValue(item, out);
      break;
    case ValueType::kObject:
      varint::AppendUnsigned(out, v.members().size());
      for (const model::Member& m : v.members()) {
        varint::AppendUnsigned(out, m.name.size());
        out.append(m.name);
        EncodeValue(m.value, out);
      }
      break;
  }
}

namespace {

Status Decode(Reader& r, model::Arena& arena, Value* out, int depth) {
  if (depth > kMaxValueDepth) return Corrupt("value nested too deeply");
  uint8_t tag;
  if (!r.Byte(&tag)) return Corrupt("truncated value");
  switch (static_cast<ValueType>(tag)) {
    case ValueType::kNull: *out = Value::Null(); return {};
    case ValueType::kBool: {
      uint8_t b;
      if (!r.Byte(&b) || b > 1) return Corrupt("bad boolean");
      *out = Value::Bool(b != 0);
      return {};
    }
    case ValueType::kInt:
    case ValueType::kTimestamp: {
      int64_t i;
      if (!r.SignedVarint(&i)) return Corrupt("truncated integer");
      *out = static_cast<ValueType>(tag) == ValueType::kInt ? Value::Int(i) : Value::Timestamp(i);
      return {};
    }
    case ValueType::kDouble: {
      double d;
      if (!r.Double(&d)) return Corrupt("truncated double");
      *out = Value::Double(d);
      return {};
    }
    case ValueType::kString: {
      std::string_view s;
      if (!r.LengthPrefixed(&s) || s.size() >= (uint64_t{1} << 32)) {
        return Corrupt("truncated string");
      }
      // Arena::CopyString gives a null data() for ""; keep it non-null for memcpy-based hashing.
      *out = s.empty() ? Value::String("") : arena.CopyStringValue(s);
      return {};
    }
    case ValueType::kArray: {
      uint64_t n;
      // Every item takes at least one byte, so a count above the bytes left is corrupt: this
      // bounds the allocation by the input size.
      if (!r.Varint(&n) || n > r.remaining()) return Corrupt("bad array length");
      auto items = arena.AllocateArray<Value>(static_cast<size_t>(n));
      for (Value& item : items) SLUICE_RETURN_IF_ERROR(Decode(r, arena, &item, depth + 1));
      *out = Value::Array(items);
      return {};
    }
    case ValueType::kObject: {
      uint64_t n;
      if (!r.Varint(&n) || n > r.remaining() / 2) return Corrupt("bad object length");
      auto members = arena.AllocateArray<model::Member>(static_cast<size_t>(n));
      for (model::Member& m : members) {
        if (!r.LengthPrefixed(&m.name)) return Corrupt("truncated member name");
        SLUICE_RETURN_IF_ERROR(Decode(r, arena, &m.value, depth + 1));
      }
      *out = Value::Object(members);
      return {};
    }
  }
  return Corrupt("unknown value type");
}

}  // namespace

Status DecodeValue(Reader& r, model::Arena& arena, Value* out) {
  return Decode(r, arena, out, 0);
}

bool SkipValue(Reader& r, int depth) {
  if (depth > kMaxValueDepth) return false;
  uint8_t tag;
  if (!r.Byte(&tag)) return false;
  std::string_view s;
  switch (static_cast<ValueType>(tag)) {
    case ValueType::kNull: return true;
    case ValueType::kBool: {
      uint8_t b;
      return r.Byte(&b) && b <= 1;
    }
    case ValueType::kInt:
    case ValueType::kTimestamp: {
      int64_t i;
      return r.SignedVarint(&i);
    }
    case ValueType::kDouble: {
      double d;
      return r.Double(&d);
    }
    case ValueType::kString: return r.LengthPrefixed(&s) && s.size() < (uint64_t{1} << 32);
    case ValueType::kArray: {
      uint64_t n;
      if (!r.Varint(&n) || n > r.remaining()) return false;
      for (uint64_t i = 0; i < n; ++i) {
        if (!SkipValue(r, depth + 1)) return false;
      }
      return true;
    }
    case ValueType::kObject: {
      uint64_t n;
      if (!r.Varint(&n) || n > r.remaining() / 2) return false;
      for (uint64_t i = 0; i < n; ++i) {
        if (!r.LengthPrefixed(&s) || !SkipValue(r, depth + 1)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace sluice::stream::internal
