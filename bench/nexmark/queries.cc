// The typed views of the event stream, and the registry of the queries weir runs.
#include "queries.h"

namespace weir::nexmark {

// Each copies the one member its kind names: Flink's chained flat maps hand on a copy too
// (object reuse off), and the copy is what lets the source refill its scratch event.
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

const std::vector<Query>& AllQueries() {
  static const std::vector<Query> queries = {
      {"q0", &Q0}, {"q1", &Q1}, {"q2", &Q2},  {"q3", &Q3},   {"q4", &Q4},
      {"q5", &Q5}, {"q7", &Q7}, {"q8", &Q8}, {"q11", &Q11}, {"q17", &Q17},
  };
  return queries;
}

}  // namespace weir::nexmark
