// The Nexmark event generator: the same Person/Auction/Bid stream as the generator of the
// Nexmark suite that Flink's benchmarks use (github.com/nexmark/nexmark, nexmark-flink), so weir
// and Flink can be fed identical events. The Java twin is bench/nexmark/flink/.../generator.
//
// What is reproduced exactly: the proportions (1 person : 3 auctions : 46 bids of every 50
// events), the id spaces (persons and auctions from 1000, categories from 10, the "hot"
// sellers/bidders/auctions, the in-flight and lead windows), event times from the inter-event
// delay, the string, price and auction-length rules and the order in which each event draws its
// random numbers. Where the reference is not deterministic we fix it, the same way in C++ and
// Java (see README.md in this directory):
//   - each event draws from a java.util.Random seeded with the event's id, as the suite's first
//     version (and Beam's Nexmark) did; the current suite uses an unseeded SplittableRandom;
//   - the 1 MiB pool the "extra" strings are cut from, the 4 hot-channel URLs and the 10,000
//     channel URLs are drawn once from java.util.Random with fixed seeds (unseeded upstream);
//   - the base time is a fixed instant, not the wall clock at job submission.
//
// Thread-safety: a GeneratorConfig is a plain value. A NexmarkGenerator is owned by one thread;
// separate generators (one per parallel source split) may run on separate threads. The shared
// string tables are built once, on first use, under C++'s thread-safe static initialisation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nexmark_event.h"

namespace weir::nexmark {

// 2015-07-15T00:00:00Z, the base time Beam's Nexmark uses for deterministic runs.
inline constexpr int64_t kDefaultBaseTimeMs = 1436918400000;

// The first ids, as in the reference: small data sets still find matches in the queries.
inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;

// The knobs of the reference's NexmarkConfiguration that shape the events, with its defaults,
// plus the position of this generator's slice of the stream (GeneratorConfig's constructor
// arguments, as the suite's source factory passes them).
struct GeneratorConfig {
  // Events per second of event time over all generators ("first-event.rate"). Default 10,000
  // (the reference's default; the suite's benchmark workload sets 10,000,000).
  int32_t first_event_rate = 10'000;
  // Number of generators that share the rate, each on its own timeline. The suite sets it to
  // the source parallelism. Default 1.
  int32_t num_event_generators = 1;
  // Of every person+auction+bid events, how many are of each kind. Default 1, 3, 46.
  int32_t person_proportion = 1;
  int32_t auction_proportion = 3;
  int32_t bid_proportion = 46;
  // Average sizes the "extra" padding aims at, in bytes. Default 200, 500, 100.
  int32_t avg_person_byte_size = 200;
  int32_t avg_auction_byte_size = 500;
  int32_t avg_bid_byte_size = 100;
  // 1 in N bids/auctions goes to a random auction/bidder/seller; the rest to a hot one.
  // Default 2, 4, 4.
  int32_t hot_auction_ratio = 2;
  int32_t hot_bidders_ratio = 4;
  int32_t hot_sellers_ratio = 4;
  // Auctions a bid may choose among (besides the hot one), per generator. Default 100.
  int32_t num_in_flight_auctions = 100;
  // People a bid or auction may choose among. Default 1000.
  int32_t num_active_people = 1000;
  // Events in each pseudo-randomly reordered group; 1 = in order. Default 1.
  int64_t out_of_order_group_size = 1;

  // Event time of event number 0, ms since the epoch. Default kDefaultBaseTimeMs.
  int64_t base_time_ms = kDefaultBaseTimeMs;
  // Id of this generator's first event; ids seed each event's randomness. Default 1 (as the
  // suite's source factory).
  int64_t first_event_id = 1;
  // Events this generator makes; 0 = the reference's "unbounded" maximum. Default 0.
  int64_t max_events = 0;
  // Number of the first event; with the delay it gives the event time. Default 1 (as the
  // suite's source factory).
  int64_t first_event_number = 1;

  int64_t TotalProportion() const {
    return person_proportion + auction_proportion + bid_proportion;
  }

  // max_events, or for 0 the reference's maximum (Long.MAX_VALUE / (total * largest size)).
  int64_t EffectiveMaxEvents() const;

  // Microseconds of event time between two events of one generator.
  double InterEventDelayUs() const { return 1000000.0 / first_event_rate * num_event_generators; }

  // Event time of the event with this event number.
  int64_t TimestampForEvent(int64_t event_number) const {
    return TimestampForEvent(event_number, InterEventDelayUs());
  }
  // The same, given InterEventDelayUs() (a division a generator makes once, not per event).
  int64_t TimestampForEvent(int64_t event_number, double inter_event_delay_us) const;

