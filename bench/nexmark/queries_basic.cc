// q0 to q4: the stateless queries and the two unwindowed joins, as QUERIES.md defines them and
// the Flink twins (flink/.../queries/Q0.java .. Q4.java) compute them, line for line.
#include <weir/co_functions.h>
#include <weir/functions.h>
#include <weir/state.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "decimal.h"
#include "nexmark_codecs.h"
#include "queries.h"

namespace weir::nexmark {
namespace {

// The numbers of a line are written into a buffer on the stack first and the line's string is
// made once, at its size: appending number by number costs a call and a size check per piece.
// Each Put writes at `at` and returns the end; it needs room for kDecimalRoom characters (it
// may write past the number's end).
[[gnu::always_inline]] inline char* PutInt(char* at, int64_t v) { return PutDecimal(at, v); }

// 0.908 * cents as Flink prints a DECIMAL(23, 3): price * 908 thousandths, three decimals.
// Written backward, ending just before `end` (see PutDecimalBefore); returns the start. Needs
// room for kEurosRoom characters before `end`.
constexpr int kEurosRoom = 1 + kDecimalRoom + 4;
[[gnu::always_inline]] inline char* PutEurosBefore(char* end, int64_t price) {
  const int64_t thousandths = price * 908;  // prices are at most 10^8: no overflow
  const int64_t whole = thousandths / 1000;
  int64_t frac = thousandths % 1000;
  if (frac < 0) frac = -frac;
  end[-1] = static_cast<char>('0' + frac % 10);
  end[-2] = static_cast<char>('0' + frac / 10 % 10);
  end[-3] = static_cast<char>('0' + frac / 100);
  end[-4] = '.';
  char* start = PutDecimalBefore(end - 4, whole);
  if (thousandths < 0 && whole == 0) *--start = '-';
  return start;
}

[[gnu::always_inline]] inline char* PutIntBefore(char* end, int64_t v) {
  return PutDecimalBefore(end, v);
}

void AppendInt(std::string& s, int64_t v) {
  char buf[kDecimalRoom];
  s.append(buf, PutInt(buf, v));
}

// The characters [head, head_end) followed by `tail`, as one string.
std::string Concat(const char* head, const char* head_end, std::string_view tail) {
  const auto head_size = static_cast<size_t>(head_end - head);
  std::string s;
  s.reserve(head_size + tail.size());
  s.append(head, head_size).append(tail);
  return s;
}

// `auction,bidder,price,dateTime,extra`: the line of q0 and q1, which differ in how the
// price is printed. The line is put together on the stack and its string made from it in one
// piece, one allocation and one copy. The numbers are written from the last backward, each
// ending where the piece after it starts: a number's whole-word store then covers only what
// comes before it, not yet written, and its leading zeros are left there instead of shifted
// away. Padding that does not fit after them (never with the default sizes, about 80
// characters at most) is joined the longer way.
template <char* (*kPutPriceBefore)(char*, int64_t)>
std::string BidLine(const Bid& b) {
  constexpr size_t kHeadRoom = 3 * (kDecimalRoom + 1) + kEurosRoom + 1;
  char line[kHeadRoom + 256];
  char* const head_end = line + kHeadRoom;
  char* at = head_end;
  *--at = ',';
  at = PutIntBefore(at, b.date_time);
  *--at = ',';
  at = kPutPriceBefore(at, b.price);
  *--at = ',';
  at = PutIntBefore(at, b.bidder);
  *--at = ',';
  at = PutIntBefore(at, b.auction);
  const std::string_view extra = b.extra;
  if (extra.size() > static_cast<size_t>(std::end(line) - head_end)) [[unlikely]] {
    return Concat(at, head_end, extra);
  }
  std::memcpy(head_end, extra.data(), extra.size());
  return std::string(at, head_end + extra.size());
}

// ---- q3 -------------------------------------------------------------------------------------

// What q3 keeps of a person.
struct SellerInfo {
  std::string name;
  std::string city;
  std::string state;
};

}  // namespace
}  // namespace weir::nexmark

