// Generator: the Nexmark event generator. Deterministic per event id ("Nexmark-Flink
// distributions, deterministic seeding", shared/reference/nexmark.md §2.4), so a run can be split
// across generators and a generator can be positioned at any event number (replay).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nexmark/event.h"
#include "nexmark/generator_config.h"

namespace sluice::nexmark {

// Immutable tables every generator with the same seed shares: the 1 MiB filler `extra` is cut
// from, the 1 MiB text random strings are cut from, the 10 000 channel names and URLs, the hot
// channels' URLs, the 99 person names and the price() table. Built once (a few ms) and shared
// between split generators with shared_ptr<const>.
struct GeneratorTables {
  static constexpr size_t kFillerBytes = 1 << 20;
  static constexpr size_t kNumChannels = 10'000;
  static constexpr size_t kNumHotChannels = 4;
  static constexpr size_t kPriceSteps = 256;

  static std::shared_ptr<const GeneratorTables> Build(uint64_t seed);

  std::string_view ChannelName(size_t i) const {
    return {channel_text.data() + channels[i].name_offset, channels[i].name_size};
  }
  std::string_view ChannelUrl(size_t i) const {
    return {channel_text.data() + channels[i].url_offset, channels[i].url_size};
  }

  struct Channel {
    uint32_t name_offset;
    uint32_t url_offset;
    uint16_t name_size;
    uint16_t url_size;
  };
  std::string filler;  // a-z
  std::string text;    // a-z, and ' ' with probability 1/13 (randStr's alphabet)
  std::string channel_text;
  std::vector<Channel> channels;  // "channel-<i>" and its URL, both in channel_text
  std::array<std::string, kNumHotChannels> hot_channel_urls;
  std::vector<std::string> person_names;            // FIRST + " " + LAST, index first * 9 + last
  std::array<double, kPriceSteps + 1> price_steps;  // 100 * 10^(6 i / kPriceSteps)
};

// Produces the events of one GeneratorConfig in event-number order.
// Lifecycle: construct, then NextBatch until it returns 0 (bounded configs). SeekTo repositions.
// Not thread-safe; one owner (the source task of one shard). Each split generator is independent.
//
// Invariants:
//  1. The k-th event (k = events_generated() before the call) depends only on the config, the
//     tables' seed and k: event number = first_event_number + k, id = first_event_id + adjusted.
//  2. All random choices of an event come from a generator seeded by (config.seed, event id).
class Generator {
 public:
  // Worst-case bytes of per-event strings not taken from the shared tables (a person's e-mail
  // address, at most 6 + 1 + 4 + 4, and credit card, 19).
  static constexpr size_t kMaxScratchBytesPerEvent = 64;

  // REQUIRES: config.Validate().ok(). `tables` must have been built with config.seed (null: build).
  explicit Generator(const GeneratorConfig& config,
                     std::shared_ptr<const GeneratorTables> tables = nullptr);

  // Fills out[0..k) with the next k events and returns k (0 once max_events are out). The strings
  // of the events stay valid until the next NextBatch or SeekTo call (or as long as the tables
  // for strings that come from them). Allocates only when `out` is larger than ever before.
  size_t NextBatch(std::span<Event> out);

  bool HasNext() const { return config_.max_events == 0 || count_ < config_.max_events; }
  uint64_t events_generated() const { return count_; }
  // Positions the generator so that the next event is its `events_generated`-th.
  void SeekTo(uint64_t events_generated) { count_ = events_generated; }

  const GeneratorConfig& config() const { return config_; }
  const std::shared_ptr<const GeneratorTables>& tables() const { return tables_; }

 private:
  void Generate(uint64_t count, Event& e, char*& scratch);

  GeneratorConfig config_;
  std::shared_ptr<const GeneratorTables> tables_;
  uint64_t count_ = 0;
  double inter_event_delay_us_;
  uint64_t auction_horizon_events_;  // numInFlightAuctions * total / auction
  std::vector<char> scratch_;
};

}  // namespace sluice::nexmark
