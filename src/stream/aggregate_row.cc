// AggregateRowLayout and AggregateRow: see aggregate_row.h.
#include "stream/aggregate_row.h"

#include "stream/internal/aggregate_slot.h"

namespace sluice::stream {

namespace {
// Row bytes start with this version byte, then a varint aggregate count, then per aggregate its
// kind byte and slot payload (docs/formats/aggregate-state.md).
constexpr uint8_t kRowFormatVersion = 1;
}  // namespace

Result<AggregateRowLayout> AggregateRowLayout::Make(std::vector<AggregateSpec> specs) {
  if (specs.empty()) return InvalidArgument("an aggregate row needs at least one aggregate");
  AggregateRowLayout layout;
  size_t offset = 0;
  for (const AggregateSpec& spec : specs) {
    SLUICE_RETURN_IF_ERROR(spec.Validate());
    layout.kinds_.push_back(spec.kind);
    layout.offsets_.push_back(static_cast<uint32_t>(offset));
    offset += internal::SlotBytes(spec.kind);
    layout.all_inline_ = layout.all_inline_ && IsInlineAggregate(spec.kind);
  }
  layout.row_bytes_ = offset;
  layout.specs_ = std::move(specs);
  return layout;
}

void AggregateRowLayout::Add(std::byte* row, std::span<const model::Value> inputs,
                             int64_t event_time_ms) const {
  SLUICE_DCHECK(inputs.size() == kinds_.size(), "{} inputs for {} aggregates", inputs.size(),
                kinds_.size());
  const AggregateKind* kinds = kinds_.data();
  const uint32_t* offsets = offsets_.data();
  const size_t n = kinds_.size();
  // SlotAdd is inlined here: one switch per aggregate, no virtual call for the inline kinds.
  for (size_t i = 0; i < n; ++i) {
    internal::SlotAdd(kinds[i], row + offsets[i], inputs[i], event_time_ms);
  }
}

void AggregateRowLayout::Init(std::byte* row) const {
  for (size_t i = 0; i < specs_.size(); ++i) internal::SlotInit(specs_[i], row + offsets_[i]);
}

void AggregateRowLayout::Destroy(std::byte* row) const {
  for (size_t i = 0; i < kinds_.size(); ++i) internal::SlotDestroy(kinds_[i], row + offsets_[i]);
}

void AggregateRowLayout::Merge(std::byte* row, const std::byte* other) const {
  for (size_t i = 0; i < kinds_.size(); ++i) {
    internal::SlotMerge(kinds_[i], row + offsets_[i], other + offsets_[i]);
  }
}

void AggregateRowLayout::Results(const std::byte* row, model::Arena& arena,
                                 std::span<model::Value> out) const {
  SLUICE_CHECK(out.size() == kinds_.size(), "{} results for {} aggregates", out.size(),
               kinds_.size());
  for (size_t i = 0; i < kinds_.size(); ++i) {
    out[i] = internal::SlotResult(kinds_[i], row + offsets_[i], arena);
  }
}

void AggregateRowLayout::Serialize(const std::byte* row, std::string& out) const {
  out.push_back(static_cast<char>(kRowFormatVersion));
  varint::AppendUnsigned(out, kinds_.size());
  for (size_t i = 0; i < kinds_.size(); ++i) {
    out.push_back(static_cast<char>(kinds_[i]));
    internal::SlotSerialize(kinds_[i], row + offsets_[i], out);
  }
}

Status AggregateRowLayout::Deserialize(std::byte* row, std::string_view bytes) const {
  internal::Reader r(bytes);
  uint8_t version;
  uint64_t n;
  if (!r.Byte(&version) || version != kRowFormatVersion || !r.Varint(&n)) {
    return internal::Corrupt("bad row header");
  }
  if (n != kinds_.size()) {
    return DataLoss("aggregate state: row has {} aggregates, layout {}", n, kinds_.size());
  }
  for (size_t i = 0; i < kinds_.size(); ++i) {
    uint8_t kind;
    if (!r.Byte(&kind)) return internal::Corrupt("truncated row");
    if (kind != static_cast<uint8_t>(kinds_[i])) {
      return DataLoss("aggregate state: aggregate {} was written as another kind than {}", i,
                      AggregateKindName(kinds_[i]));
    }
    SLUICE_RETURN_IF_ERROR(internal::SlotDeserialize(specs_[i], row + offsets_[i], r));
  }
  if (!r.empty()) return internal::Corrupt("bytes after the row");
  return {};
}

size_t AggregateRowLayout::MemoryBytes(const std::byte* row) const {
  size_t bytes = row_bytes_;
  for (size_t i = 0; i < kinds_.size(); ++i) {
    bytes += internal::SlotHeapBytes(kinds_[i], row + offsets_[i]);
  }
  return bytes;
}

void AggregateRowLayout::Reset(std::byte* row) const {
  for (size_t i = 0; i < kinds_.size(); ++i) internal::SlotReset(kinds_[i], row + offsets_[i]);
}

std::string_view AggregateRowLayout::Error(const std::byte* row) const {
  for (size_t i = 0; i < kinds_.size(); ++i) {
    const std::string_view e = internal::SlotError(kinds_[i], row + offsets_[i]);
    if (!e.empty()) return e;
  }
  return {};
}

std::string_view AggregateRowLayout::InputError(std::span<const model::Value> inputs) const {
  for (size_t i = 0; i < kinds_.size(); ++i) {
    const std::string_view e = internal::SlotInputError(kinds_[i], inputs[i]);
    if (!e.empty()) return e;
  }
  return {};
}

AggregateRow::AggregateRow(const AggregateRowLayout& layout)
    : layout_(&layout), data_(std::make_unique<std::byte[]>(layout.row_bytes())) {
  layout_->Init(data_.get());
}

AggregateRow::~AggregateRow() {
  if (data_ != nullptr) layout_->Destroy(data_.get());
}

AggregateRow& AggregateRow::operator=(AggregateRow&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) layout_->Destroy(data_.get());
    layout_ = o.layout_;
    data_ = std::move(o.data_);
  }
  return *this;
}

void AggregateRow::Merge(const AggregateRow& other) {
  SLUICE_CHECK(other.layout_ == layout_, "merging rows of different layouts");
  layout_->Merge(data_.get(), other.data_.get());
}

Result<AggregateRow> AggregateRow::Deserialize(const AggregateRowLayout& layout,
                                               std::string_view bytes) {
  AggregateRow row(layout);
  SLUICE_RETURN_IF_ERROR(layout.Deserialize(row.data_.get(), bytes));
  return row;
}

}  // namespace sluice::stream
