#include "nexmark_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "java_random.h"

// Every rule below is the reference's, in the reference's order of random draws: changing the
// order of two draws changes every later field of the event. Comments name the reference's
// method each function reproduces (com.github.nexmark.flink.generator.*).

namespace weir::nexmark {
namespace {

constexpr int kMinStringLength = 3;
constexpr int kNumCategories = 5;
constexpr int kPersonIdLead = 10;
constexpr int kAuctionIdLead = 10;
// The hot person/auction is the first of each batch of this many (the *_RATIO constants of the
// reference, not the configurable hot ratios, which say how often the hot one is chosen).
constexpr int64_t kHotSellerBatch = 100;
constexpr int64_t kHotBidderBatch = 100;
constexpr int64_t kHotAuctionBatch = 100;
constexpr int kHotChannelsRatio = 2;
constexpr int kNumChannels = 10'000;
constexpr int kExtraPoolLength = 1024 * 1024;

// Seeds of the tables the reference draws from an unseeded SplittableRandom at class-load time
// (StringsGenerator.REUSABLE_EXTRA_STRING; BidGenerator.HOT_URLS and CHANNEL_URL_CACHE). Any
// fixed value makes runs repeatable; the Java twin uses the same ones.
constexpr int64_t kExtraPoolSeed = 0;
constexpr int64_t kChannelTableSeed = 1;

constexpr std::array<std::string_view, 6> kUsStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kUsCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};
static_assert((kHotChannels.size() & (kHotChannels.size() - 1)) == 0,
              "a bid reads one draw as nextInt(4) and nextInt(10000): see NextBid");

// `if_true` if `c`, else `if_false`, by a mask: for choices that go either way at random, where
// GCC would branch on `c ? if_true : if_false` and mispredict.
int64_t Select(bool c, int64_t if_true, int64_t if_false) {
  return if_false ^ ((if_true ^ if_false) & (0 - static_cast<int64_t>(c)));
}

// StringsGenerator.nextString: 3 to kMaxLength-1 characters, each a lowercase letter or, one
// time in 13, `special`; then String.trim(), which here can only remove spaces. Appends to
// `out`; only the appended part is trimmed. (A template: the length's bound is then a constant,
// and its remainder a multiplication, not a division.)
template <int kMaxLength>
void AppendRandomString(JavaRandom& random, char special, std::string* out) {
  const int len = kMinStringLength + random.NextInt(kMaxLength - kMinStringLength);
  const size_t start = out->size();
  out->resize(start + static_cast<size_t>(len));  // written in place: no size check per char
  char* chars = out->data() + start;
  if (!random.NextLetters(len, special, chars)) [[unlikely]] {  // where Java draws again
    for (int i = 0; i < len; ++i) {
      chars[i] = random.NextInt(13) == 0 ? special : static_cast<char>('a' + random.NextInt(26));
    }
  }
  size_t end = out->size();
  while (end > start && (*out)[end - 1] <= ' ') --end;
  out->resize(end);
  size_t first = start;
  while (first < end && (*out)[first] <= ' ') ++first;
  out->erase(start, first - start);
}

// The character loop of StringsGenerator.nextExactString: six letters from each nextInt(),
// using Java's remainder and division, which keep the sign: a negative int gives characters
// below 'a' ('H' to '`'), as in the reference.
void AppendExactStringSlow(JavaRandom& random, int length, std::string* out) {
  int32_t rnd = 0;
  int n = 0;
  while (length-- > 0) {
    if (n == 0) {
      rnd = random.NextInt();
      n = 6;
    }
    out->push_back(static_cast<char>('a' + rnd % 26));
    rnd /= 26;
    n--;
  }
}

}  // namespace

// 100 * 10^(n/64) for n in [0, 384] (the exponents of a price, 0 to 6, in 64ths, in cents),
// each the double nearest it: 3 KiB, which stays in the cache between bids.
using PowersOfTen = std::array<double, 6 * 64 + 1>;

// Where a channel's name and URL lie in GeneratorTables' texts.
struct ChannelText {
  uint32_t name_offset;
  uint32_t url_offset;
  uint16_t name_length;
  uint16_t url_length;
};

