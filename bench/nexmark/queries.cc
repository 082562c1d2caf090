// The typed views of the event stream, and the registry of the queries weir runs.
#include "queries.h"

#include <string>
#include <utility>

namespace weir::nexmark {

namespace {

// The events of kind T, in one pass: the T moved out of each event that holds one (the event
// is not used again). A filter and then a map cost a move of every kept event more, closing the
// gaps the others left in the batch. On a branch of a fan-out (q3, q4 and q8 take two kinds from
// one stream), whose events the other branches read too, the T is copied, and only it.
template <typename T>
struct TakeKind {
  EventType type;
  void operator()(Event&& e, Collector<T>& out) const {
    if (e.type() == type) out.Collect(std::move(e.Hold<T>()));
  }
  void operator()(const Event& e, Collector<T>& out) const {
    if (e.type() == type) out.Collect(e.Get<T>());
  }
};

template <typename T>
DataStream<T> OfKind(const DataStream<Event>& events, EventType type, const char* name) {
  return events.template FlatMap<T>(TakeKind<T>{type}).Name(name);
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
