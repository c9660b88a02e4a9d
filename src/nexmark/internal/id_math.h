// Nexmark id arithmetic (shared/reference/nexmark.md §2.1): which person and auction were the
// last ones generated at a given event id. Results are "base 0"; add kFirstPersonId /
// kFirstAuctionId for the visible ids.
#pragma once

#include <cstdint>

#include "nexmark/generator_config.h"

namespace sluice::nexmark::internal {

inline int64_t LastBase0PersonId(const GeneratorConfig& c, int64_t event_id) {
  int64_t total = c.total_proportion();
  int64_t epoch = event_id / total;
  int64_t offset = event_id % total;
  if (offset >= c.person_proportion) offset = c.person_proportion - 1;
  return epoch * c.person_proportion + offset;
}

inline int64_t LastBase0AuctionId(const GeneratorConfig& c, int64_t event_id) {
  int64_t total = c.total_proportion();
  int64_t epoch = event_id / total;
  int64_t offset = event_id % total;
  if (offset < c.person_proportion) {
    --epoch;
    offset = c.auction_proportion - 1;
  } else if (offset >= c.person_proportion + c.auction_proportion) {
    offset = c.auction_proportion - 1;
  } else {
    offset -= c.person_proportion;
  }
  return epoch * c.auction_proportion + offset;
}

}  // namespace sluice::nexmark::internal
