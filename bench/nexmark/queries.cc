// The typed views of the event stream, and the registry of the queries weir runs.
#include "queries.h"

#include <string>
#include <utility>

namespace weir::nexmark {

namespace {

// The events of kind T: one pass that moves the T out of each event that holds one (the event
// is not used again; where the stream fans out, the engine hands the other branches copies).
// A filter and then a map cost a move of every kept event more, closing the gaps the others
// left in the batch.
template <typename T>
DataStream<T> OfKind(const DataStream<Event>& events, EventType type, const char* name) {
  return events
      .FlatMap([type](Event&& e, Collector<T>& out) {
        if (e.type() == type) out.Collect(std::move(e.Hold<T>()));
      })
      .Name(name);
}

}  // namespace

DataStream<Person> Persons(const DataStream<Event>& events) {
  return OfKind<Person>(events, EventType::kPerson, "persons");
}

DataStream<Auction> Auctions(const DataStream<Event>& events) {
  return OfKind<Auction>(events, EventType::kAuction, "auctions");
}

DataStream<Bid> Bids(const DataStream<Event>& events) {
  return OfKind<Bid>(events, EventType::kBid, "bids");
}

const std::vector<Query>& AllQueries() {
  static const std::vector<Query> queries = {
      {"q0", &Q0}, {"q1", &Q1}, {"q2", &Q2},  {"q3", &Q3},   {"q4", &Q4},
      {"q5", &Q5}, {"q7", &Q7}, {"q8", &Q8}, {"q11", &Q11}, {"q17", &Q17},
  };
  return queries;
}

}  // namespace weir::nexmark
