// DDSketch with two dense bucket stores: see quantile_sketch.h.
#include "stream/quantile_sketch.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "stream/internal/aggregate_codec.h"

namespace sluice::stream {

namespace {
constexpr double kMinMagnitude = 1e-300;  // below this, a value counts as zero
}  // namespace

uint32_t QuantileSketch::DefaultMaxBuckets(double relative_accuracy) {
  const double gamma = (1 + relative_accuracy) / (1 - relative_accuracy);
  const double buckets = std::ceil(18 * std::log(10.0) / std::log(gamma));
  return std::max<uint32_t>(16, static_cast<uint32_t>(buckets));
}

QuantileSketch::QuantileSketch(double relative_accuracy, uint32_t max_buckets)
    : alpha_(relative_accuracy),
      max_buckets_(max_buckets == 0 ? DefaultMaxBuckets(relative_accuracy) : max_buckets) {
  SLUICE_CHECK(relative_accuracy >= kMinAccuracy && relative_accuracy <= kMaxAccuracy,
               "relative accuracy {}", relative_accuracy);
  SLUICE_CHECK(max_buckets_ >= 16, "max_buckets {}", max_buckets_);
  gamma_ = (1 + alpha_) / (1 - alpha_);
  inv_log_gamma_ = 1.0 / std::log(gamma_);
}

int32_t QuantileSketch::Index(double magnitude) const {
  return static_cast<int32_t>(std::ceil(std::log(magnitude) * inv_log_gamma_));
}

double QuantileSketch::BucketValue(int32_t index) const {
  return 2.0 * std::pow(gamma_, index) / (gamma_ + 1.0);
}

void QuantileSketch::Store::Add(int32_t index, uint64_t n, uint32_t max_buckets) {
  if (counts.empty()) {
    offset = index;
    counts.push_back(n);
    return;
  }
  // Indexes below the folded range land in its lowest bucket.
  const int64_t top = int64_t{offset} + static_cast<int64_t>(counts.size()) - 1;
  if (index < offset) {
    if (top - index + 1 > max_buckets) {
      // Keep the highest max_buckets; the new value goes to the lowest kept bucket.
      const int64_t new_offset = std::max<int64_t>(index, top - max_buckets + 1);
      if (new_offset < offset) {
        counts.insert(counts.begin(), static_cast<size_t>(offset - new_offset), 0);
        offset = static_cast<int32_t>(new_offset);
      }
      counts[0] += n;
      return;
    }
    counts.insert(counts.begin(), static_cast<size_t>(offset - index), 0);
    offset = index;
  } else if (index > top) {
    counts.resize(static_cast<size_t>(index - offset + 1), 0);
    if (counts.size() > max_buckets) {
      // Fold the lowest buckets into the lowest one kept.
      const size_t drop = counts.size() - max_buckets;
      uint64_t folded = 0;
      for (size_t i = 0; i <= drop; ++i) folded += counts[i];
      counts.erase(counts.begin(), counts.begin() + static_cast<ptrdiff_t>(drop));
      counts[0] = folded;
      offset += static_cast<int32_t>(drop);
    }
  }
  counts[static_cast<size_t>(index - offset)] += n;
}

uint64_t QuantileSketch::Store::Total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

bool QuantileSketch::Add(double x) {
  if (!std::isfinite(x)) return false;
  if (count_ == 0) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
  ++count_;
  const double mag = std::fabs(x);
  if (mag < kMinMagnitude) {
    ++zero_count_;
  } else if (x > 0) {
    positive_.Add(Index(mag), 1, max_buckets_);
  } else {
    negative_.Add(Index(mag), 1, max_buckets_);
  }
  return true;
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  SLUICE_CHECK(other.alpha_ == alpha_ && other.max_buckets_ == max_buckets_,
               "merging DDSketch alpha={} into alpha={}", other.alpha_, alpha_);
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  // Highest index first, so that each store grows (or folds) at most once per side.
  for (size_t i = other.positive_.counts.size(); i-- > 0;) {
    if (other.positive_.counts[i] != 0) {
      positive_.Add(other.positive_.offset + static_cast<int32_t>(i), other.positive_.counts[i],
                    max_buckets_);
    }
  }
  for (size_t i = other.negative_.counts.size(); i-- > 0;) {
    if (other.negative_.counts[i] != 0) {
      negative_.Add(other.negative_.offset + static_cast<int32_t>(i), other.negative_.counts[i],
                    max_buckets_);
    }
  }
}

std::optional<double> QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1));
  double result = 0;
  uint64_t seen = 0;
  bool found = false;
  // Most negative first: negative buckets from the largest magnitude down.
  for (size_t i = negative_.counts.size(); i-- > 0 && !found;) {
    seen += negative_.counts[i];
    if (seen > rank) {
      result = -BucketValue(negative_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) {
    seen += zero_count_;
    if (seen > rank) {
      result = 0;
      found = true;
    }
  }
  for (size_t i = 0; i < positive_.counts.size() && !found; ++i) {
    seen += positive_.counts[i];
    if (seen > rank) {
      result = BucketValue(positive_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) result = max_;
  // The exact extremes are known: never answer outside them.
  return std::clamp(result, min_, max_);
}

void QuantileSketch::Reset() {
  positive_ = Store();
  negative_ = Store();
  zero_count_ = count_ = 0;
  min_ = max_ = 0;
}

size_t QuantileSketch::MemoryBytes() const {
  return sizeof(*this) +
         (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(uint64_t);
}

void QuantileSketch::Serialize(std::string& out) const {
  internal::PutDouble(out, alpha_);
  varint::AppendUnsigned(out, max_buckets_);
  varint::AppendUnsigned(out, zero_count_);
  internal::PutDouble(out, min_);
  internal::PutDouble(out, max_);
  for (const Store* s : {&positive_, &negative_}) {
    varint::AppendSigned(out, s->offset);
    varint::AppendUnsigned(out, s->counts.size());
    for (uint64_t c : s->counts) varint::AppendUnsigned(out, c);
  }
}

Result<QuantileSketch> QuantileSketch::Deserialize(std::string_view bytes) {
  internal::Reader r(bytes);
  double alpha, mn, mx;
  uint64_t max_buckets, zeros;
  if (!r.Double(&alpha) || !(alpha >= kMinAccuracy && alpha <= kMaxAccuracy) ||
      !r.Varint(&max_buckets) || max_buckets < 16 || max_buckets > (1u << 24) ||
      !r.Varint(&zeros) || !r.Double(&mn) || !r.Double(&mx) || !std::isfinite(mn) ||
      !std::isfinite(mx) || mn > mx) {
    return internal::Corrupt("bad DDSketch header");
  }
  QuantileSketch s(alpha, static_cast<uint32_t>(max_buckets));
  s.zero_count_ = zeros;
  s.min_ = mn;
  s.max_ = mx;
  uint64_t total = zeros;
  for (Store* st : {&s.positive_, &s.negative_}) {
    int64_t offset;
    uint64_t n;
    if (!r.SignedVarint(&offset) || offset < -(int64_t{1} << 30) || offset > (int64_t{1} << 30) ||
        !r.Varint(&n) || n > max_buckets || n > r.remaining()) {
      return internal::Corrupt("bad DDSketch store");
    }
    st->offset = static_cast<int32_t>(offset);
    st->counts.resize(static_cast<size_t>(n));
    for (uint64_t& c : st->counts) {
      if (!r.Varint(&c) || total + c < total) return internal::Corrupt("bad DDSketch count");
      total += c;
    }
  }
  if (!r.empty()) return internal::Corrupt("bytes after DDSketch");
  s.count_ = total;
  return s;
}

}  // namespace sluice::stream
