// GeneratorConfig: the knobs of the Nexmark generator, with the Flink Nexmark defaults
// (shared/reference/nexmark.md §7), the timestamp rule (§2.3) and the split rule (§2.2).
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace sluice::nexmark {

// Id bases (spec §2.1).
inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;

struct GeneratorConfig {
  // Event time of event number 0, ms since the epoch. Flink uses now() at planning time; we use a
  // fixed instant (2024-01-01T00:00:00Z) so that runs are reproducible. Override for live runs.
  int64_t base_time_ms = 1'704'067'200'000;
  // Flink's table factory starts at id 1 and event number 1, so the first event has id 2.
  int64_t first_event_id = 1;
  uint64_t first_event_number = 1;
  // Events this generator emits; 0 = unbounded (Flink's default).
  uint64_t max_events = 0;
  // Event-time rate in events/s (Flink default 10 000; V1 benchmark 10 M, V2 100 K). The event
  // time advances at this rate whatever the real throughput (max-emit-speed).
  double first_event_rate = 10'000;
  // Generators sharing the rate (Flink: source parallelism); each advances
  // num_event_generators / first_event_rate seconds per event.
  uint32_t num_event_generators = 1;

  // The 1 : 3 : 46 mix.
  uint32_t person_proportion = 1;
  uint32_t auction_proportion = 3;
  uint32_t bid_proportion = 46;

  // "Hot" shares are 1 - 1/ratio.
  uint32_t hot_auction_ratio = 2;
  uint32_t hot_sellers_ratio = 4;
  uint32_t hot_bidders_ratio = 4;
  uint32_t num_in_flight_auctions = 100;
  uint32_t num_active_people = 1000;

  // Average serialized sizes: drive the `extra` padding.
  uint32_t avg_person_byte_size = 200;
  uint32_t avg_auction_byte_size = 500;
  uint32_t avg_bid_byte_size = 100;

  // 1 = in order; n > 1 permutes event numbers within groups of n (spec §2.1).
  uint32_t out_of_order_group_size = 1;

  // Flink's BidGenerator adds FIRST_PERSON_ID twice to bidder ids (spec §5). Keep true for
  // Flink-comparable results; false gives Beam's bidder ids.
  bool flink_bidder_offset = true;

  // Mixed into every per-event seed and into the shared tables (filler text, channel URLs).
  // Same seed + same event id = same event, on any machine.
  uint64_t seed = 0;

  uint32_t total_proportion() const {
    return person_proportion + auction_proportion + bid_proportion;
  }
  // µs of event time between two consecutive events of one generator.
  double InterEventDelayUs() const {
    return 1e6 / first_event_rate * static_cast<double>(num_event_generators);
  }
  // Event time of an (adjusted) event number (spec §2.3).
  int64_t TimestampForEvent(uint64_t event_number) const {
    return base_time_ms +
           static_cast<int64_t>(static_cast<double>(event_number) * InterEventDelayUs()) / 1000;
  }
  // The spec's adjusted event number (out-of-order groups).
  uint64_t AdjustedEventNumber(uint64_t event_number) const {
    uint64_t n = out_of_order_group_size;
    if (n <= 1) return event_number;
    return event_number / n * n + (event_number * 953) % n;
  }

  // Errors: kInvalidArgument for a zero proportion, rate, ratio or group size.
  Status Validate() const;

  // The configs of n generators that together emit this config's events (spec §2.2):
  // disjoint id ranges of max_events / n each (the last takes the remainder), the same
  // first_event_number and base time, so the splits run on parallel timelines.
  // REQUIRES: n >= 1, max_events > 0 when n > 1.
  std::vector<GeneratorConfig> Split(uint32_t n) const;
};

}  // namespace sluice::nexmark
