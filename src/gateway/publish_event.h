// PublishEvent: one event on its way to the Publisher, as every front end's decoder produces it.
// Kept apart from publisher.h so the pure decoders (and the fuzzers) need no Asio.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/record.h"

namespace sluice::gateway {

// One event to publish. `partition` -1 lets the publisher choose.
struct PublishEvent {
  model::ProduceRecord record;
  int32_t partition = -1;
};

// Key + value + header bytes of an event: what the per-event size limit and byte rate limits
// count.
size_t EventPayloadBytes(const model::ProduceRecord& r);

}  // namespace sluice::gateway
