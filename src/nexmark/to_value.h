// Conversion of a Nexmark Event to the engine's event form: one model::Value object shaped like
// Flink Nexmark's `datagen` row, so pipeline specs can be written against the Flink DDL names.
#pragma once

#include "model/arena.h"
#include "model/value.h"
#include "nexmark/event.h"

namespace sluice::nexmark {

// Member positions, fixed so that Value::Find(name, &hint) costs one comparison per event.
// Top level: event_type (Int 0/1/2), person, auction, bid (the inactive two Null), dateTime.
// person:  id, name, emailAddress, creditCard, city, state, dateTime, extra
// auction: id, itemName, description, initialBid, reserve, dateTime, expires, seller, category,
//          extra
// bid:     auction, bidder, price, channel, url, dateTime, extra
// Ids and prices are Int, dateTime/expires Timestamp (ms), the rest String.
inline constexpr uint32_t kTopEventType = 0, kTopPerson = 1, kTopAuction = 2, kTopBid = 3,
                          kTopDateTime = 4;

// The event as a Value whose members and strings all live in `arena` (safe to keep after the
// generator moves on, as long as the arena is not reset).
model::Value ToValue(const Event& e, model::Arena& arena);

// As ToValue, but strings borrow the event's storage: valid only until the generator's next
// NextBatch/SeekTo (and while its tables live). Saves the string copies on the hot path.
model::Value ToValueBorrowed(const Event& e, model::Arena& arena);

}  // namespace sluice::nexmark
