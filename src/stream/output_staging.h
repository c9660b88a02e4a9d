// OutputStaging: the records a task's outputs produce, encoded as they are produced straight
// into RecordBatch v2 bytes, one open batch per (topic, partition). A row costs one append to a
// buffer whose capacity is kept (no heap allocation per record: the value and key are encoded
// into the output's scratch buffers, then copied into the batch), and whole batches go to the
// log as they are (storage::Log::AppendEncoded). Under exactly-once the first record of every
// batch carries the checkpoint marker header, so recovery can tell whether the batch arrived.
// Owned by the task's TaskContext; used on the task's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/record.h"
#include "model/record_batch.h"

namespace sluice::stream {

// Header on the first record of every output batch under exactly-once:
// "<pipeline>/<task>/<checkpoint id>/<n>". Recovery looks for it to tell whether the batch
// already reached its topic.
inline constexpr const char* kCheckpointHeader = "sluice-checkpoint";

struct StagedBatch {
  std::string topic;
  int32_t partition = 0;
  bool create_if_missing = false;  // the error and late topics are created on first use
  std::string marker;              // kCheckpointHeader of its first record; empty: none
  std::string bytes;               // one finished batch, base offset 0
  int32_t records = 0;
};

class OutputStaging {
 public:
  // Batches are finished once they hold `max_batch_bytes` (well under a topic's default
  // max_message_bytes of 1 MiB).
  explicit OutputStaging(size_t max_batch_bytes = 256 << 10) : max_batch_bytes_(max_batch_bytes) {}
  OutputStaging(const OutputStaging&) = delete;
  OutputStaging& operator=(const OutputStaging&) = delete;

  // The slot to Add to for `topic` (the same slot every time for the same topic).
  int Topic(std::string_view topic, bool create_if_missing = false);
  // Exactly-once: the first record of each batch started from now on gets kCheckpointHeader =
  // prefix + a sequence number (from 0 again whenever the prefix changes). Empty: no marker.
  void SetMarkerPrefix(std::string prefix);
  // The time given to records staged with kNoTimestamp.
  void set_now_ms(int64_t now_ms) { now_ms_ = now_ms; }

  void Add(int slot, int32_t partition, std::optional<std::string_view> key,
           std::optional<std::string_view> value, int64_t timestamp,
           std::span<const model::HeaderView> headers = {});

  // Bytes staged since the last Take, open batches included.
  size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // Every staged batch (open ones finished), each partition's in the order they were staged.
  std::vector<StagedBatch> Take();
  // Puts batches from Take back ahead of anything staged since (a checkpoint that could not be
  // written keeps its outputs for the next attempt).
  void Restore(std::vector<StagedBatch> batches);

 private:
  struct Open {
    model::RecordBatchBuilder builder{0};
    std::string marker;
    bool active = false;
  };
  struct Slot {
    std::string topic;
    bool create_if_missing = false;
    std::vector<Open> partitions;
  };
  void Finish(Slot& slot, int32_t partition);

  size_t max_batch_bytes_;
  std::vector<Slot> slots_;
  std::vector<StagedBatch> done_;
  std::string prefix_;
  uint64_t seq_ = 0;
  size_t bytes_ = 0;
  int64_t now_ms_ = 0;
};

}  // namespace sluice::stream
