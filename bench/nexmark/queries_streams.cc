// The suite's person, auction and bid views: the events of one kind, each a flat map chained
// to the event stream, so timestamps and watermarks pass through unchanged.
#include <weir/weir.h>

#include "queries.h"

namespace weir::nexmark {

DataStream<Person> Persons(const DataStream<Event>& events) {
  return events
      .FlatMap([](const Event& e, Collector<Person>& out) {
        if (e.type == EventType::kPerson) out.Collect(e.person);
      })
      .Name("persons");
}

DataStream<Auction> Auctions(const DataStream<Event>& events) {
  return events
      .FlatMap([](const Event& e, Collector<Auction>& out) {
        if (e.type == EventType::kAuction) out.Collect(e.auction);
      })
      .Name("auctions");
}

DataStream<Bid> Bids(const DataStream<Event>& events) {
  return events
      .FlatMap([](const Event& e, Collector<Bid>& out) {
        if (e.type == EventType::kBid) out.Collect(e.bid);
      })
      .Name("bids");
}

}  // namespace weir::nexmark
