// TopNOperator: per partition (usually one window's results), the N rows with the highest (or
// lowest) order value, emitted once the watermark passes the partition's latest row — Flink's
// window Top-N. With ties, rows equal to the N-th value are kept too (Nexmark q5's "count equal
// to the window's max").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stream/operator.h"
#include "stream/window_operator.h"

namespace sluice::stream {

class TopNOperator final : public Operator {
 public:
  struct Options {
    int64_t n = 1;
    bool descending = true;
    bool with_ties = false;
  };
  // partition: null puts every row in one partition per event time.
  TopNOperator(std::string name, TaskContext& ctx, std::unique_ptr<rules::Expression> partition,
               std::unique_ptr<rules::Expression> order, Options options)
      : Operator(std::move(name), ctx),
        partition_(std::move(partition)),
        order_(std::move(order)),
        options_(options) {}

  void Push(int input, std::span<Row> rows) override;
  size_t StateBytes() const override { return state_bytes_; }

 protected:
  void OnWatermark(int64_t wm) override;
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct Candidate {
    model::Value order;  // scalar copy (strings live in `bytes`)
    std::string bytes;   // the encoded row value
    std::string order_bytes;
    int64_t timestamp;
  };
  struct Partition {
    int64_t max_timestamp = kNoWatermark;
    std::vector<Candidate> rows;  // at most n (plus ties), best first
  };
  // <0 when a ranks before b.
  int Compare(const model::Value& a, const model::Value& b) const;
  void Offer(Partition& p, const Row& row, const model::Value& order);

  std::unique_ptr<rules::Expression> partition_;
  std::unique_ptr<rules::Expression> order_;
  Options options_;
  StringMap<Partition> partitions_;
  size_t state_bytes_ = 0;
  std::string scratch_;
  std::vector<Row> out_;
};

}  // namespace sluice::stream
