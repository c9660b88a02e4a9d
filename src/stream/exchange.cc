// Keyed exchange: rows to the task owning their key; watermarks to every task.
#include "stream/exchange.h"

#include <fmt/format.h>

#include <charconv>

#include "model/partitioner.h"
#include "stream/state_codec.h"
#include "stream/value_codec.h"

namespace sluice::stream {

ExchangeOutput::ExchangeOutput(std::string name, TaskContext& ctx, std::string topic,
                               int32_t partitions, int32_t producer,
                               std::unique_ptr<rules::Expression> key, bool row_key)
    : OutputOperator(std::move(name), ctx),
      topic_(std::move(topic)),
      partitions_(partitions),
      producer_(producer),
      key_(std::move(key)),
      row_key_(row_key),
      slot_(ctx.staging.Topic(topic_)) {}

void ExchangeOutput::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  // A task that said it was idle says it is active again before its rows (a receiver ignores
  // idle tasks' watermarks, and would otherwise not wait for this one).
  if (announced_idle_) StageWatermark(false);
  for (const Row& row : rows) {
    int32_t partition = 0;
    if (key_ || row_key_) {
      model::Value key = row.key;
      if (key_) {
        key = key_->Evaluate(row.value, ctx_.eval);
        // The operator behind the exchange evaluates the key again and reports the error there;
        // such rows all go to partition 0.
        if (!ctx_.eval.error.empty()) {
          ctx_.eval.error.clear();
          key = model::Value::Null();
        }
      }
      scratch_.clear();
      EncodeValue(key, scratch_);
      partition = model::PartitionForKey(scratch_, partitions_);
    }
    std::optional<std::string_view> key_bytes;
    if (!row.key.is_null()) {
      if (row_key_ && !key_) {
        key_bytes = scratch_;  // the exchange key is the row's key: encoded above
      } else {
        row_key_buf_.clear();
        EncodeValue(row.key, row_key_buf_);
        key_bytes = row_key_buf_;
      }
    }
    value_buf_.clear();
    EncodeValue(row.value, value_buf_);
    ctx_.staging.Add(slot_, partition, key_bytes, value_buf_, row.timestamp);
  }
}

void ExchangeOutput::StageWatermark(bool idle) {
  std::string text = idle ? fmt::format("{} idle", producer_) : fmt::format("{} {}", producer_, wm_);
  const model::HeaderView header{kWatermarkHeader, std::string_view(text)};
  for (int32_t p = 0; p < partitions_; ++p) {
    ctx_.staging.Add(slot_, p, std::nullopt, std::nullopt, ctx_.processing_time_ms,
                     std::span<const model::HeaderView>(&header, 1));
  }
  announced_ = true;
  announced_idle_ = idle;
  if (!idle) announced_wm_ = wm_;
}

void ExchangeOutput::Announce(bool idle) {
  if (idle) {
    if (!announced_idle_) StageWatermark(true);
    return;
  }
  if (announced_idle_ || !announced_ || wm_ > announced_wm_) StageWatermark(false);
}

void ExchangeInput::AddPartition(int32_t partition) {
  partitions_.try_emplace(partition, static_cast<size_t>(producers_));
}

bool ExchangeInput::OnWatermarkRecord(int32_t partition, std::string_view header) {
  auto it = partitions_.find(partition);
  size_t space = header.find(' ');
  int32_t producer = -1;
  if (it == partitions_.end() || space == std::string_view::npos) {
    ++malformed_;
    return false;
  }
  auto [pend, pec] = std::from_chars(header.data(), header.data() + space, producer);
  if (pec != std::errc() || pend != header.data() + space || producer < 0 || producer >= producers_) {
    ++malformed_;
    return false;
  }
  std::string_view rest = header.substr(space + 1);
  Producer& p = it->second[static_cast<size_t>(producer)];
  if (rest == "idle") {
    p.idle = true;
    return true;
  }
  int64_t wm = 0;
  auto [wend, wec] = std::from_chars(rest.data(), rest.data() + rest.size(), wm);
  if (wec != std::errc() || wend != rest.data() + rest.size()) {
    ++malformed_;
    return false;
  }
  p.idle = false;
  p.watermark = std::max(p.watermark, wm);
  return true;
}

std::optional<int64_t> ExchangeInput::CombinedWatermark() const {
  std::optional<int64_t> out;
  for (const auto& [_, producers] : partitions_) {
    for (const Producer& p : producers) {
      if (p.idle) continue;
      out = out ? std::min(*out, p.watermark) : p.watermark;
    }
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> ExchangeInput::Counters() const {
  if (malformed_ == 0) return {};
  return {{"malformed_watermark_records", malformed_}};
}

void ExchangeInput::SaveState(StateWriter& w) const {
  w.U64(partitions_.size());
  for (const auto& [partition, producers] : partitions_) {
    w.I64(partition);
    w.U64(producers.size());
    for (const Producer& p : producers) {
      w.I64(p.watermark);
      w.U64(p.idle ? 1 : 0);
    }
  }
}

Status ExchangeInput::LoadState(StateReader& r) {
  uint64_t n = r.Count(2);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    auto partition = static_cast<int32_t>(r.I64());
    uint64_t count = r.Count(2);
    if (r.ok() && count != static_cast<uint64_t>(producers_)) {
      return DataLoss("exchange has {} tasks, the checkpoint {}", producers_, count);
    }
    std::vector<Producer> producers(count);
    for (auto& p : producers) {
      p.watermark = r.I64();
      p.idle = r.U64() != 0;
    }
    // Partitions this task no longer reads are dropped.
    auto it = partitions_.find(partition);
    if (it != partitions_.end()) it->second = std::move(producers);
  }
  return r.status("exchange watermarks");
}

}  // namespace sluice::stream
