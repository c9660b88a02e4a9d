// Log's default group membership: a group of one member that owns every partition (the
// embedded store, where one process owns everything).
#include "storage/log.h"

#include <algorithm>

#include "model/record_batch.h"

namespace sluice::storage {

namespace {

class SoleMembership final : public GroupMembership {
 public:
  SoleMembership(GroupListener& listener, std::vector<model::PartitionId> partitions)
      : listener_(listener), partitions_(std::move(partitions)) {}
  ~SoleMembership() override { Leave(); }
  void Leave() override {
    if (left_) return;
    left_ = true;
    listener_.OnRevoked(partitions_);
  }

 private:
  GroupListener& listener_;
  std::vector<model::PartitionId> partitions_;
  bool left_ = false;
};

}  // namespace

Task<Result<std::unique_ptr<GroupMembership>>> Log::JoinGroup(std::string group,
                                                              std::string topic,
                                                              GroupListener& listener) {
  if (group.empty()) co_return InvalidArgument("join group: group is empty");
  auto d = co_await DescribeTopic(std::move(topic));
  if (!d.ok()) co_return d.status();
  std::vector<model::PartitionId> all;
  for (const auto& p : d->partitions) all.push_back(p.partition);
  listener.OnAssigned(all);
  std::unique_ptr<GroupMembership> m = std::make_unique<SoleMembership>(listener, std::move(all));
  co_return m;
}

Result<std::vector<model::ProduceRecord>> DecodeBuiltBatch(std::string_view batch) {
  model::RecordBatchView v(batch);
  if (batch.size() < model::batch_layout::kHeaderSize ||
      model::BatchTotalSize(batch.data()) != static_cast<int64_t>(batch.size())) {
    return InvalidArgument("append: {} bytes are not one record batch", batch.size());
  }
  if (Status st = v.VerifyHeaderAndCrc(); !st.ok()) return InvalidArgument("append: {}", st.message());
  std::vector<model::ProduceRecord> records;
  records.reserve(static_cast<size_t>(std::max(v.record_count(), 0)));
  Status st = v.ForEachRecord([&](const model::RecordView& r) {
    model::ProduceRecord rec;
    if (r.key) rec.key = std::string(*r.key);
    if (r.value) rec.value = std::string(*r.value);
    for (const auto& h : r.headers) {
      rec.headers.emplace_back(std::string(h.key),
                               h.value ? std::optional<std::string>(std::string(*h.value))
                                       : std::nullopt);
    }
    rec.timestamp = r.timestamp;
    records.push_back(std::move(rec));
  });
  if (!st.ok()) return InvalidArgument("append: {}", st.message());
  return records;
}

Task<Result<AppendResult>> Log::AppendEncoded(model::TopicPartition tp, std::string batch) {
  auto records = DecodeBuiltBatch(batch);
  if (!records.ok()) co_return records.status();
  co_return co_await Append(std::move(tp), std::move(*records));
}

Task<Status> ReadToEnd(Log& log, model::TopicPartition tp, int64_t* next, ReadOptions options,
                       const std::function<void(const model::RecordView&)>& fn) {
  for (;;) {
    auto r = co_await log.Read(tp, model::Offset(*next), options);
    if (!r.ok()) {
      if (r.status().code() != ErrorCode::kOutOfRange) co_return r.status();
      std::string topic = tp.topic;
      auto d = co_await log.DescribeTopic(std::move(topic));
      if (!d.ok()) co_return d.status();
      const int32_t p = tp.partition.value();
      if (p < 0 || p >= static_cast<int32_t>(d->partitions.size())) {
        co_return NotFound("{} has no partition {}", tp.topic, p);
      }
      const int64_t start = d->partitions[static_cast<size_t>(p)].log_start_offset.value();
      if (start <= *next) co_return r.status();  // out of range above, not below the start
      *next = start;
      continue;
    }
    Status walk = r->ForEachRecord(fn);
    if (!walk.ok()) co_return walk;
    const int64_t after = r->next_offset.value();
    if (after <= *next) break;  // nothing more
    *next = after;
    if (after >= r->high_watermark.value()) break;
  }
  co_return Status::Ok();
}

}  // namespace sluice::storage
