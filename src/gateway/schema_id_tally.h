// SchemaIdTally: counts the schema ids of the values one fetch response (or one streamed batch)
// serves, for the registry's consumer lineage. Values in the Confluent wire format start with
// the magic byte 0 and a 4-byte big-endian schema id; anything else is not counted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice::gateway {

// Not thread-safe; one per response. Adding costs a few comparisons: the first kInline distinct
// ids live inline, so a response allocates only when it carries more distinct ids than that.
class SchemaIdTally {
 public:
  struct Entry {
    int32_t id = 0;
    uint64_t events = 0;
  };
  static constexpr size_t kInline = 8;

  // The schema id a wire-format value carries; nullopt for other values (too short, another
  // first byte, an id <= 0).
  static std::optional<int32_t> WireFormatId(std::string_view value) {
    if (value.size() < 5 || value[0] != 0) return std::nullopt;
    const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(value[i])); };
    const uint32_t id = (b(1) << 24) | (b(2) << 16) | (b(3) << 8) | b(4);
    if (id == 0 || id > 0x7fffffffU) return std::nullopt;
    return static_cast<int32_t>(id);
  }

  void Add(const std::optional<std::string_view>& value) {
    if (!value) return;
    auto id = WireFormatId(*value);
    if (!id) return;
    for (size_t i = 0; i < inline_count_; ++i) {
      if (inline_[i].id == *id) {
        ++inline_[i].events;
        return;
      }
    }
    if (inline_count_ < kInline) {
      inline_[inline_count_++] = Entry{*id, 1};
      return;
    }
    for (auto& e : more_) {
      if (e.id == *id) {
        ++e.events;
        return;
      }
    }
    // A malicious or odd topic could carry many ids per response: bounded like a response.
    if (more_.size() < kMaxDistinct) more_.push_back(Entry{*id, 1});
  }

  bool empty() const { return inline_count_ == 0; }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < inline_count_; ++i) fn(inline_[i].id, inline_[i].events);
    for (const auto& e : more_) fn(e.id, e.events);
  }

 private:
  static constexpr size_t kMaxDistinct = 1024;
  std::array<Entry, kInline> inline_{};
  size_t inline_count_ = 0;
  std::vector<Entry> more_;
};

}  // namespace sluice::gateway
