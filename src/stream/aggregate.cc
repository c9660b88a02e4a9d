// Aggregate names and parameters, the accumulator for the inline kinds, and the factories.
#include "stream/aggregate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "stream/internal/aggregate_heavy.h"
#include "stream/internal/aggregate_slot.h"

namespace sluice::stream {

using model::Value;

std::string_view AggregateKindName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCount: return "count";
    case AggregateKind::kCountAll: return "count_all";
    case AggregateKind::kSum: return "sum";
    case AggregateKind::kMin: return "min";
    case AggregateKind::kMax: return "max";
    case AggregateKind::kAvg: return "avg";
    case AggregateKind::kFirst: return "first";
    case AggregateKind::kLast: return "last";
    case AggregateKind::kCountDistinct: return "count_distinct";
    case AggregateKind::kApproxCountDistinct: return "approx_count_distinct";
    case AggregateKind::kApproxPercentile: return "approx_percentile";
    case AggregateKind::kCollectList: return "collect_list";
  }
  return "unknown";
}

bool IsInlineAggregate(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCountDistinct:
    case AggregateKind::kApproxCountDistinct:
    case AggregateKind::kApproxPercentile:
    case AggregateKind::kCollectList: return false;
    default: return true;
  }
}

Status AggregateSpec::Validate() const {
  if (static_cast<int>(kind) >= kAggregateKindCount) {
    return InvalidArgument("unknown aggregate kind {}", static_cast<int>(kind));
  }
  if (!(percentile >= 0.0 && percentile <= 1.0)) {
    return InvalidArgument("approx_percentile: percentile {} is not in [0, 1]", percentile);
  }
  if (max_list_items < 1 || max_list_items > (1u << 24)) {
    return InvalidArgument("collect_list: max items {} is not in [1, 16777216]", max_list_items);
  }
  if (hll_precision < 4 || hll_precision > 18) {
    return InvalidArgument("approx_count_distinct: precision {} is not in [4, 18]",
                           hll_precision);
  }
  if (!(relative_accuracy >= 1e-4 && relative_accuracy <= 0.5)) {
    return InvalidArgument("approx_percentile: relative accuracy {} is not in [0.0001, 0.5]",
                           relative_accuracy);
  }
  return {};
}

namespace {

struct NamedKind {
  std::string_view name;
  AggregateKind kind;
};
constexpr std::array<NamedKind, 13> kNames = {{
    {"count", AggregateKind::kCount},
    {"count_all", AggregateKind::kCountAll},
    {"sum", AggregateKind::kSum},
    {"min", AggregateKind::kMin},
    {"max", AggregateKind::kMax},
    {"avg", AggregateKind::kAvg},
    {"first", AggregateKind::kFirst},
    {"last", AggregateKind::kLast},
    {"count_distinct", AggregateKind::kCountDistinct},
    {"approx_count_distinct", AggregateKind::kApproxCountDistinct},
    {"approx_percentile", AggregateKind::kApproxPercentile},
    {"percentile_approx", AggregateKind::kApproxPercentile},
    {"collect_list", AggregateKind::kCollectList},
}};

Result<double> NumberParam(std::string_view fn, const Value& v, std::string_view what) {
  if (!v.is_number()) {
    return InvalidArgument("{}: {} must be a number, got {}", fn, what, ValueTypeName(v.type()));
  }
  return v.AsDouble();
}

Result<int64_t> IntParam(std::string_view fn, const Value& v, std::string_view what) {
  if (!v.is_int()) {
    return InvalidArgument("{}: {} must be an integer, got {}", fn, what, ValueTypeName(v.type()));
  }
  return v.int_value();
}

}  // namespace

