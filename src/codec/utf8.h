// UTF-8 validation with the position of the first bad byte, for clear input errors.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sluice::codec {

// Length (1-4) of the well-formed UTF-8 sequence at the start of s, or 0 when it is malformed
// (overlong, surrogate, above U+10FFFF, truncated). REQUIRES: !s.empty().
size_t Utf8SequenceLength(std::string_view s);

// Byte position of the first invalid UTF-8 sequence, or nullopt when s is valid UTF-8.
std::optional<size_t> FindInvalidUtf8(std::string_view s);

}  // namespace sluice::codec
