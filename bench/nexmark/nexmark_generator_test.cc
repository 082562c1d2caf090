#include "nexmark_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace weir::nexmark {
namespace {

GeneratorConfig Config(int64_t max_events) {
  GeneratorConfig c;
  c.first_event_rate = 10'000'000;
  c.max_events = max_events;
  return c;
}

std::string Json(const Event& e) {
  std::string s;
  AppendCanonicalJson(e, &s);
  return s;
}

TEST(JavaMathRoundTest, RoundsHalfUpLikeJava) {
  EXPECT_EQ(JavaMathRound(0.5), 1);
  EXPECT_EQ(JavaMathRound(2.5), 3);
  EXPECT_EQ(JavaMathRound(-0.5), 0);
  EXPECT_EQ(JavaMathRound(-2.5), -2);
  EXPECT_EQ(JavaMathRound(-2.6), -3);
  // floor(x + 0.5) in doubles would give 1 here; Java's Math.round gives 0.
  EXPECT_EQ(JavaMathRound(0.49999999999999994), 0);
  EXPECT_EQ(JavaMathRound(4503599627370497.0), 4503599627370497);  // 2^52 + 1: already whole
  EXPECT_EQ(JavaMathRound(1e300), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(JavaMathRound(-1e300), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(JavaMathRound(std::nan("")), 0);
  EXPECT_EQ(JavaMathRound(99999999.5), 100000000);
}

// What the reference computes, through glibc's pow.
int64_t PriceByPow(double u) { return JavaMathRound(std::pow(10.0, u * 6.0) * 100.0); }

TEST(PriceOfDrawTest, GivesPowsPriceForRandomDraws) {
  const uint64_t seed = std::random_device{}();
  std::printf("PriceOfDrawTest seed: %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 1'000'000; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // as nextDouble() makes them
    ASSERT_EQ(PriceOfDraw(u), PriceByPow(u)) << "u = " << u << ", seed " << seed;
  }
  EXPECT_EQ(PriceOfDraw(0.0), 100);
  const double last = std::nextafter(1.0, 0.0);
  EXPECT_EQ(PriceOfDraw(last), PriceByPow(last));
}

// The hard draws: those whose price lies next to a half cent, where one bit of 10^(6u) decides
// how it rounds. For random prices p, the draws nearest log10((p + 0.5) / 100) / 6, and eight
// on each side of it.
TEST(PriceOfDrawTest, GivesPowsPriceNextToEveryHalfCentTried) {
  const uint64_t seed = std::random_device{}();
  std::printf("PriceOfDrawTest seed: %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 50'000; ++i) {
    const auto cents = static_cast<long double>(100 + rng() % 99'999'900);
    double u = static_cast<double>(std::log10((cents + 0.5L) / 100.0L) / 6.0L);
    for (int k = 0; k < 8; ++k) u = std::nextafter(u, 0.0);
    for (int k = 0; k <= 16; ++k, u = std::nextafter(u, 1.0)) {
      ASSERT_EQ(PriceOfDraw(u), PriceByPow(u)) << "u = " << u << ", seed " << seed;
    }
  }
}

// Just outside the window where pow decides: draws whose price lies 2e-6 to 1e-5 of a cent
// from a half cent, where the table and the series alone decide how it rounds.
TEST(PriceOfDrawTest, GivesPowsPriceJustOutsideWherePowDecides) {
  const uint64_t seed = std::random_device{}();
  std::printf("PriceOfDrawTest seed: %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> offset(2e-6, 1e-5);
  int tried = 0;
  for (int i = 0; i < 200'000; ++i) {
    const auto cents = static_cast<long double>(100 + rng() % 99'999'900);
    const long double sign = (rng() & 1) != 0 ? 1.0L : -1.0L;
    const long double target = cents + 0.5L + sign * static_cast<long double>(offset(rng));
    const auto u = static_cast<double>(std::log10(target / 100.0L) / 6.0L);
    if (!(u >= 0.0 && u < 1.0)) continue;
    // The draw's own price, exactly: skip the few that landed inside the window after all.
    const long double exact = 100.0L * std::pow(10.0L, static_cast<long double>(u * 6.0));
    const long double from_half = std::fabs(exact - std::floor(exact) - 0.5L);
    if (from_half < 1.5e-6L) continue;
    ++tried;
    ASSERT_EQ(PriceOfDraw(u), PriceByPow(u)) << "u = " << u << ", seed " << seed;
  }
  EXPECT_GT(tried, 100'000);
}

TEST(NexmarkGeneratorTest, KeepsTheProportionsOfEachFiftyEvents) {
  // With first_event_id 1 and first_event_number 1 the first event has id 2; the kind follows
  // id % 50: 0 a person, 1-3 an auction, the rest a bid.
  NexmarkGenerator g(Config(5000));
  int persons = 0, auctions = 0, bids = 0;
  Event e;
  for (int64_t k = 0; g.HasNext(); ++k) {
    g.Next(&e);
    const int64_t id = 2 + k;
    const EventType expected = id % 50 == 0  ? EventType::kPerson
                               : id % 50 < 4 ? EventType::kAuction
                                             : EventType::kBid;
    ASSERT_EQ(e.type(), expected) << "event " << k;
    persons += e.type() == EventType::kPerson;
    auctions += e.type() == EventType::kAuction;
    bids += e.type() == EventType::kBid;
  }
  EXPECT_EQ(persons, 100);
  EXPECT_EQ(auctions, 300);
  EXPECT_EQ(bids, 4600);
}

TEST(NexmarkGeneratorTest, EventTimesFollowTheRate) {
  // 10,000,000 events/s: 10,000 events per millisecond; event number n is at base + n/10,000.
  GeneratorConfig c = Config(0);
  EXPECT_EQ(c.TimestampForEvent(1), kDefaultBaseTimeMs);
  EXPECT_EQ(c.TimestampForEvent(9'999), kDefaultBaseTimeMs);
  EXPECT_EQ(c.TimestampForEvent(10'000), kDefaultBaseTimeMs + 1);
  EXPECT_EQ(c.TimestampForEvent(100'000'000), kDefaultBaseTimeMs + 10'000);
  c.first_event_rate = 10'000;  // the reference's default: one event per 100 us
  EXPECT_EQ(c.TimestampForEvent(25), kDefaultBaseTimeMs + 2);
}

TEST(NexmarkGeneratorTest, IdsAndValuesStayInTheirSpaces) {
  NexmarkGenerator g(Config(100'000));
  Event e;
  int64_t last_time = 0;
  // Ids are consecutive. The first event has id 2 (not 0), so the first auction is 1001 and
  // the first person 1001, as in the suite.
  int64_t last_person = kFirstPersonId;
  int64_t last_auction = kFirstAuctionId;
  while (g.HasNext()) {
    g.Next(&e);
    ASSERT_GE(e.Timestamp(), last_time);
    last_time = e.Timestamp();
    switch (e.type()) {
      case EventType::kPerson:
        ASSERT_EQ(e.person().id, last_person + 1);
        last_person = e.person().id;
        ASSERT_EQ(e.person().credit_card.size(), 19u);
        ASSERT_NE(e.person().email_address.find('@'), std::string::npos);
        break;
      case EventType::kAuction:
        ASSERT_EQ(e.auction().id, last_auction + 1);
        last_auction = e.auction().id;
        ASSERT_GE(e.auction().category, 10);
        ASSERT_LE(e.auction().category, 14);
        ASSERT_GT(e.auction().expires, e.auction().date_time);
        ASSERT_GT(e.auction().reserve, e.auction().initial_bid);
        ASSERT_GE(e.auction().seller, kFirstPersonId);
        break;
      case EventType::kBid:
        ASSERT_GE(e.bid().price, 100);
        ASSERT_LE(e.bid().price, 100'000'000);
        ASSERT_GE(e.bid().auction, kFirstAuctionId);
        ASSERT_LE(e.bid().auction, last_auction + 11);     // at most the lead ahead
        ASSERT_GE(e.bid().bidder, kFirstPersonId + 1000);  // the reference's double offset
        ASSERT_EQ(e.bid().url.view().rfind("https://www.nexmark.com/", 0), 0u);
        break;
    }
    // Canonical text is one line.
    const std::string line = Json(e);
    ASSERT_EQ(line.find('\n'), line.size() - 1);
  }
}

TEST(NexmarkGeneratorTest, EventKIsAPureFunctionOfK) {
  // A source resumes from a checkpointed count: Generate(k) must equal the k-th Next().
  NexmarkGenerator sequential(Config(3000));
  NexmarkGenerator random_access(Config(3000));
  Event a, b;
  for (int64_t k = 0; sequential.HasNext(); ++k) {
    sequential.Next(&a);
    random_access.Generate(k, &b);
    ASSERT_EQ(Json(a), Json(b)) << "event " << k;
  }
  // And a refilled Event carries nothing over from the previous one.
  Event fresh;
  random_access.Generate(7, &fresh);
  random_access.Generate(7, &a);
  EXPECT_EQ(Json(fresh), Json(a));
}

// Padding of half the pool or more (never with the default sizes) is not a slice of the pool
// but fresh characters, six from each nextInt(): Java's remainder keeps the sign, so they lie
// between 'a' - 25 and 'a' + 25.
TEST(NexmarkGeneratorTest, PaddingOfHalfThePoolOrMoreIsDrawnFresh) {
  GeneratorConfig c = Config(60);
  c.avg_bid_byte_size = 1'500'000;
  const int desired = c.avg_bid_byte_size - 32;  // a bid's fields count 32 bytes
  const int delta = (desired + 2) / 5;
  NexmarkGenerator generator(c);
  Event e;
  int bids = 0;
  for (int64_t k = 0; generator.HasNext(); ++k) {
    generator.Next(&e);
    if (e.type() != EventType::kBid) continue;
    ++bids;
    const std::string_view extra = e.bid().extra;
    ASSERT_GE(extra.size(), static_cast<size_t>(desired - delta)) << "event " << k;
    ASSERT_LT(extra.size(), static_cast<size_t>(desired - delta + 2 * delta)) << "event " << k;
    ASSERT_TRUE(std::all_of(extra.begin(), extra.end(),
                            [](char ch) { return ch >= 'a' - 25 && ch <= 'a' + 25; }))
        << "event " << k;
    Event again;
    generator.Generate(k, &again);
    ASSERT_EQ(again.bid().extra, e.bid().extra) << "event " << k;
  }
  EXPECT_GT(bids, 40);
}

TEST(NexmarkGeneratorTest, SplitPartitionsTheEventsLikeTheReference) {
  GeneratorConfig c = Config(1003);
  c.num_event_generators = 4;
  const auto slices = c.Split(4);
  ASSERT_EQ(slices.size(), 4u);
  int64_t next_id = c.first_event_id;
  int64_t total = 0;
  for (size_t i = 0; i < slices.size(); ++i) {
    EXPECT_EQ(slices[i].first_event_id, next_id);
    EXPECT_EQ(slices[i].max_events, i + 1 < slices.size() ? 250 : 253);
    EXPECT_EQ(slices[i].first_event_number, 1);
    next_id += slices[i].max_events;
    total += slices[i].max_events;
  }
  EXPECT_EQ(total, 1003);
  // Four generators share the rate: each one's events are four times further apart.
  EXPECT_DOUBLE_EQ(slices[0].InterEventDelayUs(), 0.4);
}

// The expected text and hash come from the Nexmark suite's own generator
// (github.com/nexmark/nexmark, nexmark-flink/.../generator at 6b3646c), run locally with only its
// randomness made deterministic as ours is (java.util.Random seeded with each event id; the extra
// pool and channel tables from java.util.Random(0) and (1)), printing this canonical text for
// 10,000,000 events/s, one generator, base time 1436918400000. The first 100,000 and 20,000,000
// events matched nexmark_dump's output exactly; these pin the first 10,000.
TEST(NexmarkGeneratorTest, MatchesTheReferenceGenerator) {
  NexmarkGenerator g(Config(10'000));
  std::string text;
  Event e;
  std::string first_person;
  while (g.HasNext()) {
    g.Next(&e);
    const size_t before = text.size();
    AppendCanonicalJson(e, &text);
    if (e.type() == EventType::kPerson && first_person.empty()) {
      first_person = text.substr(before);
    }
  }
  EXPECT_EQ(
      first_person,
      "{\"type\":\"person\",\"id\":1001,\"name\":\"Sarah Smith\",\"emailAddress\":"
      "\"f  y@yumv.com\",\"creditCard\":\"0892 2755 1923 0591\",\"city\":\"Los Angeles\","
      "\"state\":\"ID\",\"dateTime\":1436918400000,\"extra\":\"`RST_^KaHTMLXH_ceknqovsvzb"
      "gapncqkQ[H]N]QPZWKQRXXQaMOVNZWSgsipamVRa[N_IUPZL]LR\\\\]LLNWLNXKNOVZ]Zagjthoqmbrhq`W]XOQRL"
      "YYS[jbqivsa^RYMWZY^QVJRNWTTKMSS[[J\\\\JXI_O\"}\n");
  uint64_t fnv1a = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    fnv1a = (fnv1a ^ c) * 0x100000001b3ULL;
  }
  EXPECT_EQ(fnv1a, 0x030668c181081f1cULL);
}

// NextBatch refills the events of the vector it is given: every event must be the one Generate
// makes fresh, whatever the refilled event held before (a moved-from event, a whole one of the
// same or another kind, a batch larger than what is left), in order (where NextBatch steps
// each event's place in the pattern on from the last one's) and with out-of-order groups, with
// other proportions, and from a slice's first id or a resumed position.
TEST(NexmarkGeneratorTest, NextBatchRefillsEventsToWhatGenerateMakes) {
  for (int64_t group : {1, 3}) {
    for (int64_t resumed_at : {0, 1'237}) {
      SCOPED_TRACE("out_of_order_group_size " + std::to_string(group) + ", resumed at " +
                   std::to_string(resumed_at));
      GeneratorConfig c = Config(5'000);
      c.out_of_order_group_size = group;
      c.person_proportion = 2;
      c.auction_proportion = 5;
      c.first_event_id = 1 + 41 * group;  // not a multiple of the pattern's 53 events
      NexmarkGenerator batches(c, resumed_at);
      const NexmarkGenerator fresh(c);
      std::vector<Event> batch;
      std::vector<int64_t> times;
      std::vector<Event> moved_out;
      int64_t k = resumed_at;
      bool move_out = false;
      for (size_t n : {1, 7, 300, 1024, 64, 1024, 1024, 1024, 1024, 1024}) {
        batches.NextBatch(n, &batch, &times);
        ASSERT_EQ(batch.size(), std::min<size_t>(n, static_cast<size_t>(5'000 - k)));
        ASSERT_EQ(times.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
          Event& e = batch[i];
          Event expected;
          fresh.Generate(k, &expected);
          ASSERT_EQ(Json(e), Json(expected)) << "event " << k;
          ASSERT_EQ(times[i], expected.Timestamp()) << "event " << k;
          ++k;
          // Every other batch is moved out, as the source does (emptied strings); the others
          // are left whole, so a field not rewritten would show.
          if (move_out) moved_out.push_back(std::move(e));
        }
        move_out = !move_out;
        if (moved_out.size() > 2'000) moved_out.clear();
      }
      EXPECT_EQ(k, 5'000);
      EXPECT_FALSE(batches.HasNext());
      batches.NextBatch(10, &batch);
      EXPECT_TRUE(batch.empty());
    }
  }
}

TEST(NexmarkGeneratorTest, CanonicalJsonEscapesQuotesAndBackslashes) {
  Event e(Bid{});
  e.bid().auction = 1;
  e.bid().bidder = 2;
  e.bid().price = 3;
  e.bid().channel = "a\"b";
  e.bid().url = "c\\d";
  e.bid().date_time = 4;
  e.bid().extra = std::string("x\ny", 3);
  EXPECT_EQ(Json(e),
            "{\"type\":\"bid\",\"auction\":1,\"bidder\":2,\"price\":3,\"channel\":\"a\\\"b\","
            "\"url\":\"c\\\\d\",\"dateTime\":4,\"extra\":\"x\\u000ay\"}\n");
}

}  // namespace
}  // namespace weir::nexmark