template <>
struct weir::Codec<weir::nexmark::SellerInfo>
    : weir::FieldsCodec<weir::nexmark::SellerInfo, &weir::nexmark::SellerInfo::name,
                        &weir::nexmark::SellerInfo::city, &weir::nexmark::SellerInfo::state> {};

namespace weir::nexmark {
namespace {

// Keyed by person id (auctions by seller). The person, once it came, and the auctions that
// came before it. Person ids occur once, so this is the regular join's output.
class LocalItemJoin final : public KeyedCoProcessFunction<int64_t, Auction, Person, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    person_ = ctx.GetState(ValueStateDescriptor<SellerInfo>("person"));
    waiting_ = ctx.GetListState(ListStateDescriptor<int64_t>("waiting-auctions"));
  }

  void ProcessElement1(const Auction& a, Context&, Collector<std::string>& out) override {
    if (auto p = person_.Value()) {
      out.Collect(Line(*p, a.id));
    } else {
      waiting_.Add(a.id);
    }
  }

  void ProcessElement2(const Person& p, Context&, Collector<std::string>& out) override {
    SellerInfo kept{p.name, p.city, p.state};
    for (int64_t id : waiting_.Get()) out.Collect(Line(kept, id));
    waiting_.Clear();
    person_.Update(std::move(kept));
  }

 private:
  static std::string Line(const SellerInfo& p, int64_t auction) {
    std::string s;
    s.reserve(p.name.size() + p.city.size() + p.state.size() + 24);
    s.append(p.name).push_back(',');
    s.append(p.city).push_back(',');
    s.append(p.state).push_back(',');
    AppendInt(s, auction);
    return s;
  }

  ValueState<SellerInfo> person_;
  ListState<int64_t> waiting_;
};

// ---- q4 -------------------------------------------------------------------------------------

// The final price of one auction.
struct Winner {
  int64_t auction = 0;
  int64_t category = 0;
  int64_t price = 0;
};

// The auction's fields the join needs; `closed`: a tombstone after its timer fired.
struct AuctionWindow {
  int64_t date_time = 0;
  int64_t expires = 0;
  int64_t category = 0;
  bool closed = false;
};

// A bid that came before its auction.
struct WaitingBid {
  int64_t date_time = 0;
  int64_t price = 0;
};

}  // namespace
}  // namespace weir::nexmark

template <>
struct weir::Codec<weir::nexmark::AuctionWindow>
    : weir::FieldsCodec<weir::nexmark::AuctionWindow, &weir::nexmark::AuctionWindow::date_time,
                        &weir::nexmark::AuctionWindow::expires,
                        &weir::nexmark::AuctionWindow::category,
                        &weir::nexmark::AuctionWindow::closed> {};
template <>
struct weir::Codec<weir::nexmark::WaitingBid>
    : weir::FieldsCodec<weir::nexmark::WaitingBid, &weir::nexmark::WaitingBid::date_time,
                        &weir::nexmark::WaitingBid::price> {};

namespace weir::nexmark {
namespace {

// Keyed by auction id. Tracks the highest bid within [dateTime, expires] (both ends included);
// an event-time timer at expires emits it (no bid that counts can come once the watermark
// passed expires) and leaves a tombstone, so later bids of the closed auction are dropped.
class WinningBids final : public KeyedCoProcessFunction<int64_t, Auction, Bid, Winner> {
 public:
  void Open(RuntimeContext& ctx) override {
    auction_ = ctx.GetState(ValueStateDescriptor<AuctionWindow>("auction"));
    max_price_ = ctx.GetState(ValueStateDescriptor<int64_t>("max-price"));
    waiting_ = ctx.GetListState(ListStateDescriptor<WaitingBid>("waiting-bids"));
  }

  void ProcessElement1(const Auction& a, Context& ctx, Collector<Winner>&) override {
    AuctionWindow w{a.date_time, a.expires, a.category, false};
    auction_.Update(w);
    for (const WaitingBid& b : waiting_.Get()) Offer(w, b.date_time, b.price);
    waiting_.Clear();
    ctx.timer_service().RegisterEventTimeTimer(a.expires);
  }

