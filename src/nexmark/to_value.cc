// ToValue: one arena allocation of the top-level and entity members per event.
#include "nexmark/to_value.h"

#include <new>

namespace sluice::nexmark {

namespace {

using model::Member;
using model::Value;

constexpr size_t kTop = 5;

template <bool kCopy>
inline Value Str(std::string_view s, model::Arena& arena) {
  if constexpr (kCopy) {
    return Value::String(arena.CopyString(s));
  } else {
    (void)arena;
    return Value::String(s);
  }
}

template <bool kCopy>
Value Convert(const Event& e, model::Arena& arena) {
  constexpr size_t kEntity[] = {8, 10, 7};
  size_t k = kEntity[static_cast<int>(e.type)];
  auto* m = static_cast<Member*>(arena.Allocate((kTop + k) * sizeof(Member), alignof(Member)));
  Member* sub = m + kTop;
  size_t i = 0;
  auto put = [&](std::string_view name, Value v) { new (sub + i++) Member{name, v}; };
  switch (e.type) {
    case EventType::kPerson: {
      const Person& p = e.person;
      put("id", Value::Int(p.id));
      put("name", Str<kCopy>(p.name, arena));
      put("emailAddress", Str<kCopy>(p.email_address, arena));
      put("creditCard", Str<kCopy>(p.credit_card, arena));
      put("city", Str<kCopy>(p.city, arena));
      put("state", Str<kCopy>(p.state, arena));
      put("dateTime", Value::Timestamp(p.date_time));
      put("extra", Str<kCopy>(p.extra, arena));
      break;
    }
    case EventType::kAuction: {
      const Auction& a = e.auction;
      put("id", Value::Int(a.id));
      put("itemName", Str<kCopy>(a.item_name, arena));
      put("description", Str<kCopy>(a.description, arena));
      put("initialBid", Value::Int(a.initial_bid));
      put("reserve", Value::Int(a.reserve));
      put("dateTime", Value::Timestamp(a.date_time));
      put("expires", Value::Timestamp(a.expires));
      put("seller", Value::Int(a.seller));
      put("category", Value::Int(a.category));
      put("extra", Str<kCopy>(a.extra, arena));
      break;
    }
    case EventType::kBid: {
      const Bid& b = e.bid;
      put("auction", Value::Int(b.auction));
      put("bidder", Value::Int(b.bidder));
      put("price", Value::Int(b.price));
      put("channel", Str<kCopy>(b.channel, arena));
      put("url", Str<kCopy>(b.url, arena));
      put("dateTime", Value::Timestamp(b.date_time));
      put("extra", Str<kCopy>(b.extra, arena));
      break;
    }
  }
  Value entity = Value::Object({sub, k});
  auto t = static_cast<int>(e.type);
  new (m + kTopEventType) Member{"event_type", Value::Int(t)};
  new (m + kTopPerson) Member{"person", t == 0 ? entity : Value::Null()};
  new (m + kTopAuction) Member{"auction", t == 1 ? entity : Value::Null()};
  new (m + kTopBid) Member{"bid", t == 2 ? entity : Value::Null()};
  new (m + kTopDateTime) Member{"dateTime", Value::Timestamp(e.timestamp_ms)};
  return Value::Object({m, kTop});
}

}  // namespace

Value ToValue(const Event& e, model::Arena& arena) { return Convert<true>(e, arena); }
Value ToValueBorrowed(const Event& e, model::Arena& arena) { return Convert<false>(e, arena); }

}  // namespace sluice::nexmark
