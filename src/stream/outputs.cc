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
  std::string out;
  AppendKeyBytes(out, v);
  return out;
}

void AppendKeyBytes(std::string& out, const model::Value& v) {
  if (v.is_string()) {
    out.append(v.string_value());
  } else {
    codec::AppendValueJson(out, v);
  }
}

TopicOutput::TopicOutput(std::string name, TaskContext& ctx, std::string topic,
                         int32_t partitions, std::unique_ptr<rules::Expression> key)
    : OutputOperator(std::move(name), ctx),
      topic_(std::move(topic)),
      partitions_(partitions),
      key_(std::move(key)),
      slot_(ctx.staging.Topic(topic_)) {}

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
    int32_t partition = sticky;
    std::optional<std::string_view> key_bytes;
    if (!key.is_null()) {
      key_buf_.clear();
      AppendKeyBytes(key_buf_, key);
      partition = model::PartitionForKey(key_buf_, partitions_);
      key_bytes = key_buf_;
    }
    value_buf_.clear();
    codec::AppendValueJson(value_buf_, row.value);
    ctx_.staging.Add(slot_, partition, key_bytes, value_buf_, row.timestamp);
  }
}

}  // namespace sluice::stream
