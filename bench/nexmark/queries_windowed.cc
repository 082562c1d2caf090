// The Nexmark queries that need event time: q5 (sliding windows, then a keyed process function
// with event-time timers), q7 (keyed process functions with event-time timers), q8 (tumbling
// windows over a union), q11 (session windows) and q17 (one-day tumbling windows). Each has the
// shape of its Flink twin in flink/src/main/java/weir/bench/nexmark/queries/ and prints the
// same lines (QUERIES.md).
//
// Every function here is copied once per parallel subtask and runs on that subtask's thread.
#include <weir/weir.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "decimal.h"
#include "nexmark_codecs.h"
#include "queries.h"

namespace weir::nexmark {
namespace {

using std::chrono::seconds;

constexpr int64_t kMsPerDay = 86'400'000;

// ---- q5 ---------------------------------------------------------------------------------------

// An auction's bid count in the sliding window ending at window_end.
struct AuctionCount {
  int64_t auction = 0;
  int64_t count = 0;
  int64_t window_end = 0;
};

class CountBids final : public AggregateFunction<Bid, int64_t, int64_t> {
 public:
  int64_t CreateAccumulator() const override { return 0; }
  void Add(const Bid&, int64_t& acc) const override { ++acc; }
  int64_t GetResult(const int64_t& acc) const override { return acc; }
  int64_t Merge(int64_t a, const int64_t& b) const override { return a + b; }
};

class CountWithWindowEnd final
    : public ProcessWindowFunction<int64_t, AuctionCount, int64_t, TimeWindow> {
 public:
  void Process(const int64_t& auction, Context& ctx, const std::vector<int64_t>& counts,
               Collector<AuctionCount>& out) override {
    out.Collect(AuctionCount{auction, counts.front(), ctx.window().end});
  }
};

// Keyed by window end: the largest count so far and the auctions that have it, emitted when
// the watermark passes the window's last millisecond (the timestamp of its results, which
// every window subtask has sent by then).
class HottestPerWindow final : public KeyedProcessFunction<int64_t, AuctionCount, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    max_count_ = ctx.GetState(ValueStateDescriptor<int64_t>("max-count"));
    hottest_ = ctx.GetListState(ListStateDescriptor<int64_t>("hottest"));
  }
  void ProcessElement(const AuctionCount& c, Context& ctx, Collector<std::string>&) override {
    std::optional<int64_t> max = max_count_.Value();
    if (!max || c.count > *max) {
      max_count_.Update(c.count);
      hottest_.Update({c.auction});
      ctx.timer_service().RegisterEventTimeTimer(c.window_end - 1);
    } else if (c.count == *max) {
      hottest_.Add(c.auction);
    }
  }
  void OnTimer(int64_t, Context&, Collector<std::string>& out) override {
    if (std::optional<int64_t> max = max_count_.Value()) {
      for (int64_t auction : hottest_.Get()) {
        out.Collect(std::to_string(auction) + "," + std::to_string(*max));
      }
    }
    max_count_.Clear();
    hottest_.Clear();
  }

 private:
  ValueState<int64_t> max_count_;
  ListState<int64_t> hottest_;
};

// ---- q7 ---------------------------------------------------------------------------------------

constexpr int64_t kQ7WindowMs = 10'000;

// A bid offered to the tumbling window ending at window_end: as one of its own bids, or, when
// the bid lies exactly at that end (the next window's first millisecond), as a boundary bid
// that BETWEEN's inclusive upper end also admits.
struct TaggedBid {
  int64_t window_end = 0;
  bool boundary = false;
  Bid bid;
};

// Keyed by a window (and, in the first stage, an auction): the highest price of the window's
// own bids, the bids at it, and the boundary bids. At the window end the first stage passes on
// its candidates, the last stage the winners.
template <typename K>
class TopBids final : public KeyedProcessFunction<K, TaggedBid, TaggedBid> {
  using Base = KeyedProcessFunction<K, TaggedBid, TaggedBid>;

 public:
  explicit TopBids(bool last) : last_(last) {}

