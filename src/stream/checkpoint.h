// Checkpoint: what a pipeline task needs to resume exactly where it was — its source positions
// and watermarks, its operators' state, and the outputs produced since the previous checkpoint,
// which are appended to their topics only once the checkpoint is durable. Stored in the
// compacted internal topic `_checkpoints`, keyed "<pipeline>/<task>" (docs/formats/checkpoint.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/record.h"

namespace sluice::stream {

inline constexpr const char* kCheckpointsTopic = "_checkpoints";
// Header on the first record of every output batch a checkpoint appends: "<pipeline>/<task>/<id>".
// Recovery looks for it to tell whether the batch already reached its topic.
inline constexpr const char* kCheckpointHeader = "sluice-checkpoint";

struct CheckpointPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  int64_t max_event_time = 0;
};

struct CheckpointOutput {
  std::string topic;
  int32_t partition = 0;
  int64_t scan_from = 0;  // the partition's end before the batch was appended
  bool create_if_missing = false;  // the error and late topics
  std::vector<model::ProduceRecord> records;  // the first carries kCheckpointHeader
};

struct Checkpoint {
  int64_t id = 0;
  int64_t version = 0;  // the pipeline version that wrote it
  int64_t created_ms = 0;
  std::vector<CheckpointPosition> positions;
  std::string state;  // TaskGraph::SaveState
  std::vector<CheckpointOutput> outputs;
};

std::string CheckpointKey(std::string_view pipeline, int32_t task);
std::string EncodeCheckpoint(const Checkpoint& c);
// Errors: kDataLoss for truncated or corrupt bytes (never a crash or an unbounded allocation).
Result<Checkpoint> DecodeCheckpoint(std::string_view bytes);

}  // namespace sluice::stream
