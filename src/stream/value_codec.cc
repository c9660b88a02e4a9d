// Value encoding: one tag byte, then a fixed 8-byte payload for scalars or a varint length and
// the contents for strings, arrays and objects.
#include "stream/value_codec.h"

#include <cmath>
#include <cstring>


namespace sluice::stream {

using model::Member;
using model::Value;
using model::ValueType;

namespace {

enum Tag : char {
  kNullTag = 'n', kFalseTag = 'f', kTrueTag = 't', kIntTag = 'i', kDoubleTag = 'd',
  kTimestampTag = 'T', kStringTag = 's', kArrayTag = 'a', kObjectTag = 'o',
};
constexpr int kMaxDepth = 64;

void PutFixed(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}

void PutLength(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

bool GetLength(std::string_view& in, uint64_t& n) {
  n = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    n |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

Result<Value> Decode(std::string_view& in, model::Arena& arena, int depth) {
  if (depth > kMaxDepth) return DataLoss("encoded value nested too deeply");
  if (in.empty()) return DataLoss("encoded value truncated");
  char tag = in.front();
  in.remove_prefix(1);
  auto fixed = [&](uint64_t& v) {
    if (in.size() < 8) return false;
    std::memcpy(&v, in.data(), 8);
    in.remove_prefix(8);
    return true;
  };
  uint64_t u = 0;
  switch (tag) {
    case kNullTag: return Value::Null();
    case kFalseTag: return Value::Bool(false);
    case kTrueTag: return Value::Bool(true);
    case kIntTag:
      if (!fixed(u)) return DataLoss("encoded int truncated");
      return Value::Int(static_cast<int64_t>(u));
    case kTimestampTag:
      if (!fixed(u)) return DataLoss("encoded timestamp truncated");
      return Value::Timestamp(static_cast<int64_t>(u));
    case kDoubleTag: {
      if (!fixed(u)) return DataLoss("encoded double truncated");
      double d;
      std::memcpy(&d, &u, 8);
      return Value::Double(d);
    }
    case kStringTag: {
      if (!GetLength(in, u) || u > in.size()) return DataLoss("encoded string truncated");
      Value v = arena.CopyStringValue(in.substr(0, u));
      in.remove_prefix(u);
      return v;
    }
    case kArrayTag: {
      if (!GetLength(in, u) || u > in.size()) return DataLoss("encoded array truncated");
      auto items = arena.AllocateArray<Value>(u);
      for (auto& item : items) {
        auto v = Decode(in, arena, depth + 1);
        if (!v.ok()) return v;
        item = *v;
      }
      return Value::Array(items);
    }
    case kObjectTag: {
      if (!GetLength(in, u) || u > in.size()) return DataLoss("encoded object truncated");
      auto members = arena.AllocateArray<Member>(u);
      for (auto& m : members) {
        uint64_t len = 0;
        if (!GetLength(in, len) || len > in.size()) return DataLoss("encoded member name truncated");
        m.name = arena.CopyString(in.substr(0, len));
        in.remove_prefix(len);
        auto v = Decode(in, arena, depth + 1);
        if (!v.ok()) return v;
        m.value = *v;
      }
      return Value::Object(members);
    }
    default: return DataLoss("unknown value tag {}", static_cast<int>(static_cast<uint8_t>(tag)));
  }
}

}  // namespace

void EncodeValue(const Value& v, std::string& out) {
  switch (v.type()) {
    case ValueType::kNull: out.push_back(kNullTag); return;
    case ValueType::kBool: out.push_back(v.bool_value() ? kTrueTag : kFalseTag); return;
    case ValueType::kInt:
      out.push_back(kIntTag);
      PutFixed(out, static_cast<uint64_t>(v.int_value()));
      return;
    case ValueType::kTimestamp:
      out.push_back(kTimestampTag);
      PutFixed(out, static_cast<uint64_t>(v.int_value()));
      return;
    case ValueType::kDouble: {
      double d = v.double_value();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
        out.push_back(kIntTag);
        PutFixed(out, static_cast<uint64_t>(static_cast<int64_t>(d)));
        return;
      }
      out.push_back(kDoubleTag);
      uint64_t u;
      std::memcpy(&u, &d, 8);
      PutFixed(out, u);
      return;
    }
    case ValueType::kString:
      out.push_back(kStringTag);
      PutLength(out, v.string_value().size());
      out.append(v.string_value());
      return;
    case ValueType::kArray:
      out.push_back(kArrayTag);
      PutLength(out, v.items().size());
      for (const Value& item : v.items()) EncodeValue(item, out);
      return;
    case ValueType::kObject:
      out.push_back(kObjectTag);
      PutLength(out, v.members().size());
      for (const Member& m : v.members()) {
        PutLength(out, m.name.size());
        out.append(m.name);
        EncodeValue(m.value, out);
      }
      return;
  }
}

Result<Value> DecodeValue(std::string_view& in, model::Arena& arena) { return Decode(in, arena, 0); }

}  // namespace sluice::stream
