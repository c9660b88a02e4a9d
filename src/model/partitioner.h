// Partition choice for produced events, matching Kafka's default partitioner for keyed records:
// (murmur2(key) & 0x7fffffff) % partitions, so a key lands where a Kafka client would put it.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::model {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), seed 0x9747b28c.
int32_t Murmur2(std::string_view data);

// REQUIRES: partitions > 0.
inline int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace sluice::model
