// Kafka-compatible murmur2, transcribed with unsigned arithmetic (Java's int overflow wraps).
#include "model/partitioner.h"

namespace sluice::model {

int32_t Murmur2(std::string_view data) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto len = static_cast<uint32_t>(data.size());
  uint32_t h = 0x9747b28cu ^ len;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint32_t len4 = len / 4;
  for (uint32_t i = 0; i < len4; ++i) {
    uint32_t k = static_cast<uint32_t>(p[i * 4]) | (static_cast<uint32_t>(p[i * 4 + 1]) << 8) |
                 (static_cast<uint32_t>(p[i * 4 + 2]) << 16) |
                 (static_cast<uint32_t>(p[i * 4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  uint32_t tail = len & ~3u;
  switch (len % 4) {
    case 3: h ^= static_cast<uint32_t>(p[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(p[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(p[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

}  // namespace sluice::model
