// Value helpers: type names, member lookup, equality and hashing.
#include "model/value.h"

#include <bit>
#include <cmath>

namespace sluice::model {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNull: return "null";
    case ValueType::kBool: return "boolean";
    case ValueType::kInt: return "integer";
    case ValueType::kDouble: return "double";
    case ValueType::kString: return "string";
    case ValueType::kTimestamp: return "timestamp";
    case ValueType::kArray: return "array";
    case ValueType::kObject: return "object";
  }
  return "unknown";
}

const Value* Value::Find(std::string_view name, uint32_t* hint) const {
  if (type_ != ValueType::kObject) return nullptr;
  if (hint != nullptr && *hint < size_ && NameEquals(members_[*hint].name, name)) {
    return &members_[*hint].value;
  }
  for (uint32_t i = 0; i < size_; ++i) {
    if (NameEquals(members_[i].name, name)) {
      if (hint != nullptr) *hint = i;
      return &members_[i].value;
    }
  }
  return nullptr;
}

bool Value::Equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (type_ == ValueType::kInt && o.type_ == ValueType::kInt) return i_ == o.i_;
    return AsDouble() == o.AsDouble();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case ValueType::kNull: return true;
    case ValueType::kBool: return bool_value() == o.bool_value();
    case ValueType::kTimestamp: return i_ == o.i_;
    case ValueType::kString: return string_value() == o.string_value();
    case ValueType::kArray: {
      if (size_ != o.size_) return false;
      for (uint32_t i = 0; i < size_; ++i) {
        if (!items_[i].Equals(o.items_[i])) return false;
      }
      return true;
    }
    case ValueType::kObject: {
      if (size_ != o.size_) return false;
      for (uint32_t i = 0; i < size_; ++i) {
        const Value* other = o.Find(members_[i].name);
        if (other == nullptr || !members_[i].value.Equals(*other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

namespace {

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashBytes(std::string_view s) {
  // FNV-1a over 8-byte words, then a finaliser: quick and good enough for hash tables.
  uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  uint64_t tail = 0;
  if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);  // s.data() may be null
  h = (h ^ tail) * 0x100000001b3ULL;
  return Mix(h);
}

}  // namespace

uint64_t Value::Hash() const {
  switch (type_) {
    case ValueType::kNull: return 0x9e3779b97f4a7c15ULL;
    case ValueType::kBool: return Mix(i_ + 2);
    case ValueType::kInt: return Mix(static_cast<uint64_t>(i_));
    case ValueType::kDouble: {
      // Integral doubles hash like the int they equal.
      if (std::isfinite(d_) && d_ == std::trunc(d_) && std::fabs(d_) < 9.2e18) {
        return Mix(static_cast<uint64_t>(static_cast<int64_t>(d_)));
      }
      return Mix(std::bit_cast<uint64_t>(d_));
    }
    case ValueType::kTimestamp: return Mix(static_cast<uint64_t>(i_) ^ 0x5bd1e995);
    case ValueType::kString: return HashBytes(string_value());
    case ValueType::kArray: {
      uint64_t h = 0x27d4eb2f165667c5ULL;
      for (uint32_t i = 0; i < size_; ++i) h = Mix(h ^ items_[i].Hash());
      return h;
    }
    case ValueType::kObject: {
      // Order-independent, like Equals.
      uint64_t h = 0x165667b19e3779f9ULL;
      for (uint32_t i = 0; i < size_; ++i) {
        h += Mix(HashBytes(members_[i].name) ^ members_[i].value.Hash());
      }
      return h;
    }
  }
  return 0;
}

}  // namespace sluice::model