  void ProcessElement2(const Bid& b, Context&, Collector<Winner>&) override {
    std::optional<AuctionWindow> w = auction_.Value();
    if (!w) {
      waiting_.Add(WaitingBid{b.date_time, b.price});
    } else if (!w->closed) {
      Offer(*w, b.date_time, b.price);
    }
  }

  void OnTimer(int64_t, Context& ctx, Collector<Winner>& out) override {
    std::optional<AuctionWindow> w = auction_.Value();
    if (!w || w->closed) return;
    if (std::optional<int64_t> max = max_price_.Value()) {
      out.Collect(Winner{ctx.current_key(), w->category, *max});
    }
    max_price_.Clear();
    auction_.Update(AuctionWindow{0, 0, 0, true});
  }

 private:
  void Offer(const AuctionWindow& w, int64_t date_time, int64_t price) {
    if (date_time < w.date_time || date_time > w.expires) return;
    std::optional<int64_t> max = max_price_.Value();
    if (!max || price > *max) max_price_.Update(price);
  }

  ValueState<AuctionWindow> auction_;
  ValueState<int64_t> max_price_;
  ListState<WaitingBid> waiting_;
};

// Keyed by category: the sum and count of the final prices; the new average (truncated, as
// Flink's AVG on BIGINT) per closed auction.
class AverageByCategory final : public KeyedProcessFunction<int64_t, Winner, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
  }

  void ProcessElement(const Winner& w, Context&, Collector<std::string>& out) override {
    int64_t sum = sum_.ValueOr(0) + w.price;
    int64_t count = count_.ValueOr(0) + 1;
    sum_.Update(sum);
    count_.Update(count);
    std::string s;
    AppendInt(s, w.category);
    s.push_back(',');
    AppendInt(s, sum / count);
    out.Collect(std::move(s));
  }

 private:
  ValueState<int64_t> sum_;
  ValueState<int64_t> count_;
};

}  // namespace

DataStream<std::string> Q0(const DataStream<Event>& events) {
  return Bids(events).Map([](const Bid& b) { return BidLine<PutIntBefore>(b); }).Name("q0");
}

DataStream<std::string> Q1(const DataStream<Event>& events) {
  return Bids(events)
      .Map([](const Bid& b) { return BidLine<PutEurosBefore>(b); })
      .Name("q1");
}

DataStream<std::string> Q2(const DataStream<Event>& events) {
  return Bids(events)
      .Filter([](const Bid& b) { return b.auction % 123 == 0; })
      .Name("q2-filter")
      .Map([](const Bid& b) {
        char line[2 * kDecimalRoom + 1];
        char* at = PutInt(line, b.auction);
        *at++ = ',';
        at = PutInt(at, b.price);
        return std::string(line, at);
      })
      .Name("q2");
}

DataStream<std::string> Q3(const DataStream<Event>& events) {
  auto auctions =
      Auctions(events).Filter([](const Auction& a) { return a.category == 10; }).Name(
          "q3-category-10");
  auto persons = Persons(events)
                     .Filter([](const Person& p) {
                       return p.state == "OR" || p.state == "ID" || p.state == "CA";
                     })
                     .Name("q3-or-id-ca");
  return auctions.Connect(persons)
      .KeyBy([](const Auction& a) { return a.seller; }, [](const Person& p) { return p.id; })
      .Process(LocalItemJoin())
      .Name("q3-join")
      .Uid("q3-join");
}

DataStream<std::string> Q4(const DataStream<Event>& events) {
  return Auctions(events)
      .Connect(Bids(events))
      .KeyBy([](const Auction& a) { return a.id; }, [](const Bid& b) { return b.auction; })
      .Process(WinningBids())
      .Name("q4-winning-bids")
      .Uid("q4-winning-bids")
      .KeyBy([](const Winner& w) { return w.category; })
      .Process(AverageByCategory())
      .Name("q4-average")
      .Uid("q4-average");
}

}  // namespace weir::nexmark
