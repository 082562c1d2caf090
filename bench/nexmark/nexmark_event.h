// The three Nexmark event kinds (Person, Auction, Bid) and the Event that carries one of them,
// with the canonical one-line text form both generators (C++ and Java) print.
//
// Field names and order follow the Nexmark suite's schema (its ddl_gen.sql). Times are
// milliseconds since the epoch (UTC); prices are in cents.
//
// Event is a tagged struct rather than a std::variant on purpose: a generator refills the same
// Event again and again, and keeping all three members alive lets every string keep its
// capacity, so a steady stream of events allocates nothing. Only the member named by `type` is
// meaningful. Plain values: no thread-safety of their own.
#pragma once

#include <cstdint>
#include <string>

namespace weir::nexmark {

struct Person {
  int64_t id = 0;
  std::string name;
  std::string email_address;
  std::string credit_card;
  std::string city;
  std::string state;
  int64_t date_time = 0;  // ms since the epoch
  std::string extra;
};

struct Auction {
  int64_t id = 0;
  std::string item_name;
  std::string description;
  int64_t initial_bid = 0;  // cents
  int64_t reserve = 0;      // cents
  int64_t date_time = 0;    // ms since the epoch
  int64_t expires = 0;      // ms since the epoch; bids after it do not count
  int64_t seller = 0;       // a Person id
  int64_t category = 0;
  std::string extra;
};

struct Bid {
  int64_t auction = 0;  // an Auction id
  int64_t bidder = 0;   // a Person id (offset by the reference's quirk, see the generator)
  int64_t price = 0;    // cents
  std::string channel;
  std::string url;
  int64_t date_time = 0;  // ms since the epoch
  std::string extra;
};

// The values match the reference's Event.Type (the `event_type` column of its source table).
enum class EventType : uint8_t { kPerson = 0, kAuction = 1, kBid = 2 };

struct Event {
  EventType type = EventType::kPerson;
  Person person;
  Auction auction;
  Bid bid;

  // The event's time: the date_time of whichever member `type` names.
  int64_t Timestamp() const {
    switch (type) {
      case EventType::kPerson:
        return person.date_time;
      case EventType::kAuction:
        return auction.date_time;
      case EventType::kBid:
        return bid.date_time;
    }
    return 0;
  }
};

// Appends the canonical text of `event` to `out`: one JSON object on one line, ending in '\n',
// with "type" first and then the fields in schema order, integers in decimal and strings
// escaped as JSON (quote, backslash and control characters; the generator only produces ASCII).
//   {"type":"bid","auction":1000,"bidder":2001,"price":1234,"channel":"Google","url":"...",
//    "dateTime":1436918400000,"extra":"..."}
// The Java NexmarkDump prints exactly the same bytes for the same event.
void AppendCanonicalJson(const Event& event, std::string* out);

}  // namespace weir::nexmark
