// Keyed exchange between the tasks of a pipeline. With `parallelism` > 1 the planner
// (InsertExchanges in pipeline_spec.cc) feeds every input of a stateful operator through an
// internal topic `_exchange.<pipeline>.<operator>.<input>` with one partition per task: each task
// writes its rows to the partition that owns their key (ExchangeOutput) and reads its own
// partition back (ExchangeInput). Records carry the row in the binary value encoding
// (docs/formats/value-encoding.md): value = the row's value, key = the row's key (absent when
// null), timestamp = event time.
//
// Event time crosses the exchange as watermark records (no key, no value, header
// `sluice-watermark: "<task> <watermark>"` or `"<task> idle"`) that every task writes to every
// partition when its watermark rises. A partition's watermark is the minimum over the tasks that
// are not idle; the input's, the minimum over its partitions. Records and watermark records are
// staged (in the task's OutputStaging) and appended like any output, so under exactly-once both
// appear only with the checkpoint that covers them, in order. Format: docs/formats/exchange.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/record.h"
#include "rules/expression.h"
#include "stream/operators.h"
#include "stream/outputs.h"

namespace sluice::stream {

inline constexpr const char* kWatermarkHeader = "sluice-watermark";

// The sending side: stages rows for the partition of their key, and this task's watermark for
// every partition.
class ExchangeOutput final : public OutputOperator {
 public:
  // `key`: the exchange key expression; null: the row's key when `row_key`, else every row goes
  // to partition 0 (a global window or top-n).
  ExchangeOutput(std::string name, TaskContext& ctx, std::string topic, int32_t partitions,
                 int32_t producer, std::unique_ptr<rules::Expression> key, bool row_key);
  void Push(int input, std::span<Row> rows) override;
  const std::string& topic() const override { return topic_; }
  // Called by the task once per cycle, after watermarks: stages a watermark record for every
  // partition when this task's watermark rose, or an idle record when the task's sources went
  // idle (and an active one before rows follow an idle record).
  void Announce(bool idle);

 protected:
  void OnWatermark(int64_t wm) override { wm_ = wm; }

 private:
  void StageWatermark(bool idle);

  std::string topic_;
  int32_t partitions_;
  int32_t producer_;
  std::unique_ptr<rules::Expression> key_;
  bool row_key_;
  int slot_;
  std::string scratch_, row_key_buf_, value_buf_;  // reused: no allocation per row once grown
  int64_t wm_ = kNoWatermark;
  int64_t announced_wm_ = kNoWatermark;
  bool announced_ = false;
  bool announced_idle_ = false;
};

// The receiving side: a source the task delivers the exchange's rows to, and which turns the
// watermark records of all `producers` tasks into the input's watermark.
class ExchangeInput final : public PassThroughOperator {
 public:
  ExchangeInput(std::string name, TaskContext& ctx, int32_t producers)
      : PassThroughOperator(std::move(name), ctx), producers_(producers) {}
  // Registers a partition this task reads (its producers start neither idle nor with a
  // watermark, so nothing advances before every task has spoken).
  void AddPartition(int32_t partition);
  // Applies the value of a watermark record read from `partition`. False when malformed.
  bool OnWatermarkRecord(int32_t partition, std::string_view header);
  // The minimum over the registered partitions of the minimum over their non-idle producers;
  // nullopt when every producer of every partition is idle.
  std::optional<int64_t> CombinedWatermark() const;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 protected:
  void SaveState(StateWriter& w) const override;
  Status LoadState(StateReader& r) override;

 private:
  struct Producer {
    int64_t watermark = kNoWatermark;
    bool idle = false;
  };
  int32_t producers_;
  std::map<int32_t, std::vector<Producer>> partitions_;
  uint64_t malformed_ = 0;
};

}  // namespace sluice::stream
