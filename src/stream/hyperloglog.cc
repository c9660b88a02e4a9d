// HyperLogLog with a sparse form and Ertl's improved raw estimator: see hyperloglog.h.
#include "stream/hyperloglog.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "base/check.h"
#include "stream/internal/aggregate_codec.h"

namespace sluice::stream {

namespace {

constexpr uint32_t kValueBits = 6;
constexpr uint32_t kValueMask = (1u << kValueBits) - 1;

uint32_t EntryIndex(uint32_t e) { return e >> kValueBits; }
uint32_t EntryValue(uint32_t e) { return e & kValueMask; }

// Sorts by index and keeps the largest value per index.
void SortUnique(std::vector<uint32_t>& v) {
  std::sort(v.begin(), v.end());
  size_t out = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    // Equal indexes are adjacent and ascending by value: keep the last one of each run.
    if (i + 1 < v.size() && EntryIndex(v[i + 1]) == EntryIndex(v[i])) continue;
    v[out++] = v[i];
  }
  v.resize(out);
}

// Ertl 2017, algorithm 6: sigma(x) = x + sum_k x^(2^k) 2^(k-1).
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x;
  for (;;) {
    x *= x;
    const double prev = z;
    z += x * y;
    y += y;
    if (z == prev) return z;
  }
}

// tau(x) = (1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3.
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double prev = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == prev) return z / 3.0;
  }
}

}  // namespace

HyperLogLog::HyperLogLog(int precision) : precision_(precision) {
  SLUICE_CHECK(precision >= kMinPrecision && precision <= kMaxPrecision, "precision {}",
               precision);
}

void HyperLogLog::AddHash(uint64_t hash) {
  const uint32_t index = static_cast<uint32_t>(hash >> (64 - precision_));
  // The remaining 64 - p bits, left-aligned; value = leading zeros + 1, at most 64 - p + 1.
  const uint64_t rest = hash << precision_;
  const uint32_t max_value = 64 - precision_ + 1;
  const uint32_t value =
      rest == 0 ? max_value : std::min<uint32_t>(std::countl_zero(rest) + 1, max_value);
  if (!registers_.empty()) {
    uint8_t& r = registers_[index];
    if (value > r) r = static_cast<uint8_t>(value);
    return;
  }
  const uint32_t entry = index << kValueBits | value;
  // Already covered by the sorted part? Then nothing changes (the common case for repeats).
  auto it = std::lower_bound(sparse_.begin(), sparse_.begin() + static_cast<ptrdiff_t>(sorted_),
                             index << kValueBits);
  if (it != sparse_.begin() + static_cast<ptrdiff_t>(sorted_) && EntryIndex(*it) == index &&
      EntryValue(*it) >= value) {
    return;
  }
  sparse_.push_back(entry);
  const size_t tail = sparse_.size() - sorted_;
  if (tail >= std::max<size_t>(16, sorted_ / 2)) Compact();
}

void HyperLogLog::Compact() {
  if (!registers_.empty()) return;
  SortUnique(sparse_);
  sorted_ = sparse_.size();
  if (sorted_ > num_registers() / 8) ToDense();
}

void HyperLogLog::ToDense() {
  std::vector<uint8_t> regs(num_registers(), 0);
  for (uint32_t e : sparse_) {
    uint8_t& r = regs[EntryIndex(e)];
    r = std::max<uint8_t>(r, static_cast<uint8_t>(EntryValue(e)));
  }
  registers_ = std::move(regs);
  sparse_.clear();
  sparse_.shrink_to_fit();
  sorted_ = 0;
}

