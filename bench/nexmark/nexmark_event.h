// The three Nexmark event kinds (Person, Auction, Bid) and the Event that carries one of them,
// with the canonical one-line text form both generators (C++ and Java) print.
//
// Field names and order follow the Nexmark suite's schema (its ddl_gen.sql). Times are
// milliseconds since the epoch (UTC); prices are in cents. The fields the generator takes from
// its tables (a bid's channel and URL, the "extra" padding) are SharedText: views of them.
//
// An Event holds exactly one kind (a variant): it is the record the source emits, a batch holds
// a thousand of them, so it is as small as its largest kind and moves, copies and dies with one
// kind's strings only. A generator refilling one Event keeps the kind's strings and their
// capacity while the kind repeats. Plain values: no thread-safety of their own.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "shared_text.h"

namespace weir::nexmark {

struct Person {
  int64_t id = 0;
  std::string name;
  std::string email_address;
  std::string credit_card;
  std::string city;
  std::string state;
  int64_t date_time = 0;  // ms since the epoch
  SharedText extra;
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
  SharedText extra;
};

struct Bid {
  int64_t auction = 0;  // an Auction id
  int64_t bidder = 0;   // a Person id (offset by the reference's quirk, see the generator)
  int64_t price = 0;    // cents
  SharedText channel;
  SharedText url;
  int64_t date_time = 0;  // ms since the epoch
  SharedText extra;
};

// The values match the reference's Event.Type (the `event_type` column of its source table),
// and the order of Event's kinds.
enum class EventType : uint8_t { kPerson = 0, kAuction = 1, kBid = 2 };

class Event {
 public:
  // A bid, the kind of 46 events in 50: a batch made fresh is then mostly of the kind it is
  // refilled with, and a refill keeps it (Hold) instead of making it anew.
  Event() : kind_(std::in_place_type<Bid>) {}
  explicit Event(Person p) : kind_(std::move(p)) {}
  explicit Event(Auction a) : kind_(std::move(a)) {}
  explicit Event(Bid b) : kind_(std::move(b)) {}

  EventType type() const { return static_cast<EventType>(kind_.index()); }
  // The kind type() names; any other throws std::bad_variant_access.
  const Person& person() const { return std::get<Person>(kind_); }
  const Auction& auction() const { return std::get<Auction>(kind_); }
  const Bid& bid() const { return std::get<Bid>(kind_); }
  Person& person() { return std::get<Person>(kind_); }
  Auction& auction() { return std::get<Auction>(kind_); }
  Bid& bid() { return std::get<Bid>(kind_); }

  // The kind T, which type() names; any other throws std::bad_variant_access.
  template <typename T>
  const T& Get() const {
    return std::get<T>(kind_);
  }
  // Makes the event hold a T, keeping the T (and its strings' capacity) if it holds one.
  template <typename T>
  T& Hold() {
    if (T* held = std::get_if<T>(&kind_)) return *held;
    return kind_.template emplace<T>();
  }

  // The event's time: the date_time of the kind it holds.
  int64_t Timestamp() const {
    return std::visit([](const auto& k) { return k.date_time; }, kind_);
  }

 private:
  std::variant<Person, Auction, Bid> kind_;
};

// Appends the canonical text of `event` to `out`: one JSON object on one line, ending in '\n',
// with "type" first and then the fields in schema order, integers in decimal and strings
// escaped as JSON (quote, backslash and control characters; the generator only produces ASCII).
//   {"type":"bid","auction":1000,"bidder":2001,"price":1234,"channel":"Google","url":"...",
//    "dateTime":1436918400000,"extra":"..."}
// The Java NexmarkDump prints exactly the same bytes for the same event.
void AppendCanonicalJson(const Event& event, std::string* out);

}  // namespace weir::nexmark
