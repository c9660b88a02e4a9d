// Binary helpers for aggregate state (docs/formats/aggregate-state.md): a bounds-checked reader,
// fixed-width and varint writers, and a self-delimiting encoding of model::Value used to keep
// owned copies of strings, arrays and objects and to serialize them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/varint.h"
#include "model/arena.h"
#include "model/value.h"

namespace sluice::stream::internal {

// Nesting limit for decoded values: garbage input cannot recurse deeper than this.
inline constexpr int kMaxValueDepth = 64;

inline void PutFixed64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
inline void PutDouble(std::string& out, double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  PutFixed64(out, u);
}

// Reads from a byte range; every getter returns false instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }

  bool Byte(uint8_t* out) {
    if (p_ == end_) return false;
    *out = *p_++;
    return true;
  }
  bool Varint(uint64_t* out) { return varint::DecodeUnsigned(p_, end_, out); }
  bool SignedVarint(int64_t* out) { return varint::DecodeSigned(p_, end_, out); }
  bool Fixed64(uint64_t* out) {
    if (remaining() < 8) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += 8;
    *out = v;
    return true;
  }
  bool Double(double* out) {
    uint64_t u;
    if (!Fixed64(&u)) return false;
    std::memcpy(out, &u, 8);
    return true;
  }
  // `n` bytes as a view into the input.
  bool Bytes(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // A length-prefixed byte string.
  bool LengthPrefixed(std::string_view* out) {
    uint64_t n;
    return Varint(&n) && n <= remaining() && Bytes(static_cast<size_t>(n), out);
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Appends the self-delimiting encoding of `v`: a ValueType byte, then
//   bool: 1 byte; int, timestamp: zig-zag varint; double: 8 bytes little-endian;
//   string: varint length + bytes; array: varint count + items;
//   object: varint count + (varint name length + name + value) per member.
void EncodeValue(const model::Value& v, std::string& out);

// Decodes one value written by EncodeValue into `arena` (strings, items and members are copied). DataLoss on malformed input or nesting deeper than
// kMaxValueDepth; never allocates more than a small multiple of the input size.
Status DecodeValue(Reader& r, model::Arena& arena, model::Value* out);

// Skips one encoded value without building it; false on malformed input.
bool SkipValue(Reader& r, int depth = 0);

Status Corrupt(std::string_view what);

}  // namespace sluice::stream::internal