  // The event number of the next event after `events_so_far`, accounting for the
  // out-of-order groups (the reference's nextAdjustedEventNumber).
  int64_t NextAdjustedEventNumber(int64_t events_so_far) const;

  // The event number whose time is a valid watermark after `events_so_far` events.
  int64_t NextEventNumberForWatermark(int64_t events_so_far) const;

  // Splits this generator's events into `n` slices with disjoint id ranges and the same
  // timeline, as the reference's split(n) does for n parallel source readers: slice i gets
  // max_events / n events (the last one the remainder) and its own first_event_id. Does not
  // change num_event_generators: set it to n first, as the suite does.
  std::vector<GeneratorConfig> Split(int n) const;

  // An empty string if the values make sense, else what is wrong.
  std::string Validate() const;
};

// Where an event falls in the repeating pattern of person, auction and bid events (of
// TotalProportion() events each): the pattern's number and the event's place in it.
struct EventPosition {
  int64_t epoch = 0;
  int64_t offset = 0;

  static EventPosition Of(const GeneratorConfig& config, int64_t event_id);
};

// The tables every generator draws text and prices from (nexmark_generator.cc).
struct GeneratorTables;

// Makes the events of one GeneratorConfig, in order. Event k is a pure function of the config
// and k, so a source can checkpoint just the count and resume anywhere (Seek).
class NexmarkGenerator {
 public:
  explicit NexmarkGenerator(const GeneratorConfig& config, int64_t events_so_far = 0);

  bool HasNext() const { return events_so_far_ < max_events_; }

  // Fills `event` with the next event and advances. Reuses the strings already in `event`.
  void Next(Event* event) { Fill(events_so_far_++, *event); }

  // `events` becomes the next n events (fewer at the end), the same as n calls of Next, and
  // `timestamps`, if given, their event times. The events already there are refilled: one that
  // holds the kind it is to hold keeps its strings' capacity (Event::Hold).
  void NextBatch(size_t n, std::vector<Event>* events,
                 std::vector<int64_t>* timestamps = nullptr);

  // Fills `event` with the event this generator makes after `events_so_far` events.
  void Generate(int64_t events_so_far, Event* event) const { Fill(events_so_far, *event); }

  // The watermark the reference attaches to the next event: no later event is older.
  int64_t NextWatermark() const {
    return config_.TimestampForEvent(config_.NextEventNumberForWatermark(events_so_far_));
  }

  void Seek(int64_t events_so_far) { events_so_far_ = events_so_far; }
  int64_t events_so_far() const { return events_so_far_; }
  int64_t max_events() const { return max_events_; }
  const GeneratorConfig& config() const { return config_; }

 private:
  // Fills `event` with the event after `events_so_far` events; returns its time.
  int64_t Fill(int64_t events_so_far, Event& event) const;
  // Fill, given the event's number and position (which follow from events_so_far). Returns
  // the event's time.
  int64_t FillAt(int64_t events_so_far, int64_t event_number, EventPosition at,
                 Event& event) const;
  void NextPerson(int64_t event_id, EventPosition at, int64_t timestamp, Event& event) const;
  void NextAuction(int64_t events_so_far, int64_t event_id, EventPosition at, int64_t timestamp,
                   Event& event) const;
  void NextBid(int64_t event_id, EventPosition at, int64_t timestamp, Event& event) const;

  GeneratorConfig config_;
  double inter_event_delay_us_;  // config_.InterEventDelayUs()
  int64_t max_events_;
  int64_t events_so_far_;
  const GeneratorTables* tables_;  // built on the first generator's construction
};

// Java's Math.round(double): the closest long, ties toward positive infinity, NaN to 0 and
// saturating. Exposed for tests.
int64_t JavaMathRound(double a);

// A price in cents from a draw u of nextDouble(): Math.round(Math.pow(10.0, u * 6.0) * 100.0),
// 100 to 100,000,000 (PriceGenerator.nextPrice). It takes 10^(6u) from a table and a short
// series, and asks glibc's pow only when the result comes within 1e-6 of a half cent, where
// rounding depends on pow's last bit. glibc's pow and HotSpot's Math.pow differ by one ulp for
// about 0.1% of arguments; that changes the price only within that ulp of a half cent (about
// 1e-11 per price, see README.md). Exposed for tests.
int64_t PriceOfDraw(double u);

}  // namespace weir::nexmark
