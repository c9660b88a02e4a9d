// Pipeline outputs: the operators at the ends of the graph. A topic output turns rows into
// records (JSON values, keys by expression or the row's key, Kafka's murmur2 partitioning) and
// stages them, encoded, in the task's OutputStaging until the task writes them; a discard output
// only counts (benchmarks).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/record.h"
#include "stream/operator.h"

namespace sluice::stream {

class OutputOperator : public Operator {
 public:
  using Operator::Operator;
  virtual const std::string& topic() const;
  uint64_t rows_written() const { return stats_.rows_in; }
};

class TopicOutput final : public OutputOperator {
 public:
  TopicOutput(std::string name, TaskContext& ctx, std::string topic, int32_t partitions,
              std::unique_ptr<rules::Expression> key);
  // Encodes each row (JSON value, key bytes) into the task's OutputStaging.
  void Push(int input, std::span<Row> rows) override;
  const std::string& topic() const override { return topic_; }

 private:
  std::string topic_;
  int32_t partitions_;
  std::unique_ptr<rules::Expression> key_;
  int slot_;
  std::string key_buf_, value_buf_;  // reused: no allocation per row once grown
  uint64_t round_robin_ = 0;
};

// Counts rows and calls `observe` (if set) for each batch: benchmarks measure latency there.
class DiscardOutput final : public OutputOperator {
 public:
  using Observer = std::function<void(std::span<const Row>)>;
  DiscardOutput(std::string name, TaskContext& ctx, Observer observe = {})
      : OutputOperator(std::move(name), ctx), observe_(std::move(observe)) {}
  void Push(int, std::span<Row> rows) override {
    stats_.rows_in += rows.size();
    if (observe_) observe_(rows);
  }

 private:
  Observer observe_;
};

// The record key for a value: strings as their bytes, anything else as compact JSON.
std::string KeyBytes(const model::Value& v);
// The same, appended to `out`.
void AppendKeyBytes(std::string& out, const model::Value& v);

}  // namespace sluice::stream