Result<AggregateSpec> ParseAggregateName(std::string_view name, std::span<const Value> params) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto it = std::find_if(kNames.begin(), kNames.end(),
                               [&](const NamedKind& n) { return n.name == lower; });
  if (it == kNames.end()) {
    return InvalidArgument(
        "unknown aggregate function '{}' (expected count, sum, avg, min, max, first, last, "
        "count_distinct, approx_count_distinct, approx_percentile or collect_list)",
        name);
  }
  AggregateSpec spec;
  spec.kind = it->kind;
  const std::string_view fn = it->name;
  size_t max_params = 0;
  switch (spec.kind) {
    case AggregateKind::kApproxPercentile: {
      if (params.empty()) return InvalidArgument("{}: needs a percentile in [0, 1]", fn);
      SLUICE_ASSIGN_OR_RETURN(spec.percentile, NumberParam(fn, params[0], "percentile"));
      if (params.size() > 1) {
        SLUICE_ASSIGN_OR_RETURN(spec.relative_accuracy,
                                NumberParam(fn, params[1], "relative accuracy"));
      }
      max_params = 2;
      break;
    }
    case AggregateKind::kApproxCountDistinct:
      if (!params.empty()) {
        SLUICE_ASSIGN_OR_RETURN(int64_t p, IntParam(fn, params[0], "precision"));
        if (p < 4 || p > 18) return InvalidArgument("{}: precision {} is not in [4, 18]", fn, p);
        spec.hll_precision = static_cast<uint8_t>(p);
      }
      max_params = 1;
      break;
    case AggregateKind::kCollectList:
      if (!params.empty()) {
        SLUICE_ASSIGN_OR_RETURN(int64_t n, IntParam(fn, params[0], "max items"));
        if (n < 1 || n > (1 << 24)) {
          return InvalidArgument("{}: max items {} is not in [1, 16777216]", fn, n);
        }
        spec.max_list_items = static_cast<uint32_t>(n);
      }
      max_params = 1;
      break;
    default: break;
  }
  if (params.size() > max_params) {
    return InvalidArgument("{}: takes {} parameter(s) after its input, got {}", fn, max_params,
                           params.size());
  }
  SLUICE_RETURN_IF_ERROR(spec.Validate());
  return spec;
}

Accumulator::~Accumulator() = default;

namespace {

// Count, count(*), sum, avg, min, max, first and last: one slot (internal/aggregate_slot.h) so
// the semantics are those of the AggregateRow fast path.
class InlineAccumulator final : public Accumulator {
 public:
  explicit InlineAccumulator(const AggregateSpec& spec) : Accumulator(spec.kind) {
    internal::SlotInit(spec, slot_);
  }
  ~InlineAccumulator() override { internal::SlotDestroy(kind(), slot_); }

  void Add(const Value& v, int64_t ts) override { internal::SlotAdd(kind(), slot_, v, ts); }
  void Merge(const Accumulator& other) override {
    SLUICE_CHECK(other.kind() == kind(), "merging {} into {}", AggregateKindName(other.kind()),
                 AggregateKindName(kind()));
    internal::SlotMerge(kind(), slot_, static_cast<const InlineAccumulator&>(other).slot_);
  }
  Value Result(model::Arena& arena) const override {
    return internal::SlotResult(kind(), slot_, arena);
  }
  void Serialize(std::string& out) const override {
    internal::PutAccumulatorHeader(out, kind());
    internal::SlotSerialize(kind(), slot_, out);
  }
  Status Decode(const AggregateSpec& spec, internal::Reader& r) {
    return internal::SlotDeserialize(spec, slot_, r);
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) + internal::SlotHeapBytes(kind(), slot_);
  }
  void Reset() override { internal::SlotReset(kind(), slot_); }
  std::string_view error() const override { return internal::SlotError(kind(), slot_); }

 private:
  alignas(8) std::byte slot_[internal::kMaxSlotBytes];
};

}  // namespace

std::unique_ptr<Accumulator> MakeAccumulator(const AggregateSpec& spec) {
  SLUICE_CHECK(spec.Validate().ok(), "invalid aggregate spec: {}", spec.Validate().ToString());
  if (IsInlineAggregate(spec.kind)) return std::make_unique<InlineAccumulator>(spec);
  return internal::MakeHeavyAccumulator(spec);
}

Result<std::unique_ptr<Accumulator>> DeserializeAccumulator(const AggregateSpec& spec,
                                                            std::string_view bytes) {
  SLUICE_RETURN_IF_ERROR(spec.Validate());
  internal::Reader r(bytes);
  uint8_t version, kind;
  if (!r.Byte(&version) || !r.Byte(&kind)) return internal::Corrupt("truncated header");
  if (version != internal::kAccumulatorFormatVersion) {
    return internal::Corrupt("unknown format version");
  }
  if (kind != static_cast<uint8_t>(spec.kind)) {
    return DataLoss("aggregate state: written for {} but read as {}",
                    kind < kAggregateKindCount ? AggregateKindName(static_cast<AggregateKind>(kind))
                                               : "an unknown kind",
                    AggregateKindName(spec.kind));
  }
  std::unique_ptr<Accumulator> acc;
  if (IsInlineAggregate(spec.kind)) {
    auto inline_acc = std::make_unique<InlineAccumulator>(spec);
    SLUICE_RETURN_IF_ERROR(inline_acc->Decode(spec, r));
    acc = std::move(inline_acc);
  } else {
    SLUICE_ASSIGN_OR_RETURN(acc, internal::DecodeHeavyAccumulator(spec, r));
  }
  if (!r.empty()) return internal::Corrupt("bytes after the state");
  return acc;
}

}  // namespace sluice::stream