// Built once, shared by every generator, never written after.
struct GeneratorTables {
  std::string extra_pool;
  // Channels 0 to 9999 ("channel-N" and its URL), then the four hot ones (kHotChannels and
  // theirs), so that a bid picks either kind by an index: one lookup, no branch on the kind.
  std::vector<ChannelText> channels;
  std::string channel_names;
  std::string channel_urls;
  PowersOfTen powers_of_ten;
};

namespace {

// BidGenerator.getBaseUrl.
std::string BaseUrl(JavaRandom& random) {
  std::string url = "https://www.nexmark.com/";
  AppendRandomString<5>(random, '_', &url);
  url.push_back('/');
  AppendRandomString<5>(random, '_', &url);
  url.push_back('/');
  AppendRandomString<5>(random, '_', &url);
  url.push_back('/');
  url.append("item.htm?query=1");
  return url;
}

// Java's Math.abs(Integer.reverse(i)); abs(Integer.MIN_VALUE) stays negative (i = 1).
int32_t JavaAbsReverse(int32_t i) {
  uint32_t v = static_cast<uint32_t>(i);
  uint32_t r = 0;
  for (int b = 0; b < 32; ++b) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  const auto s = static_cast<int32_t>(r);
  return s < 0 ? static_cast<int32_t>(0u - r) : s;
}

void AddChannel(std::string_view name, std::string_view url, GeneratorTables* t) {
  t->channels.push_back(ChannelText{static_cast<uint32_t>(t->channel_names.size()),
                                    static_cast<uint32_t>(t->channel_urls.size()),
                                    static_cast<uint16_t>(name.size()),
                                    static_cast<uint16_t>(url.size())});
  t->channel_names.append(name);
  t->channel_urls.append(url);
}

PowersOfTen BuildPowersOfTen() {
  PowersOfTen t;
  for (size_t n = 0; n < t.size(); ++n) {
    t[n] = static_cast<double>(100.0L * std::pow(10.0L, static_cast<long double>(n) / 64.0L));
  }
  return t;
}

GeneratorTables BuildTables() {
  GeneratorTables t;
  {
    JavaRandom random(kExtraPoolSeed);
    t.extra_pool.reserve(kExtraPoolLength);
    AppendExactStringSlow(random, kExtraPoolLength, &t.extra_pool);
  }
  JavaRandom random(kChannelTableSeed);
  std::array<std::string, kHotChannels.size()> hot_urls;
  for (auto& url : hot_urls) url = BaseUrl(random);
  t.channels.reserve(kNumChannels + kHotChannels.size());
  for (int i = 0; i < kNumChannels; ++i) {
    std::string url = BaseUrl(random);
    if (random.NextInt(10) > 0) {
      url.append("&channel_id=").append(std::to_string(JavaAbsReverse(i)));
    }
    AddChannel("channel-" + std::to_string(i), url, &t);
  }
  for (size_t i = 0; i < kHotChannels.size(); ++i) AddChannel(kHotChannels[i], hot_urls[i], &t);
  t.powers_of_ten = BuildPowersOfTen();
  return t;
}

const GeneratorTables& GetTables() {
  static const GeneratorTables tables = BuildTables();
  return tables;
}

// `out` becomes a view of `from`, text of the shared tables. Its cache lines are asked for now:
// a query that reads it (q0 copies a bid's padding into its line) will find them there. The
// first three lines and the last are asked for without a loop: a bid's padding (54 to 81
// characters by default) lies in three lines at most, and a loop of one, two or three turns
// mispredicted its end.
void ViewTables(std::string_view from, SharedText* out) {
  // Addresses as integers: the second and third may lie past the pool's end, where a prefetch
  // does no harm but a pointer may not point.
  const auto at = reinterpret_cast<uintptr_t>(from.data());
  const auto prefetch = [](uintptr_t address) {
    __builtin_prefetch(reinterpret_cast<const void*>(address));
  };
  prefetch(at);
  prefetch(at + 64);
  prefetch(at + 128);
  if (!from.empty()) prefetch(at + from.size() - 1);
  for (size_t more = 192; more < from.size(); more += 64) prefetch(at + more);
  out->SetLasting(from);
}

// nextExactString's fresh characters, for lengths of half the pool or more (never with the
// default sizes): out of line, so that AssignExactString keeps a small frame. The random's last
// use: taken by value.
[[gnu::noinline, gnu::cold]] void AssignFreshString(JavaRandom random, int length,
                                                    SharedText* out) {
  std::string fresh;
  AppendExactStringSlow(random, length, &fresh);
  *out = SharedText(std::move(fresh));
}

// StringsGenerator.nextExactString: a random slice of the pool, or fresh characters.
void AssignExactString(JavaRandom& random, int length, const std::string& pool, SharedText* out) {
  const auto pool_size = static_cast<int>(pool.size());
  if (length >= pool_size / 2) [[unlikely]] {
    AssignFreshString(random, length, out);
    return;
  }
  // offset + length < pool_size: a view without substr's check.
  const int offset = random.NextInt(pool_size - length);
  ViewTables(std::string_view(pool.data() + offset, static_cast<size_t>(length)), out);
}

// StringsGenerator.nextExtra: padding so that current_size plus it averages desired_average.
// The last draws of every event: it takes the random by value, so that a caller's stays in a
// register (whose address, passed on, would keep it in memory, every draw a store and a load).
void AssignExtra(JavaRandom random, int current_size, int desired_average,
                 const std::string& pool, SharedText* out) {
  if (current_size > desired_average) {
    out->SetLasting("");
    return;
  }
  desired_average -= current_size;
  // Java: (int) Math.round(desired_average * 0.2). For an int d >= 0, d * 0.2 lies within 1e-6
  // of d / 5, whose fraction is 0, .2, .4, .6 or .8: never near a half, so the rounding is
  // (d + 2) / 5 in integers.
  const int delta = (desired_average + 2) / 5;
  const int min_size = desired_average - delta;
  const int desired_size = min_size + (delta == 0 ? 0 : random.NextInt(2 * delta));
  AssignExactString(random, desired_size, pool, out);
}

// LongGenerator.nextLong: [0, n) through nextInt when n fits an int, else |nextLong() % n|
// (Java's remainder and abs, so Long.MIN_VALUE stays negative, as upstream).
[[gnu::always_inline]] inline int64_t NextLong(JavaRandom& random, int64_t n) {
  if (n < std::numeric_limits<int32_t>::max()) {
    return random.NextInt(static_cast<int32_t>(n));
  }
  const int64_t r = random.NextLong() % n;
  return r < 0 ? static_cast<int64_t>(0ULL - static_cast<uint64_t>(r)) : r;
}

// Adding 1.5 * 2^52 to a double below 2^51 rounds it to an integer (to nearest) and leaves that
// integer in the low bits of the sum: a rounding without a conversion instruction.
constexpr double kRoundingAddend = 0x1.8p52;

// The reference's own computation, for the prices PriceOf cannot round alone. Out of line:
// its call would make PriceOf save registers on every bid.
[[gnu::noinline, gnu::cold]] int64_t PriceByPow(double u) {
  return JavaMathRound(std::pow(10.0, u * 6.0) * 100.0);
}

// PriceOfDraw, given the table.
inline int64_t PriceOf(double u, const PowersOfTen& powers_of_ten) {
  // 10^(6u) = 10^(n/64) * 10^(r/64), with n the integer nearest 384u and |r| <= 1/2. 384u is
  // 64 times the reference's u * 6.0, rounded alike (a power of two changes no rounding), and
  // r = 384u - n is exact.
  const double y64 = u * 384.0;
  const double yn = y64 + kRoundingAddend;
  uint64_t yn_bits;
  std::memcpy(&yn_bits, &yn, sizeof(yn_bits));
  const double power = powers_of_ten[yn_bits & 0xFFFF];
  // 10^(r/64) - 1 = e^z - 1, |z| <= 0.018: six terms of its series leave a relative error
  // below 2e-16, summed in two halves (Estrin) so that they do not wait for each other.
  const double z = (y64 - (yn - kRoundingAddend)) * (2.302585092994045684 / 64.0);  // ln 10 / 64
  const double z2 = z * z;
  const double e = z + z2 * ((0.5 + z * (1.0 / 6)) +
                             z2 * ((1.0 / 24 + z * (1.0 / 120)) + z2 * (1.0 / 720)));
  const double cents = power + power * e;
  // `cents` is within 3e-8 of the exact value (2.5e-8 at most over two million draws), and
  // pow's within 3e-8: they round alike unless the exact value lies within about 1e-7 of a
  // half cent (two draws in a million come within 1e-6). Those ask pow, as the reference does.
  const double whole = cents + kRoundingAddend;
  const double below = cents - (whole - kRoundingAddend);  // in [-0.5, 0.5]
  if (std::fabs(std::fabs(below) - 0.5) < 1e-6) [[unlikely]] return PriceByPow(u);
  uint64_t whole_bits;
  std::memcpy(&whole_bits, &whole, sizeof(whole_bits));
  return static_cast<int64_t>(whole_bits & ((uint64_t{1} << 51) - 1));
}

// PriceGenerator.nextPrice: 10^(6u) dollars' worth of cents, 100 to 100,000,000, as
// Math.round(Math.pow(10.0, u * 6.0) * 100.0) gives it (PriceOfDraw).
[[gnu::always_inline]] inline int64_t NextPrice(JavaRandom& random, const GeneratorTables& tables) {
  return PriceOf(random.NextDouble(), tables.powers_of_ten);
}

}  // namespace

