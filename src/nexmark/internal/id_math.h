// Nexmark id arithmetic (shared/reference/nexmark.md §2.1): which person and auction were the
// last ones generated at a given event id. Results are "base 0"; add kFirstPersonId /
// kFirstAuctionId for the visible ids.
#pragma once

#include <cstdint>

#include "nexmark/generator_config.h"

namespace sluice::nexmark::internal {

// The last person and auction generated at `event_id`, from one division.
struct LastIds {
  int64_t person;
  int64_t auction;
};

inline LastIds LastBase0Ids(const GeneratorConfig& c, int64_t event_id) {
  int64_t total = c.total_proportion();
  int64_t pp = c.person_proportion, ap = c.auction_proportion;
  int64_t epoch = event_id / total;
  int64_t offset = event_id - epoch * total;
  LastIds ids;
  ids.person = epoch * pp + (offset >= pp ? pp - 1 : offset);
  if (offset < pp) {
    ids.auction = (epoch - 1) * ap + ap - 1;
  } else if (offset >= pp + ap) {
    ids.auction = epoch * ap + ap - 1;
  } else {
    ids.auction = epoch * ap + offset - pp;
  }
  return ids;
}

inline int64_t LastBase0PersonId(const GeneratorConfig& c, int64_t event_id) {
  return LastBase0Ids(c, event_id).person;
}

inline int64_t LastBase0AuctionId(const GeneratorConfig& c, int64_t event_id) {
  return LastBase0Ids(c, event_id).auction;
}

}  // namespace sluice::nexmark::internal