std::vector<uint32_t> HyperLogLog::SortedSparse() const {
  std::vector<uint32_t> v = sparse_;
  SortUnique(v);
  return v;
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  SLUICE_CHECK(other.precision_ == precision_, "merging HyperLogLog p={} into p={}",
               other.precision_, precision_);
  if (other.is_sparse()) {
    if (is_sparse()) {
      sparse_.insert(sparse_.end(), other.sparse_.begin(), other.sparse_.end());
      Compact();
    } else {
      for (uint32_t e : other.sparse_) {
        uint8_t& r = registers_[EntryIndex(e)];
        r = std::max<uint8_t>(r, static_cast<uint8_t>(EntryValue(e)));
      }
    }
    return;
  }
  if (is_sparse()) ToDense();
  for (size_t i = 0; i < registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double HyperLogLog::Estimate() const {
  const uint32_t q = 64 - precision_;
  const double m = num_registers();
  std::array<uint32_t, 66> hist{};  // register value → count
  if (is_sparse()) {
    const std::vector<uint32_t> entries = SortedSparse();
    hist[0] = num_registers() - static_cast<uint32_t>(entries.size());
    for (uint32_t e : entries) ++hist[EntryValue(e)];
  } else {
    for (uint8_t r : registers_) ++hist[r];
  }
  double z = m * Tau(1.0 - hist[q + 1] / m);
  for (uint32_t k = q; k >= 1; --k) z = 0.5 * (z + hist[k]);
  z += m * Sigma(hist[0] / m);
  constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)
  return kAlphaInf * m * m / z;
}

void HyperLogLog::Reset() {
  registers_.clear();
  registers_.shrink_to_fit();
  sparse_.clear();
  sorted_ = 0;
}

double HyperLogLog::StandardError() const { return 1.04 / std::sqrt(double(num_registers())); }

size_t HyperLogLog::MemoryBytes() const {
  return sizeof(*this) + registers_.capacity() + sparse_.capacity() * sizeof(uint32_t);
}

void HyperLogLog::Serialize(std::string& out) const {
  out.push_back(static_cast<char>(precision_));
  if (is_sparse()) {
    out.push_back(0);
    const std::vector<uint32_t> entries = SortedSparse();
    varint::AppendUnsigned(out, entries.size());
    uint32_t prev = 0;
    for (uint32_t e : entries) {
      varint::AppendUnsigned(out, e - prev);
      prev = e;
    }
  } else {
    out.push_back(1);
    out.append(reinterpret_cast<const char*>(registers_.data()), registers_.size());
  }
}

Result<HyperLogLog> HyperLogLog::Deserialize(std::string_view bytes) {
  internal::Reader r(bytes);
  uint8_t p, form;
  if (!r.Byte(&p) || p < kMinPrecision || p > kMaxPrecision || !r.Byte(&form) || form > 1) {
    return internal::Corrupt("bad HyperLogLog header");
  }
  HyperLogLog h(p);
  const uint32_t max_value = 64 - p + 1;
  if (form == 0) {
    uint64_t n;
    if (!r.Varint(&n) || n > r.remaining() || n > h.num_registers()) {
      return internal::Corrupt("bad HyperLogLog entry count");
    }
    h.sparse_.reserve(static_cast<size_t>(n));
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t delta;
      if (!r.Varint(&delta) || (i > 0 && delta == 0)) {
        return internal::Corrupt("bad HyperLogLog entry");
      }
      const uint64_t e = prev + delta;
      if (e >= (uint64_t{h.num_registers()} << kValueBits) || EntryValue(uint32_t(e)) == 0 ||
          EntryValue(uint32_t(e)) > max_value ||
          (i > 0 && EntryIndex(uint32_t(e)) == EntryIndex(uint32_t(prev)))) {
        return internal::Corrupt("bad HyperLogLog entry");
      }
      h.sparse_.push_back(static_cast<uint32_t>(e));
      prev = e;
    }
    h.sorted_ = h.sparse_.size();
  } else {
    std::string_view regs;
    if (!r.Bytes(h.num_registers(), &regs)) return internal::Corrupt("truncated registers");
    h.registers_.assign(regs.begin(), regs.end());
    for (uint8_t v : h.registers_) {
      if (v > max_value) return internal::Corrupt("bad HyperLogLog register");
    }
  }
  if (!r.empty()) return internal::Corrupt("bytes after HyperLogLog");
  return h;
}

}  // namespace sluice::stream
