// Output staging: rows encoded into per-partition batches as they are produced.
#include "stream/output_staging.h"

#include <algorithm>
#include <iterator>

#include "base/check.h"

namespace sluice::stream {

int OutputStaging::Topic(std::string_view topic, bool create_if_missing) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].topic == topic) return static_cast<int>(i);
  }
  slots_.push_back(Slot{std::string(topic), create_if_missing, {}});
  return static_cast<int>(slots_.size() - 1);
}

void OutputStaging::SetMarkerPrefix(std::string prefix) {
  if (prefix != prefix_) seq_ = 0;
  prefix_ = std::move(prefix);
}

void OutputStaging::Add(int slot, int32_t partition, std::optional<std::string_view> key,
                        std::optional<std::string_view> value, int64_t timestamp,
                        std::span<const model::HeaderView> headers) {
  SLUICE_CHECK(slot >= 0 && static_cast<size_t>(slot) < slots_.size() && partition >= 0,
               "staging: bad slot or partition");
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (static_cast<size_t>(partition) >= s.partitions.size()) {
    s.partitions.resize(static_cast<size_t>(partition) + 1);
  }
  Open& open = s.partitions[static_cast<size_t>(partition)];
  const size_t before = open.builder.size_bytes();
  if (timestamp == model::kNoTimestamp) timestamp = now_ms_;
  if (!open.active) {
    open.active = true;
    open.marker.clear();
    if (!prefix_.empty()) {
      open.marker = prefix_ + std::to_string(seq_++);
      // The marker goes first, then the record's own headers.
      model::HeaderView all[8];
      std::vector<model::HeaderView> many;
      std::span<const model::HeaderView> with;
      all[0] = {kCheckpointHeader, std::string_view(open.marker)};
      if (headers.size() < std::size(all)) {
        std::copy(headers.begin(), headers.end(), all + 1);
        with = std::span<const model::HeaderView>(all, headers.size() + 1);
      } else {
        many.push_back(all[0]);
        many.insert(many.end(), headers.begin(), headers.end());
        with = many;
      }
      open.builder.AddViews(key, value, with, timestamp);
      bytes_ += open.builder.size_bytes() - before;
      return;
    }
  }
  open.builder.AddViews(key, value, headers, timestamp);
  bytes_ += open.builder.size_bytes() - before;
  if (open.builder.size_bytes() >= max_batch_bytes_) Finish(s, partition);
}

void OutputStaging::Finish(Slot& slot, int32_t partition) {
  Open& open = slot.partitions[static_cast<size_t>(partition)];
  if (!open.active) return;
  StagedBatch b;
  b.topic = slot.topic;
  b.partition = partition;
  b.create_if_missing = slot.create_if_missing;
  b.marker = std::move(open.marker);
  b.records = open.builder.count();
  b.bytes = open.builder.Finish();
  // The next batch of this partition will likely be as big: one allocation instead of a dozen
  // doublings.
  open.builder.Reserve(b.bytes.size());
  open.marker.clear();
  open.active = false;
  done_.push_back(std::move(b));
}

std::vector<StagedBatch> OutputStaging::Take() {
  for (Slot& s : slots_) {
    for (size_t p = 0; p < s.partitions.size(); ++p) Finish(s, static_cast<int32_t>(p));
  }
  bytes_ = 0;
  return std::exchange(done_, {});
}

void OutputStaging::Restore(std::vector<StagedBatch> batches) {
  for (const auto& b : batches) bytes_ += b.bytes.size();
  batches.insert(batches.end(), std::make_move_iterator(done_.begin()),
                 std::make_move_iterator(done_.end()));
  done_ = std::move(batches);
}

}  // namespace sluice::stream
