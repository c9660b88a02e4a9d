// Generator: the per-event rules of shared/reference/nexmark.md §2-§6 (Flink distributions,
// seeded per event id).
#include "nexmark/generator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>

#include "nexmark/internal/id_math.h"
#include "nexmark/internal/rng.h"

namespace sluice::nexmark {

namespace {

using internal::Rng;

constexpr std::string_view kFirstNames[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                            "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::string_view kLastNames[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                           "Walton", "Smith",  "Jones",   "Noris"};
constexpr std::string_view kCities[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend",        "Redmond",       "Seattle",
                                        "Kent",     "Cheyenne"};
constexpr std::string_view kStates[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::string_view kHotChannels[] = {"Google", "Facebook", "Baidu", "Apple"};
constexpr uint32_t kHotChannelsRatio = 2;
constexpr int kNumPersonNames = std::size(kFirstNames) * std::size(kLastNames);

// The spec's randStr(max_len, special) drawn character by character: 3 + uniform[0, max_len - 3)
// characters, each `special` with probability 1/13, else a-z. Used to build the tables.
size_t RandChars(Rng& rng, size_t max_len, char special, char* out) {
  size_t len = 3 + rng.Uniform(max_len - 3);
  for (size_t i = 0; i < len; ++i) {
    out[i] = rng.Uniform(13) == 0 ? special : static_cast<char>('a' + rng.Uniform(26));
  }
  return len;
}

// The spec's randStr(max_len) for per-event strings: a random-length substring of the shared
// text (independent characters with randStr's distribution), leading and trailing spaces
// trimmed. Like Flink's padding, this trades per-character draws for one draw per string.
std::string_view RandText(Rng& rng, const std::string& text, size_t max_len) {
  uint64_t bits = rng.NextU64();
  size_t len = 3 + (((bits & 0xffffffffULL) * (max_len - 3)) >> 32);
  size_t offset = ((bits >> 32) * (text.size() - len + 1)) >> 32;
  std::string_view s(text.data() + offset, len);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The spec's price(): round(10^(6U) * 100), log-uniform between 100 and 100 000 000 cents.
// 10^(6U) = step[j] * e^y with y < 6 ln(10) / 256 = 0.054; the degree-5 series is exact to
// 4e-11 relative, far below the rounding to whole cents.
int64_t Price(Rng& rng, const GeneratorTables& t) {
  constexpr double kStep = 6.0 * 2.302585092994046 / GeneratorTables::kPriceSteps;
  double x = rng.NextDouble() * GeneratorTables::kPriceSteps;
  auto j = static_cast<int64_t>(x);
  double y = (x - static_cast<double>(j)) * kStep;
  // Horner form with multiplications only (divisions would not be folded without -ffast-math).
  constexpr double k2 = 1.0 / 2, k6 = 1.0 / 6, k24 = 1.0 / 24, k120 = 1.0 / 120;
  double e = 1 + y * (1 + y * (k2 + y * (k6 + y * (k24 + y * k120))));
  return static_cast<int64_t>(t.price_steps[j] * e + 0.5);
}

// The spec's padding(current, avg): a random-length substring of the shared filler text.
std::string_view Padding(Rng& rng, const std::string& filler, size_t current, size_t avg) {
  if (current > avg) return {};
  size_t d = avg - current;
  auto delta = static_cast<size_t>(0.2 * static_cast<double>(d) + 0.5);
  size_t len = delta == 0 ? d : d - delta + rng.Uniform(2 * delta);
  size_t offset = rng.Uniform(filler.size() - len + 1);
  return std::string_view(filler).substr(offset, len);
}

int64_t NextBase0PersonId(const GeneratorConfig& c, Rng& rng, int64_t last_person) {
  int64_t num_people = last_person + 1;
  int64_t active = std::min<int64_t>(num_people, c.num_active_people);
  return num_people - active + static_cast<int64_t>(rng.Uniform(active + 10));
}

int64_t NextBase0AuctionId(const GeneratorConfig& c, Rng& rng, int64_t last) {
  int64_t min = std::max<int64_t>(last - c.num_in_flight_auctions, 0);
  return min + static_cast<int64_t>(rng.Uniform(last - min + 1 + 10));
}

// Four groups of %04d joined by spaces (19 bytes).
void CreditCard(Rng& rng, char* out) {
  for (int g = 0; g < 4; ++g) {
    auto v = static_cast<uint32_t>(rng.Uniform(10'000));
    char* p = out + g * 5;
    p[0] = static_cast<char>('0' + v / 1000);
    p[1] = static_cast<char>('0' + v / 100 % 10);
    p[2] = static_cast<char>('0' + v / 10 % 10);
    p[3] = static_cast<char>('0' + v % 10);
    if (g < 3) p[4] = ' ';
  }
}

uint32_t ReverseBits32(uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

std::string BaseUrl(Rng& rng) {
  std::string url = "https://www.nexmark.com/";
  char buf[8];
  for (int i = 0; i < 3; ++i) {
    url.append(buf, RandChars(rng, 5, '_', buf));
    url += '/';
  }
  url += "item.htm?query=1";
  return url;
}

}  // namespace

Status GeneratorConfig::Validate() const {
  if (person_proportion == 0 || auction_proportion == 0 || bid_proportion == 0) {
    return InvalidArgument("nexmark: proportions must be positive");
  }
  if (!(first_event_rate > 0)) return InvalidArgument("nexmark: event rate must be positive");
  if (num_event_generators == 0) return InvalidArgument("nexmark: need at least one generator");
  if (hot_auction_ratio == 0 || hot_sellers_ratio == 0 || hot_bidders_ratio == 0) {
    return InvalidArgument("nexmark: hot ratios must be positive");
  }
  if (out_of_order_group_size == 0) return InvalidArgument("nexmark: group size must be >= 1");
  if (num_active_people == 0) return InvalidArgument("nexmark: num_active_people must be >= 1");
  return Status::Ok();
}

std::vector<GeneratorConfig> GeneratorConfig::Split(uint32_t n) const {
  SLUICE_CHECK(n >= 1, "split into {} generators", n);
  std::vector<GeneratorConfig> out;
  if (n == 1) {
    out.push_back(*this);
    return out;
  }
  SLUICE_CHECK(max_events > 0, "cannot split an unbounded generator");
  uint64_t sub_max = max_events / n;
  int64_t first_id = first_event_id;
  for (uint32_t i = 0; i < n; ++i) {
    GeneratorConfig c = *this;
    c.first_event_id = first_id;
    c.max_events = i + 1 == n ? max_events - sub_max * (n - 1) : sub_max;
    first_id += static_cast<int64_t>(c.max_events);
    out.push_back(c);
  }
  return out;
}

std::shared_ptr<const GeneratorTables> GeneratorTables::Build(uint64_t seed) {
  auto t = std::make_shared<GeneratorTables>();
  Rng rng(seed ^ 0x6e65786d61726b00ULL, 0);  // "nexmark\0": a stream no event id uses
  t->filler.resize(kFillerBytes);
  for (size_t i = 0; i < kFillerBytes; ++i) t->filler[i] = static_cast<char>('a' + rng.Uniform(26));
  t->text.resize(kFillerBytes);
  for (size_t i = 0; i < kFillerBytes; ++i) {
    t->text[i] = rng.Uniform(13) == 0 ? ' ' : static_cast<char>('a' + rng.Uniform(26));
  }
  t->channels.reserve(kNumChannels);
  for (size_t i = 0; i < kNumChannels; ++i) {
    std::string name = "channel-" + std::to_string(i);
    std::string url = BaseUrl(rng);
    if (rng.Uniform(10) > 0) {
      // Java's Math.abs(Integer.reverse(i)): abs(INT_MIN) stays INT_MIN (i = 1).
      auto r = static_cast<int32_t>(ReverseBits32(static_cast<uint32_t>(i)));
      int64_t a = r == INT32_MIN ? int64_t{INT32_MIN} : std::abs(static_cast<int64_t>(r));
      url += "&channel_id=" + std::to_string(a);
    }
    Channel ch;
    ch.name_offset = static_cast<uint32_t>(t->channel_text.size());
    ch.name_size = static_cast<uint16_t>(name.size());
    t->channel_text += name;
    ch.url_offset = static_cast<uint32_t>(t->channel_text.size());
    ch.url_size = static_cast<uint16_t>(url.size());
    t->channel_text += url;
    t->channels.push_back(ch);
  }
  for (auto& u : t->hot_channel_urls) u = BaseUrl(rng);
  t->person_names.reserve(kNumPersonNames);
  for (auto first : kFirstNames) {
    for (auto last : kLastNames) {
      t->person_names.push_back(std::string(first) + " " + std::string(last));
    }
  }
  for (size_t i = 0; i <= kPriceSteps; ++i) {
    t->price_steps[i] = 100.0 * std::pow(10.0, 6.0 * static_cast<double>(i) / kPriceSteps);
  }
  return t;
}

Generator::Generator(const GeneratorConfig& config, std::shared_ptr<const GeneratorTables> tables)
    : config_(config),
      tables_(tables != nullptr ? std::move(tables) : GeneratorTables::Build(config.seed)),
      inter_event_delay_us_(config.InterEventDelayUs()),
      auction_horizon_events_(static_cast<uint64_t>(config.num_in_flight_auctions) *
                              config.total_proportion() / config.auction_proportion) {
  Status st = config_.Validate();
  SLUICE_CHECK(st.ok(), "{}", st.message());
}

size_t Generator::NextBatch(std::span<Event> out) {
  size_t n = out.size();
  if (config_.max_events != 0)
    n = std::min<uint64_t>(n, config_.max_events - std::min(count_, config_.max_events));
  if (n == 0) return 0;
  size_t need = n * kMaxScratchBytesPerEvent;
  if (scratch_.size() < need) scratch_.resize(need);
  char* scratch = scratch_.data();
  for (size_t i = 0; i < n; ++i) Generate(count_ + i, out[i], scratch);
  count_ += n;
  return n;
}

void Generator::Generate(uint64_t count, Event& e, char*& scratch) {
  const GeneratorConfig& c = config_;
  const GeneratorTables& t = *tables_;
  uint64_t number = c.first_event_number + count;
  uint64_t adjusted = c.AdjustedEventNumber(number);
  int64_t id = c.first_event_id + static_cast<int64_t>(adjusted);
  auto ts_of = [&](uint64_t n) {
    return c.base_time_ms +
           static_cast<int64_t>(static_cast<double>(n) * inter_event_delay_us_) / 1000;
  };
  int64_t ts = ts_of(adjusted);
  e.event_number = number;
  e.event_id = id;
  e.timestamp_ms = ts;
  uint32_t g = c.out_of_order_group_size;
  e.watermark_ms = g <= 1 ? ts : ts_of(number / g * g);

  Rng rng(c.seed, static_cast<uint64_t>(id));
  internal::LastIds last = internal::LastBase0Ids(c, id);
  // The type is the offset within the epoch (spec §2.1), recovered from LastBase0Ids' division.
  int64_t epoch_start = (last.person / c.person_proportion) * c.total_proportion();
  auto rem = static_cast<uint32_t>(id - epoch_start);
  if (rem < c.person_proportion) {
    e.type = EventType::kPerson;
    Person& p = e.person;
    p.id = last.person + kFirstPersonId;
    p.name = t.person_names[rng.Uniform(std::size(kFirstNames)) * std::size(kLastNames) +
                            rng.Uniform(std::size(kLastNames))];
    char* start = scratch;
    std::string_view user = RandText(rng, t.text, 7), domain = RandText(rng, t.text, 5);
    std::memcpy(scratch, user.data(), user.size());
    scratch += user.size();
    *scratch++ = '@';
    std::memcpy(scratch, domain.data(), domain.size());
    scratch += domain.size();
    std::memcpy(scratch, ".com", 4);
    scratch += 4;
    p.email_address = std::string_view(start, scratch - start);
    CreditCard(rng, scratch);
    p.credit_card = std::string_view(scratch, 19);
    scratch += 19;
    p.city = kCities[rng.Uniform(std::size(kCities))];
    p.state = kStates[rng.Uniform(std::size(kStates))];
    p.date_time = ts;
    size_t current = 8 + p.name.size() + p.email_address.size() + p.credit_card.size() +
                     p.city.size() + p.state.size();
    p.extra = Padding(rng, t.filler, current, c.avg_person_byte_size);
  } else if (rem < c.person_proportion + c.auction_proportion) {
    e.type = EventType::kAuction;
    Auction& a = e.auction;
    a.id = last.auction + kFirstAuctionId;
    int64_t seller = rng.Uniform(c.hot_sellers_ratio) > 0 ? last.person / 100 * 100
                                                          : NextBase0PersonId(c, rng, last.person);
    a.seller = seller + kFirstPersonId;
    a.category = kFirstCategoryId + static_cast<int64_t>(rng.Uniform(5));
    a.initial_bid = Price(rng, t);
    a.reserve = a.initial_bid + Price(rng, t);
    a.date_time = ts;
    int64_t horizon = ts_of(adjusted + auction_horizon_events_) - ts;
    a.expires = ts + 1 + static_cast<int64_t>(rng.Uniform(std::max<int64_t>(2 * horizon, 1)));
    a.item_name = RandText(rng, t.text, 20);
    a.description = RandText(rng, t.text, 100);
    a.extra = Padding(rng, t.filler, 8 + a.item_name.size() + a.description.size() + 40,
                      c.avg_auction_byte_size);
  } else {
    e.type = EventType::kBid;
    Bid& b = e.bid;
    int64_t auction = rng.Uniform(c.hot_auction_ratio) > 0
                          ? last.auction / 100 * 100
                          : NextBase0AuctionId(c, rng, last.auction);
    b.auction = auction + kFirstAuctionId;
    int64_t bidder = rng.Uniform(c.hot_bidders_ratio) > 0 ? last.person / 100 * 100 + 1
                                                          : NextBase0PersonId(c, rng, last.person);
    b.bidder = bidder + kFirstPersonId + (c.flink_bidder_offset ? kFirstPersonId : 0);
    b.price = Price(rng, t);
    if (rng.Uniform(kHotChannelsRatio) == 0) {
      size_t h = rng.Uniform(GeneratorTables::kNumHotChannels);
      b.channel = kHotChannels[h];
      b.url = t.hot_channel_urls[h];
    } else {
      size_t ch = rng.Uniform(GeneratorTables::kNumChannels);
      b.channel = t.ChannelName(ch);
      b.url = t.ChannelUrl(ch);
    }
    b.date_time = ts;
    b.extra = Padding(rng, t.filler, 32, c.avg_bid_byte_size);
  }
}

}  // namespace sluice::nexmark
