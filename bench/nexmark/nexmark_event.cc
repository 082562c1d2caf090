#include "nexmark_event.h"

#include <charconv>
#include <string_view>

namespace weir::nexmark {
namespace {

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      // Java's side writes the same \u00XX form; the generator never makes these, but the
      // format must not break a line if it ever did.
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void Field(std::string_view name, int64_t v, std::string* out) {
  out->append(",\"").append(name).append("\":");
  AppendInt(v, out);
}

void Field(std::string_view name, std::string_view v, std::string* out) {
  out->append(",\"").append(name).append("\":");
  AppendJsonString(v, out);
}

}  // namespace

void AppendCanonicalJson(const Event& event, std::string* out) {
  switch (event.type()) {
    case EventType::kPerson: {
      const Person& p = event.person();
      out->append("{\"type\":\"person\"");
      Field("id", p.id, out);
      Field("name", p.name, out);
      Field("emailAddress", p.email_address, out);
      Field("creditCard", p.credit_card, out);
      Field("city", p.city, out);
      Field("state", p.state, out);
      Field("dateTime", p.date_time, out);
      Field("extra", p.extra, out);
      break;
    }
    case EventType::kAuction: {
      const Auction& a = event.auction();
      out->append("{\"type\":\"auction\"");
      Field("id", a.id, out);
      Field("itemName", a.item_name, out);
      Field("description", a.description, out);
      Field("initialBid", a.initial_bid, out);
      Field("reserve", a.reserve, out);
      Field("dateTime", a.date_time, out);
      Field("expires", a.expires, out);
      Field("seller", a.seller, out);
      Field("category", a.category, out);
      Field("extra", a.extra, out);
      break;
    }
    case EventType::kBid: {
      const Bid& b = event.bid();
      out->append("{\"type\":\"bid\"");
      Field("auction", b.auction, out);
      Field("bidder", b.bidder, out);
      Field("price", b.price, out);
      Field("channel", b.channel, out);
      Field("url", b.url, out);
      Field("dateTime", b.date_time, out);
      Field("extra", b.extra, out);
      break;
    }
  }
  out->append("}\n");
}

}  // namespace weir::nexmark