int64_t PriceOfDraw(double u) { return PriceOf(u, GetTables().powers_of_ten); }

EventPosition EventPosition::Of(const GeneratorConfig& c, int64_t event_id) {
  const int64_t total = c.TotalProportion();
  return EventPosition{event_id / total, event_id % total};  // one division for both
}

namespace {

// PersonGenerator.lastBase0PersonId.
int64_t LastBase0PersonId(const GeneratorConfig& c, EventPosition at) {
  const int64_t offset = std::min<int64_t>(at.offset, c.person_proportion - 1);
  return at.epoch * c.person_proportion + offset;
}

// PersonGenerator.nextBase0PersonId: one of the active people or a few ids ahead.
[[gnu::always_inline]] inline int64_t NextBase0PersonId(const GeneratorConfig& c,
                                                         EventPosition at, JavaRandom& random) {
  const int64_t num_people = LastBase0PersonId(c, at) + 1;
  const int64_t active_people = std::min<int64_t>(num_people, c.num_active_people);
  const int64_t n = NextLong(random, active_people + kPersonIdLead);
  return num_people - active_people + n;
}

// NextBase0PersonId if `draw`, else `chosen` and no draw, without a branch on `draw`: a bid's
// bidder is the hot one three times in four, a branch on it mispredicted one time in four.
[[gnu::always_inline]] inline int64_t ChosenOrNextBase0PersonId(const GeneratorConfig& c,
                                                                 EventPosition at, bool draw,
                                  int64_t chosen, JavaRandom& random) {
  const int64_t num_people = LastBase0PersonId(c, at) + 1;
  const int64_t active_people = std::min<int64_t>(num_people, c.num_active_people);
  const int64_t bound = active_people + kPersonIdLead;
  int32_t n;
  if (bound >= std::numeric_limits<int32_t>::max() ||
      !JavaRandom::IntOfDraw(random.PeekNext31(), static_cast<int32_t>(bound), &n)) [[unlikely]] {
    return draw ? NextBase0PersonId(c, at, random) : chosen;  // NextLong, or a draw again
  }
  random.SkipIf(draw);
  return Select(draw, num_people - active_people + n, chosen);
}

// AuctionGenerator.lastBase0AuctionId.
int64_t LastBase0AuctionId(const GeneratorConfig& c, EventPosition at) {
  int64_t epoch = at.epoch;
  int64_t offset = at.offset;
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

// AuctionGenerator.nextBase0AuctionId: one of the auctions likely still open, or a few ahead.
[[gnu::always_inline]] inline int64_t NextBase0AuctionId(const GeneratorConfig& c,
                                                          EventPosition at, JavaRandom& random) {
  const int64_t max_auction = LastBase0AuctionId(c, at);
  const int64_t min_auction = std::max<int64_t>(max_auction - c.num_in_flight_auctions, 0);
  return min_auction + NextLong(random, max_auction - min_auction + 1 + kAuctionIdLead);
}

// AuctionGenerator.nextAuctionLengthMs: on average until numInFlightAuctions more auctions
// have been made.
int64_t NextAuctionLengthMs(const GeneratorConfig& c, int64_t events_so_far, JavaRandom& random,
                            int64_t timestamp) {
  const int64_t current_event_number = c.NextAdjustedEventNumber(events_so_far);
  const int64_t num_events_for_auctions =
      (static_cast<int64_t>(c.num_in_flight_auctions) * c.TotalProportion()) / c.auction_proportion;
  const int64_t future_auction =
      c.TimestampForEvent(current_event_number + num_events_for_auctions);
  const int64_t horizon_ms = future_auction - timestamp;
  return 1 + NextLong(random, std::max<int64_t>(horizon_ms * 2, 1));
}

// Java's (long) cast of a double: truncation, NaN to 0, saturating at the ends.
int64_t JavaDoubleToLong(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (d <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

}  // namespace

int64_t JavaMathRound(double a) {
  // Round half up, exactly: take the significand as an integer with one extra bit below the
  // units, add one half, shift it away. Outside [2^-1, 2^63) the cast is already exact or
  // saturates.
  uint64_t bits;
  std::memcpy(&bits, &a, sizeof(bits));
  const auto biased_exp = static_cast<int64_t>((bits >> 52) & 0x7FF);
  const int64_t shift = (52 - 1 + 1023) - biased_exp;
  if ((shift & -64) == 0) {
    int64_t r = static_cast<int64_t>((bits & 0x000FFFFFFFFFFFFFULL) | 0x0010000000000000ULL);
    if (static_cast<int64_t>(bits) < 0) r = -r;
    return ((r >> shift) + 1) >> 1;
  }
  return JavaDoubleToLong(a);
}

int64_t GeneratorConfig::EffectiveMaxEvents() const {
  if (max_events != 0) return max_events;
  const int64_t largest =
      std::max({avg_person_byte_size, avg_auction_byte_size, avg_bid_byte_size});
  return std::numeric_limits<int64_t>::max() / (TotalProportion() * largest);
}

int64_t GeneratorConfig::TimestampForEvent(int64_t event_number,
                                           double inter_event_delay_us) const {
  // Java: baseTime + (long)(eventNumber * interEventDelayUs) / 1000L
  return base_time_ms +
         JavaDoubleToLong(static_cast<double>(event_number) * inter_event_delay_us) / 1000;
}

int64_t GeneratorConfig::NextAdjustedEventNumber(int64_t events_so_far) const {
  const int64_t n = out_of_order_group_size;
  const int64_t event_number = first_event_number + events_so_far;
  if (n == 1) return event_number;  // in order (the default): no division
  const int64_t base = (event_number / n) * n;
  const int64_t offset = (event_number * 953) % n;
  return base + offset;
}

int64_t GeneratorConfig::NextEventNumberForWatermark(int64_t events_so_far) const {
  const int64_t n = out_of_order_group_size;
  const int64_t event_number = first_event_number + events_so_far;
  return (event_number / n) * n;
}

std::vector<GeneratorConfig> GeneratorConfig::Split(int n) const {
  std::vector<GeneratorConfig> out;
  if (n <= 1) {
    out.push_back(*this);
    return out;
  }
  const int64_t total = EffectiveMaxEvents();
  int64_t sub_max_events = total / n;
  int64_t sub_first_event_id = first_event_id;
  for (int i = 0; i < n; ++i) {
    if (i == n - 1) sub_max_events = total - sub_max_events * (n - 1);
    GeneratorConfig sub = *this;
    sub.first_event_id = sub_first_event_id;
    sub.max_events = sub_max_events;
    out.push_back(sub);
    sub_first_event_id += sub_max_events;
  }
  return out;
}

std::string GeneratorConfig::Validate() const {
  if (first_event_rate <= 0) return "first_event_rate must be positive";
  if (num_event_generators <= 0) return "num_event_generators must be positive";
  if (person_proportion <= 0 || auction_proportion <= 0 || bid_proportion <= 0) {
    return "the person, auction and bid proportions must be positive";
  }
  if (hot_auction_ratio <= 0 || hot_bidders_ratio <= 0 || hot_sellers_ratio <= 0) {
    return "the hot ratios must be positive";
  }
  if (num_in_flight_auctions <= 0 || num_active_people <= 0) {
    return "num_in_flight_auctions and num_active_people must be positive";
  }
  if (out_of_order_group_size <= 0) return "out_of_order_group_size must be positive";
  if (max_events < 0) return "max_events must not be negative";
  return "";
}

NexmarkGenerator::NexmarkGenerator(const GeneratorConfig& config, int64_t events_so_far)
    : config_(config),
      inter_event_delay_us_(config.InterEventDelayUs()),
      max_events_(config.EffectiveMaxEvents()),
      events_so_far_(events_so_far),
      tables_(&GetTables()) {}

void NexmarkGenerator::NextBatch(size_t n, std::vector<Event>* events,
                                 std::vector<int64_t>* timestamps) {
  // The events already there are refilled: one that holds the kind it is to hold keeps it
  // (Event::Hold), instead of a fresh one made and then turned into a bid.
  const auto left = static_cast<uint64_t>(std::max<int64_t>(max_events_ - events_so_far_, 0));
  events->resize(static_cast<size_t>(std::min<uint64_t>(n, left)));
  if (timestamps != nullptr) timestamps->resize(events->size());
  int64_t* timestamp = timestamps != nullptr ? timestamps->data() : nullptr;
  if (config_.out_of_order_group_size != 1) {
    for (Event& event : *events) {
      const int64_t t = Fill(events_so_far_++, event);
      if (timestamp != nullptr) *timestamp++ = t;
    }
    return;
  }
  // In order, each event's number is the one before it plus one, and so is its place in the
  // pattern: no 64-bit division per event (EventPosition::Of's).
  int64_t event_number = config_.NextAdjustedEventNumber(events_so_far_);
  EventPosition at = EventPosition::Of(config_, config_.first_event_id + event_number);
  const int64_t total = config_.TotalProportion();
  for (Event& event : *events) {
    const int64_t t = FillAt(events_so_far_++, event_number++, at, event);
    if (timestamp != nullptr) *timestamp++ = t;
    if (++at.offset == total) {
      at.offset = 0;
      ++at.epoch;
    }
  }
}

int64_t NexmarkGenerator::Fill(int64_t events_so_far, Event& event) const {
  // NexmarkGenerator.nextEvent. The event number is the adjusted one (the same as the plain
  // one unless out_of_order_group_size > 1).
  const int64_t event_number = config_.NextAdjustedEventNumber(events_so_far);
  return FillAt(events_so_far, event_number,
                EventPosition::Of(config_, config_.first_event_id + event_number), event);
}

int64_t NexmarkGenerator::FillAt(int64_t events_so_far, int64_t event_number, EventPosition at,
                                 Event& event) const {
  const int64_t timestamp = config_.TimestampForEvent(event_number, inter_event_delay_us_);
  const int64_t event_id = config_.first_event_id + event_number;
  if (at.offset < config_.person_proportion) {
    NextPerson(event_id, at, timestamp, event);
  } else if (at.offset < config_.person_proportion + config_.auction_proportion) {
    NextAuction(events_so_far, event_id, at, timestamp, event);
  } else {
    NextBid(event_id, at, timestamp, event);
  }
  return timestamp;
}

void NexmarkGenerator::NextPerson(int64_t event_id, EventPosition at, int64_t timestamp,
                                  Event& event) const {
  // PersonGenerator.nextPerson.
  JavaRandom random(event_id);
  Person& p = event.Hold<Person>();
  p.id = LastBase0PersonId(config_, at) + kFirstPersonId;

  p.name.assign(kFirstNames[random.NextInt(kFirstNames.size())]);
  p.name.push_back(' ');
  p.name.append(kLastNames[random.NextInt(kLastNames.size())]);

  p.email_address.clear();
  AppendRandomString<7>(random, ' ', &p.email_address);
  p.email_address.push_back('@');
  AppendRandomString<5>(random, ' ', &p.email_address);
  p.email_address.append(".com");

  // Four groups of String.format("%04d", nextInt(10000)), space-separated.
  p.credit_card.resize(19);
  for (int i = 0; i < 4; ++i) {
    int v = random.NextInt(10000);
    char* group = p.credit_card.data() + i * 5;
    for (int d = 3; d >= 0; --d) {
      group[d] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    if (i < 3) group[4] = ' ';
  }

  p.city.assign(kUsCities[random.NextInt(kUsCities.size())]);
  p.state.assign(kUsStates[random.NextInt(kUsStates.size())]);
  p.date_time = timestamp;
  const auto current_size = static_cast<int>(8 + p.name.size() + p.email_address.size() +
                                             p.credit_card.size() + p.city.size() + p.state.size());
  AssignExtra(random, current_size, config_.avg_person_byte_size, tables_->extra_pool, &p.extra);
}

void NexmarkGenerator::NextAuction(int64_t events_so_far, int64_t event_id, EventPosition at,
                                   int64_t timestamp, Event& event) const {
  // AuctionGenerator.nextAuction.
  JavaRandom random(event_id);
  Auction& a = event.Hold<Auction>();
  a.id = LastBase0AuctionId(config_, at) + kFirstAuctionId;

  int64_t seller;
  if (random.NextInt(config_.hot_sellers_ratio) > 0) {
    seller = (LastBase0PersonId(config_, at) / kHotSellerBatch) * kHotSellerBatch;
  } else {
    seller = NextBase0PersonId(config_, at, random);
  }
  a.seller = seller + kFirstPersonId;

  a.category = kFirstCategoryId + random.NextInt(kNumCategories);
  a.initial_bid = NextPrice(random, *tables_);
  a.date_time = timestamp;
  a.expires = timestamp + NextAuctionLengthMs(config_, events_so_far, random, timestamp);
  a.item_name.clear();
  AppendRandomString<20>(random, ' ', &a.item_name);
  a.description.clear();
  AppendRandomString<100>(random, ' ', &a.description);
  a.reserve = a.initial_bid + NextPrice(random, *tables_);
  const auto current_size =
      static_cast<int>(8 + a.item_name.size() + a.description.size() + 8 + 8 + 8 + 8 + 8);
  AssignExtra(random, current_size, config_.avg_auction_byte_size, tables_->extra_pool,
              &a.extra);
}

void NexmarkGenerator::NextBid(int64_t event_id, EventPosition at, int64_t timestamp,
                               Event& event) const {
  // BidGenerator.nextBid.
  JavaRandom random(event_id);
  Bid& b = event.Hold<Bid>();

  int64_t auction;
  if (random.NextInt(config_.hot_auction_ratio) > 0) {
    auction = (LastBase0AuctionId(config_, at) / kHotAuctionBatch) * kHotAuctionBatch;
  } else {
    auction = NextBase0AuctionId(config_, at, random);
  }
  b.auction = auction + kFirstAuctionId;

  // The hot bidder is the second person of the batch, so hot bidders and hot sellers differ.
  const bool hot_bidder = random.NextInt(config_.hot_bidders_ratio) > 0;
  int64_t bidder = ChosenOrNextBase0PersonId(
      config_, at, !hot_bidder,
      (LastBase0PersonId(config_, at) / kHotBidderBatch) * kHotBidderBatch + 1, random);
  // The reference adds FIRST_PERSON_ID twice (once here, once after the channel), so bidder ids
  // are person ids + 1000. Kept, so that both engines see the suite's data.
  bidder += kFirstPersonId;

  const GeneratorTables& tables = *tables_;
  b.price = NextPrice(random, tables);

  // One channel in two is hot: nextInt(4) picks which, else nextInt(10000) picks any. Either
  // way it is one draw, read both ways; the channel is taken by its index in the table, so
  // nothing branches on which kind it is.
  const bool hot_channel = random.NextInt(kHotChannelsRatio) > 0;
  const int32_t u = random.PeekNext31();
  int32_t any_channel;
  if (JavaRandom::IntOfDraw(u, kNumChannels, &any_channel) || hot_channel) [[likely]] {
    random.Skip();
  } else {
    any_channel = random.NextInt(kNumChannels);  // where Java draws again
  }
  int32_t hot_index;
  JavaRandom::IntOfDraw(u, kHotChannels.size(), &hot_index);  // a power of two: always taken
  const auto channel_index = Select(hot_channel, kNumChannels + hot_index, any_channel);
  const ChannelText& channel = tables.channels[static_cast<size_t>(channel_index)];
  b.channel.SetLasting(
      std::string_view(tables.channel_names).substr(channel.name_offset, channel.name_length));
  b.url.SetLasting(
      std::string_view(tables.channel_urls).substr(channel.url_offset, channel.url_length));
  b.bidder = bidder + kFirstPersonId;
  b.date_time = timestamp;
  AssignExtra(random, 8 + 8 + 8 + 8, config_.avg_bid_byte_size, tables.extra_pool, &b.extra);
}

}  // namespace weir::nexmark
