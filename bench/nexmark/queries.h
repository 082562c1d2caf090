// The Nexmark queries on weir's DataStream API, as QUERIES.md defines them and the Flink twins
// in flink/src/main/java/weir/bench/nexmark/queries/ compute them: each turns the event stream
// into its output lines (QUERIES.md gives each query's line), so both engines' results compare
// as sorted multisets of lines.
//
// The event stream a query receives carries each event's date_time as its timestamp and
// watermarks of bounded out-of-orderness 4 s per source split (the suite's WATERMARK clause).
#pragma once

#include <weir/weir.h>

#include <string>
#include <string_view>
#include <vector>

#include "nexmark_event.h"

namespace weir::nexmark {

// The events of one kind (the suite's person, auction and bid views), each a chained filter
// and map, so timestamps and watermarks carry through.
DataStream<Person> Persons(const DataStream<Event>& events);
DataStream<Auction> Auctions(const DataStream<Event>& events);
DataStream<Bid> Bids(const DataStream<Event>& events);

// Stateless and unwindowed (queries_basic.cc).
DataStream<std::string> Q0(const DataStream<Event>& events);
DataStream<std::string> Q1(const DataStream<Event>& events);
DataStream<std::string> Q2(const DataStream<Event>& events);
DataStream<std::string> Q3(const DataStream<Event>& events);
DataStream<std::string> Q4(const DataStream<Event>& events);

// Event-time windows and timers (queries_windowed.cc).
DataStream<std::string> Q5(const DataStream<Event>& events);
DataStream<std::string> Q7(const DataStream<Event>& events);
DataStream<std::string> Q8(const DataStream<Event>& events);
DataStream<std::string> Q11(const DataStream<Event>& events);
DataStream<std::string> Q17(const DataStream<Event>& events);

struct Query {
  std::string_view name;  // "q0", "q1", ...
  DataStream<std::string> (*build)(const DataStream<Event>& events);
};

// Every query, in the suite's order (queries.cc).
const std::vector<Query>& AllQueries();

}  // namespace weir::nexmark
