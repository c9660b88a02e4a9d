// Topic output: rows -> JSON records staged per partition.
#include "stream/outputs.h"

#include "codec/value_json.h"
#include "model/partitioner.h"

namespace sluice::stream {

const std::string& OutputOperator::topic() const {
  static const std::string kNone;
  return kNone;
}

std::string KeyBytes(const model::Value& v) {
  if (v.is_string()) return std::string(v.string_value());
  return codec::ValueToJson(v);
}

TopicOutput::TopicOutput(std::string name, TaskContext& ctx, std::string topic,
                         int32_t partitions, std::unique_ptr<rules::Expression> key)
    : OutputOperator(std::move(name), ctx),
      topic_(std::move(topic)),
      partitions_(partitions),
      key_(std::move(key)) {}

void TopicOutput::Push(int, std::span<Row> rows) {
  stats_.rows_in += rows.size();
  // Rows without a key share one partition per batch (sticky), rotating between batches.
  auto sticky = static_cast<int32_t>(round_robin_++ % static_cast<uint64_t>(partitions_));
  for (const Row& row : rows) {
    model::Value key = row.key;
    if (key_) {
      key = key_->Evaluate(row.value, ctx_.eval);
      if (!ctx_.eval.error.empty()) {
        std::string reason = std::move(ctx_.eval.error);
        ctx_.eval.error.clear();
        ReportError(row, "output key: " + reason);
        continue;
      }
    }
    model::ProduceRecord rec;
    int32_t partition = sticky;
    if (!key.is_null()) {
      rec.key = KeyBytes(key);
      partition = model::PartitionForKey(*rec.key, partitions_);
    }
    rec.value.emplace();
    codec::AppendValueJson(*rec.value, row.value);
    rec.timestamp = row.timestamp;
    staged_[partition].push_back(std::move(rec));
  }
}

std::map<int32_t, std::vector<model::ProduceRecord>> TopicOutput::TakeStaged() {
  return std::exchange(staged_, {});
}

}  // namespace sluice::stream