  void Open(RuntimeContext& ctx) override {
    max_price_ = ctx.GetState(ValueStateDescriptor<int64_t>("max-price"));
    at_max_ = ctx.GetListState(ListStateDescriptor<Bid>("at-max"));
    boundary_ = ctx.GetListState(ListStateDescriptor<Bid>("boundary"));
  }
  void ProcessElement(const TaggedBid& t, typename Base::Context& ctx,
                      Collector<TaggedBid>&) override {
    if (t.boundary) {
      ctx.timer_service().RegisterEventTimeTimer(t.window_end);
      boundary_.Add(t.bid);
      return;
    }
    std::optional<int64_t> max = max_price_.Value();
    // The key's first bid registers its timer (a boundary bid before it may have too: timers
    // are set once per key and time); later bids find it registered, and skip the lookup.
    if (!max) ctx.timer_service().RegisterEventTimeTimer(t.window_end);
    if (!max || t.bid.price > *max) {
      max_price_.Update(t.bid.price);
      at_max_.Update({t.bid});
    } else if (t.bid.price == *max) {
      at_max_.Add(t.bid);
    }
  }
  void OnTimer(int64_t window_end, typename Base::Context&, Collector<TaggedBid>& out) override {
    std::optional<int64_t> max = max_price_.Value();
    if (max) {
      for (const Bid& b : at_max_.Get()) out.Collect(TaggedBid{window_end, false, b});
    }
    for (const Bid& b : boundary_.Get()) {
      // A boundary bid matches only the window's overall max. The first stage cannot know it
      // yet (without own bids it passes them all on); the last stage keeps exact matches.
      bool keep = last_ ? max && b.price == *max : !max || b.price >= *max;
      if (keep) out.Collect(TaggedBid{window_end, true, b});
    }
    max_price_.Clear();
    at_max_.Clear();
    boundary_.Clear();
  }

 private:
  bool last_;
  ValueState<int64_t> max_price_;
  ListState<Bid> at_max_;
  ListState<Bid> boundary_;
};

// ---- q8 ---------------------------------------------------------------------------------------

// A person (person set, with the name) or an auction of the seller `id` arriving in a window;
// also the window's accumulator: whether the person came (and the name), whether an auction did.
struct Arrival {
  int64_t id = 0;
  bool person = false;
  std::string name;
  bool auction = false;
};

class CombineArrivals final : public AggregateFunction<Arrival, Arrival, Arrival> {
 public:
  Arrival CreateAccumulator() const override { return {}; }
  void Add(const Arrival& in, Arrival& acc) const override {
    if (in.person) {
      acc.person = true;
      acc.name = in.name;
    }
    acc.auction = acc.auction || in.auction;
  }
  Arrival GetResult(const Arrival& acc) const override { return acc; }
  Arrival Merge(Arrival a, const Arrival& b) const override {
    Add(b, a);
    return a;
  }
};

class EmitNewSellers final : public ProcessWindowFunction<Arrival, std::string, int64_t, TimeWindow> {
 public:
  void Process(const int64_t& id, Context& ctx, const std::vector<Arrival>& in,
               Collector<std::string>& out) override {
    const Arrival& a = in.front();
    if (a.person && a.auction) {
      out.Collect(std::to_string(id) + "," + a.name + "," + std::to_string(ctx.window().start));
    }
  }
};

// ---- q11 --------------------------------------------------------------------------------------

class EmitSession final : public ProcessWindowFunction<int64_t, std::string, int64_t, TimeWindow> {
 public:
  void Process(const int64_t& bidder, Context& ctx, const std::vector<int64_t>& counts,
               Collector<std::string>& out) override {
    const TimeWindow& w = ctx.window();
    out.Collect(std::to_string(bidder) + "," + std::to_string(counts.front()) + "," +
                std::to_string(w.start) + "," + std::to_string(w.end));
  }
};

// ---- q17 --------------------------------------------------------------------------------------

