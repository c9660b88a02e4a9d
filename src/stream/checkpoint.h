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
#include "stream/output_staging.h"

namespace sluice::stream {

inline constexpr const char* kCheckpointsTopic = "_checkpoints";

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
  std::string marker;  // the kCheckpointHeader value its first record carries
  std::string batch;   // one encoded RecordBatch v2 (base offset 0), as staged
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

// A checkpoint larger than one record may be (Kafka's default message limit is 1 MB; the embedded
// `_checkpoints` topic takes 64 MiB) is stored in parts: records "<key>#<id mod 2>.<i>" holding
// consecutive slices of its bytes, then under <key> a head naming them (with the total size and
// CRC-32C). The head is written last, so a checkpoint exists only once all its parts do.
inline constexpr size_t kCheckpointPartBytes = 1000 * 1000;

struct CheckpointHead {
  int64_t id = 0;
  uint32_t parts = 0;
  uint64_t size = 0;
  uint32_t crc = 0;
};

std::string CheckpointPartKey(std::string_view key, int64_t id, uint32_t part);
// The records storing `bytes` (an EncodeCheckpoint) as checkpoint `id` of `key`, in the order to
// append them: one record when it fits in `part_bytes`, else the parts and then the head.
std::vector<model::ProduceRecord> CheckpointRecords(std::string_view key, int64_t id,
                                                    std::string bytes,
                                                    size_t part_bytes = kCheckpointPartBytes);
// Whether a `_checkpoints` value is a head (else it is a whole checkpoint).
bool IsCheckpointHead(std::string_view value);
// Errors: kDataLoss (malformed head).
Result<CheckpointHead> DecodeCheckpointHead(std::string_view value);
// Errors: kDataLoss when the parts' bytes do not match the head's size and CRC.
Status VerifyCheckpointParts(const CheckpointHead& head, std::string_view bytes);
std::string EncodeCheckpoint(const Checkpoint& c);
// Errors: kDataLoss for truncated or corrupt bytes (never a crash or an unbounded allocation).
Result<Checkpoint> DecodeCheckpoint(std::string_view bytes);

}  // namespace sluice::stream
