// Varints as Kafka uses them: unsigned LEB128 (compact lengths) and zig-zag signed varints
// (record fields in RecordBatch v2). Decoders never read past `end` and report failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::varint {

constexpr size_t kMaxVarint64Bytes = 10;

inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Writes v to dst (at least kMaxVarint64Bytes available); returns bytes written.
inline size_t EncodeUnsigned(uint64_t v, uint8_t* dst) {
  size_t n = 0;
  while (v >= 0x80) {
    dst[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  dst[n++] = static_cast<uint8_t>(v);
  return n;
}
inline size_t EncodeSigned(int64_t v, uint8_t* dst) { return EncodeUnsigned(ZigZag(v), dst); }

inline size_t UnsignedSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline size_t SignedSize(int64_t v) { return UnsignedSize(ZigZag(v)); }

inline void AppendUnsigned(std::string& out, uint64_t v) {
  uint8_t buf[kMaxVarint64Bytes];
  out.append(reinterpret_cast<const char*>(buf), EncodeUnsigned(v, buf));
}
inline void AppendSigned(std::string& out, int64_t v) { AppendUnsigned(out, ZigZag(v)); }

// Decodes from [p, end). On success advances p and returns true.
inline bool DecodeUnsigned(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    result |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = result;
      return true;
    }
  }
  return false;
}
inline bool DecodeSigned(const uint8_t*& p, const uint8_t* end, int64_t* out) {
  uint64_t u;
  if (!DecodeUnsigned(p, end, &u)) return false;
  *out = UnZigZag(u);
  return true;
}

}  // namespace sluice::varint