// The running statistics of one auction and day.
struct DayStats {
  int64_t total = 0;
  int64_t rank1 = 0;  // price < 10,000
  int64_t rank2 = 0;  // 10,000 <= price < 1,000,000
  int64_t rank3 = 0;  // price >= 1,000,000
  int64_t min = INT64_MAX;
  int64_t max = INT64_MIN;
  int64_t sum = 0;
};

class AccumulateDayStats final : public AggregateFunction<Bid, DayStats, DayStats> {
 public:
  DayStats CreateAccumulator() const override { return {}; }
  void Add(const Bid& b, DayStats& acc) const override {
    ++acc.total;
    if (b.price < 10'000) {
      ++acc.rank1;
    } else if (b.price < 1'000'000) {
      ++acc.rank2;
    } else {
      ++acc.rank3;
    }
    acc.min = std::min(acc.min, b.price);
    acc.max = std::max(acc.max, b.price);
    acc.sum += b.price;
  }
  DayStats GetResult(const DayStats& acc) const override { return acc; }
  DayStats Merge(DayStats a, const DayStats& b) const override {
    a.total += b.total;
    a.rank1 += b.rank1;
    a.rank2 += b.rank2;
    a.rank3 += b.rank3;
    a.min = std::min(a.min, b.min);
    a.max = std::max(a.max, b.max);
    a.sum += b.sum;
    return a;
  }
};

// What PutDay may write.
constexpr int kDayRoom = 32;

// "yyyy-MM-dd" of the UTC day that starts at `day_start_ms` (as Java's LocalDate.toString for
// years 0-9999), by the proleptic Gregorian calendar (H. Hinnant's civil_from_days). Writes at
// `at` (room for kDayRoom characters) and returns the end.
char* PutDay(char* at, int64_t day_start_ms) {
  int64_t z = day_start_ms / kMsPerDay - (day_start_ms % kMsPerDay < 0 ? 1 : 0) + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                        // [0, 146096]
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 // [0, 365]
  int64_t mp = (5 * doy + 2) / 153;                                      // [0, 11]
  int64_t day = doy - (153 * mp + 2) / 5 + 1;                            // [1, 31]
  int64_t month = mp < 10 ? mp + 3 : mp - 9;                             // [1, 12]
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) [[unlikely]] {
    const int n = std::snprintf(at, kDayRoom, "%04lld-%02lld-%02lld", static_cast<long long>(year),
                                static_cast<long long>(month), static_cast<long long>(day));
    return at + n;
  }
  const auto digit = [](int64_t v) { return static_cast<char>('0' + v % 10); };
  const char text[10] = {digit(year / 1000), digit(year / 100), digit(year / 10), digit(year),
                         '-', digit(month / 10), digit(month), '-', digit(day / 10), digit(day)};
  std::memcpy(at, text, sizeof text);
  return at + sizeof text;
}

// The line is put together on the stack, one number after another, and made a string once.
class EmitDayStats final : public ProcessWindowFunction<DayStats, std::string, int64_t, TimeWindow> {
 public:
  void Process(const int64_t& auction, Context& ctx, const std::vector<DayStats>& in,
               Collector<std::string>& out) override {
    const DayStats& a = in.front();
    char line[9 * (kDecimalRoom + 1) + kDayRoom];
    char* at = PutDecimal(line, auction);
    *at++ = ',';
    at = PutDay(at, ctx.window().start);
    for (int64_t v : {a.total, a.rank1, a.rank2, a.rank3, a.min, a.max, a.sum / a.total, a.sum}) {
      *at++ = ',';
      at = PutDecimal(at, v);
    }
    out.Collect(std::string(line, at));
  }
};

}  // namespace
}  // namespace weir::nexmark

template <>
struct weir::Codec<weir::nexmark::Arrival>
    : weir::FieldsCodec<weir::nexmark::Arrival, &weir::nexmark::Arrival::id,
                        &weir::nexmark::Arrival::person, &weir::nexmark::Arrival::name,
                        &weir::nexmark::Arrival::auction> {};

