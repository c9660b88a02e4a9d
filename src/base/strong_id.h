// StrongId<Tag, T>: an integer with a type of its own, so an Offset cannot be passed as a
// PartitionId. Comparable, hashable, printable with fmt.
#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>

namespace sluice {

template <typename Tag, typename T>
class StrongId {
 public:
  using ValueType = T;
  constexpr StrongId() = default;
  constexpr explicit StrongId(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr StrongId operator+(T d) const { return StrongId(v_ + d); }
  constexpr StrongId operator-(T d) const { return StrongId(v_ - d); }
  constexpr T operator-(StrongId o) const { return v_ - o.v_; }
  StrongId& operator++() {
    ++v_;
    return *this;
  }

 private:
  T v_{};
};

}  // namespace sluice

template <typename Tag, typename T>
struct std::hash<sluice::StrongId<Tag, T>> {
  size_t operator()(sluice::StrongId<Tag, T> id) const noexcept { return std::hash<T>()(id.value()); }
};

template <typename Tag, typename T>
struct fmt::formatter<sluice::StrongId<Tag, T>> : fmt::formatter<T> {
  template <typename Ctx>
  auto format(sluice::StrongId<Tag, T> id, Ctx& ctx) const {
    return fmt::formatter<T>::format(id.value(), ctx);
  }
};
