// AggregateRow: the N aggregates of one (key, window) in one flat allocation, folded with a
// switch per aggregate instead of a virtual call, so count/sum/min/max/avg/first/last cost a few
// nanoseconds per event and allocate nothing for numeric inputs. The heavy kinds
// (count_distinct, approx_count_distinct, approx_percentile, collect_list) sit in the row as a
// pointer to their Accumulator. AggregateRowLayout describes the row once per operator and also
// offers the same operations on raw memory, for state tables that keep rows inline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/arena.h"
#include "model/value.h"
#include "stream/aggregate.h"

namespace sluice::stream {

// The aggregates of a row, their slot offsets and the row size. Immutable after Make; shared
// (by reference) by every row of an operator, which must not outlive it. Thread-safe (const).
class AggregateRowLayout {
 public:
  // InvalidArgument when a spec is invalid or there are none.
  static Result<AggregateRowLayout> Make(std::vector<AggregateSpec> specs);

  size_t size() const { return specs_.size(); }
  const AggregateSpec& spec(size_t i) const { return specs_[i]; }
  // Bytes of one row's state: the sum of its slot sizes (8 to 24 bytes each), 8-byte aligned.
  size_t row_bytes() const { return row_bytes_; }
  // True when every aggregate is an inline kind (no heap allocation for numeric inputs).
  bool all_inline() const { return all_inline_; }

  // Raw-memory operations. `row` is row_bytes() bytes, 8-byte aligned. REQUIRES: Init before any
  // other call and Destroy exactly once after the last.
  void Init(std::byte* row) const;
  void Destroy(std::byte* row) const;
  // inputs[i] feeds aggregate i (the value at a count(*) position is ignored).
  // REQUIRES: inputs.size() == size().
  void Add(std::byte* row, std::span<const model::Value> inputs, int64_t event_time_ms) const;
  // Folds `other` (a row of this layout) into `row`; its inputs count as later arrivals.
  void Merge(std::byte* row, const std::byte* other) const;
  // out[i] = result of aggregate i. REQUIRES: out.size() == size().
  void Results(const std::byte* row, model::Arena& arena, std::span<model::Value> out) const;
  void Serialize(const std::byte* row, std::string& out) const;
  // Replaces an Init'ed row's state with the serialized one. DataLoss on malformed bytes or
  // bytes written for another layout; the row is then left valid but unspecified (Reset it).
  Status Deserialize(std::byte* row, std::string_view bytes) const;
  // row_bytes() plus every heap allocation the row holds.
  size_t MemoryBytes(const std::byte* row) const;
  void Reset(std::byte* row) const;
  // The first aggregate's error (see Accumulator::error()), or empty.
  std::string_view Error(const std::byte* row) const;
  // Why Add would ignore one of `inputs` (the first such), e.g. "sum: ignored a string input",
  // or empty. Error() keeps only a row's first reason; operators call this to report each
  // ignored input to the error output. REQUIRES: inputs.size() == size().
  std::string_view InputError(std::span<const model::Value> inputs) const;

 private:
  AggregateRowLayout() = default;

  std::vector<AggregateSpec> specs_;
  std::vector<AggregateKind> kinds_;
  std::vector<uint32_t> offsets_;
  size_t row_bytes_ = 0;
  bool all_inline_ = true;
};

// Owns one row of a layout (one heap allocation of row_bytes()). Movable, not copyable.
// Owned by the operator state that holds the (key, window), on its shard.
class AggregateRow {
 public:
  // REQUIRES: layout outlives the row.
  explicit AggregateRow(const AggregateRowLayout& layout);
  ~AggregateRow();
  AggregateRow(AggregateRow&& o) noexcept = default;
  AggregateRow& operator=(AggregateRow&& o) noexcept;

  void Add(std::span<const model::Value> inputs, int64_t event_time_ms) {
    layout_->Add(data_.get(), inputs, event_time_ms);
  }
  // REQUIRES: other has the same layout.
  void Merge(const AggregateRow& other);
  void Results(model::Arena& arena, std::span<model::Value> out) const {
    layout_->Results(data_.get(), arena, out);
  }
  void Serialize(std::string& out) const { layout_->Serialize(data_.get(), out); }
  static Result<AggregateRow> Deserialize(const AggregateRowLayout& layout,
                                          std::string_view bytes);
  size_t MemoryBytes() const { return sizeof(*this) + layout_->MemoryBytes(data_.get()); }
  void Reset() { layout_->Reset(data_.get()); }
  std::string_view error() const { return layout_->Error(data_.get()); }
  const AggregateRowLayout& layout() const { return *layout_; }
  // The row's raw state, for the layout's raw-memory operations (merging into a scratch row).
  const std::byte* data() const { return data_.get(); }

 private:
  const AggregateRowLayout* layout_;
  std::unique_ptr<std::byte[]> data_;  // null only after a move
};

}  // namespace sluice::stream
