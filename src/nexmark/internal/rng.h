// Rng: the per-event random source of the Nexmark generator. SplitMix64 (Steele, Lea, Flood
// 2014): one add and two multiplies per 64 bits, statistically solid, seedable per event in O(1).
#pragma once

#include <cstdint>

namespace sluice::nexmark::internal {

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // Streams for different (seed, id) pairs are independent for practical purposes.
  Rng(uint64_t seed, uint64_t id) : state_(Mix64(seed * 0x9e3779b97f4a7c15ULL + id)) {}

  uint64_t NextU64() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; bias below 2^-64 * n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(NextU64()) * n) >> 64);
  }
  // Uniform in [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace sluice::nexmark::internal