template <>
struct weir::Codec<weir::nexmark::DayStats>
    : weir::FieldsCodec<weir::nexmark::DayStats, &weir::nexmark::DayStats::total,
                        &weir::nexmark::DayStats::rank1, &weir::nexmark::DayStats::rank2,
                        &weir::nexmark::DayStats::rank3, &weir::nexmark::DayStats::min,
                        &weir::nexmark::DayStats::max, &weir::nexmark::DayStats::sum> {};

namespace weir::nexmark {

DataStream<std::string> Q5(const DataStream<Event>& events) {
  return Bids(events)
      .KeyBy([](const Bid& b) { return b.auction; })
      .Window(SlidingEventTimeWindows::Of(seconds(10), seconds(2)))
      .Sliced()  // a count per 2 s slice, as Flink SQL slices its HOP window aggregates
      .Aggregate(CountBids(), CountWithWindowEnd())
      .Name("q5-count-per-window")
      .Uid("q5-count-per-window")
      .KeyBy([](const AuctionCount& c) { return c.window_end; })
      .Process(HottestPerWindow())
      .Name("q5-hottest")
      .Uid("q5-hottest");
}

DataStream<std::string> Q7(const DataStream<Event>& events) {
  return Bids(events)
      .FlatMap([](Bid b, Collector<TaggedBid>& out) {  // moved in: its strings move on
        int64_t start = TimeWindow::StartOf(b.date_time, 0, kQ7WindowMs);
        if (b.date_time == start) out.Collect(TaggedBid{start, true, b});
        out.Collect(TaggedBid{start + kQ7WindowMs, false, std::move(b)});
      })
      .Name("q7-tag-windows")
      .KeyBy([](const TaggedBid& t) { return std::pair<int64_t, int64_t>(t.bid.auction, t.window_end); })
      .Process(TopBids<std::pair<int64_t, int64_t>>(/*last=*/false))
      .Name("q7-max-per-auction")
      .Uid("q7-max-per-auction")
      .KeyBy([](const TaggedBid& t) { return t.window_end; })
      .Process(TopBids<int64_t>(/*last=*/true))
      .Name("q7-max-per-window")
      .Uid("q7-max-per-window")
      .Map([](const TaggedBid& t) {
        const Bid& b = t.bid;
        std::string line = std::to_string(b.auction) + "," + std::to_string(b.price) + "," +
                           std::to_string(b.bidder) + "," + std::to_string(b.date_time) + ",";
        line += b.extra;
        return line;
      })
      .Name("q7");
}

DataStream<std::string> Q8(const DataStream<Event>& events) {
  DataStream<Arrival> persons =
      Persons(events)
          .Map([](const Person& p) { return Arrival{p.id, true, p.name, false}; })
          .Name("q8-persons");
  DataStream<Arrival> sellers =
      Auctions(events)
          .Map([](const Auction& a) { return Arrival{a.seller, false, std::string(), true}; })
          .Name("q8-sellers");
  return persons.Union(sellers)
      .KeyBy([](const Arrival& a) { return a.id; })
      .Window(TumblingEventTimeWindows::Of(seconds(10)))
      .Aggregate(CombineArrivals(), EmitNewSellers())
      .Name("q8-window-join")
      .Uid("q8-window-join");
}

DataStream<std::string> Q11(const DataStream<Event>& events) {
  return Bids(events)
      .KeyBy([](const Bid& b) { return b.bidder; })
      .Window(EventTimeSessionWindows::WithGap(seconds(10)))
      .Aggregate(CountBids(), EmitSession())
      .Name("q11-sessions")
      .Uid("q11-sessions");
}

DataStream<std::string> Q17(const DataStream<Event>& events) {
  return Bids(events)
      .KeyBy([](const Bid& b) { return b.auction; })
      .Window(TumblingEventTimeWindows::Of(std::chrono::milliseconds(kMsPerDay)))
      .Aggregate(AccumulateDayStats(), EmitDayStats())
      .Name("q17-daily-stats")
      .Uid("q17-daily-stats");
}

}  // namespace weir::nexmark
