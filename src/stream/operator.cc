// Operator: edges, fan-out and watermark bookkeeping shared by all operators.
#include "stream/operator.h"

#include <algorithm>

namespace sluice::stream {

void Operator::Connect(Operator* downstream, int input) { downstream_.push_back({downstream, input}); }

void Operator::Emit(std::span<Row> rows) {
  if (rows.empty()) return;
  stats_.rows_out += rows.size();
  for (size_t i = 0; i < downstream_.size(); ++i) {
    if (i + 1 == downstream_.size()) {
      downstream_[i].op->Push(downstream_[i].input, rows);
    } else {
      fanout_copy_.assign(rows.begin(), rows.end());
      downstream_[i].op->Push(downstream_[i].input, fanout_copy_);
    }
  }
}

void Operator::EmitWatermark(int64_t wm) {
  if (wm <= out_wm_) return;
  out_wm_ = wm;
  for (const Edge& e : downstream_) e.op->AdvanceWatermark(e.input, wm);
}

int64_t Operator::CombinedInputWatermark() const {
  return *std::min_element(input_wm_.begin(), input_wm_.end());
}

void Operator::AdvanceWatermark(int input, int64_t wm) {
  if (wm <= input_wm_[input]) return;
  input_wm_[input] = wm;
  OnInputWatermark(input, wm);
  int64_t combined = CombinedInputWatermark();
  if (combined > combined_wm_) {
    combined_wm_ = combined;
    OnWatermark(combined);
  }
}

void Operator::Save(StateWriter& w) const {
  w.U64(input_wm_.size());
  for (int64_t wm : input_wm_) w.I64(wm);
  w.I64(combined_wm_);
  w.I64(out_wm_);
  w.Nested([this](StateWriter& inner) { SaveState(inner); });
}

Status Operator::Load(StateReader& r) {
  uint64_t n = r.Count();
  if (r.ok() && n != input_wm_.size()) {
    return DataLoss("operator {}: checkpoint has {} inputs, the operator {}", name_, n, input_wm_.size());
  }
  for (auto& wm : input_wm_) wm = r.I64();
  combined_wm_ = r.I64();
  out_wm_ = r.I64();
  std::string_view blob = r.Bytes();
  SLUICE_RETURN_IF_ERROR(r.status("operator " + name_));
  StateReader inner(blob);
  Status st = LoadState(inner);
  if (!st.ok()) return DataLoss("operator {}: {}", name_, st.message());
  if (!inner.ok() || !inner.done()) return DataLoss("operator {}: state truncated or corrupt", name_);
  return Status::Ok();
}

void Operator::ReportError(const Row& row, std::string_view reason) {
  ++stats_.errors;
  if (ctx_.side != nullptr) ctx_.side->Error(row, name_, reason);
}

void Operator::ReportLate(const Row& row, std::string_view reason) {
  ++stats_.late;
  if (ctx_.side != nullptr) ctx_.side->Late(row, name_, reason);
}

}  // namespace sluice::stream
