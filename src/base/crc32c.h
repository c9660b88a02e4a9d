// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2. Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::crc32c {

// Extends `crc` (0 to start) over data. Returns the finalised CRC of all data so far.
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }
// True when the hardware path is used.
bool HardwareAccelerated();

}  // namespace sluice::crc32c
