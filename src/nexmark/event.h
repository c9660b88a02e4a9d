// Nexmark events as typed structs: Person, Auction, Bid and the Event that carries one of them.
// Field names follow the Nexmark data model (shared/reference/nexmark.md §1); strings are views
// into generator-owned storage (see Generator::NextBatch for how long they stay valid).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/check.h"

namespace sluice::nexmark {

// Values match Flink Nexmark's `event_type` column.
enum class EventType : uint8_t { kPerson = 0, kAuction = 1, kBid = 2 };

struct Person {
  int64_t id;
  std::string_view name;
  std::string_view email_address;
  std::string_view credit_card;
  std::string_view city;
  std::string_view state;
  int64_t date_time;  // ms since the Unix epoch (event time)
  std::string_view extra;
};

struct Auction {
  int64_t id;
  std::string_view item_name;
  std::string_view description;
  int64_t initial_bid;  // cents
  int64_t reserve;      // cents
  int64_t date_time;    // ms
  int64_t expires;      // ms
  int64_t seller;       // -> Person.id
  int64_t category;
  std::string_view extra;
};

struct Bid {
  int64_t auction;  // -> Auction.id
  int64_t bidder;   // -> Person.id + 1000 (the Flink quirk, spec §5)
  int64_t price;    // cents
  std::string_view channel;
  std::string_view url;
  int64_t date_time;  // ms
  std::string_view extra;
};

// One generated event. Trivially copyable; the strings it points to belong to the Generator.
struct Event {
  EventType type;
  uint64_t event_number;  // the generator's event number (firstEventNumber + count)
  int64_t event_id;       // firstEventId + adjusted event number; selects type and ids
  int64_t timestamp_ms;   // event time (= date_time of the entity)
  int64_t watermark_ms;   // the spec's per-event watermark hint (timestamp of the group base)
  union {
    Person person;
    Auction auction;
    Bid bid;
  };

  Event()
      : type(EventType::kBid),
        event_number(0),
        event_id(0),
        timestamp_ms(0),
        watermark_ms(0),
        bid{} {}

  const Person& as_person() const {
    SLUICE_DCHECK(type == EventType::kPerson, "not a person");
    return person;
  }
  const Auction& as_auction() const {
    SLUICE_DCHECK(type == EventType::kAuction, "not an auction");
    return auction;
  }
  const Bid& as_bid() const {
    SLUICE_DCHECK(type == EventType::kBid, "not a bid");
    return bid;
  }
};

}  // namespace sluice::nexmark
