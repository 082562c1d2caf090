package weir.bench.nexmark.model;

/**
 * The canonical one-line text of an event, byte for byte the same as the C++ AppendCanonicalJson
 * (bench/nexmark/nexmark_event.h): a JSON object with "type" first and the fields in schema
 * order, integers in decimal, strings with quote, backslash and control characters escaped.
 */
public final class CanonicalJson {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private CanonicalJson() {}

  /** Appends the event's line, with its '\n'. */
  public static void append(Event e, StringBuilder out) {
    switch (e.type) {
      case Event.PERSON: {
        Person p = e.person;
        out.append("{\"type\":\"person\"");
        field(out, "id", p.id);
        field(out, "name", p.name);
        field(out, "emailAddress", p.emailAddress);
        field(out, "creditCard", p.creditCard);
        field(out, "city", p.city);
        field(out, "state", p.state);
        field(out, "dateTime", p.dateTime);
        field(out, "extra", p.extra);
        break;
      }
      case Event.AUCTION: {
        Auction a = e.auction;
        out.append("{\"type\":\"auction\"");
        field(out, "id", a.id);
        field(out, "itemName", a.itemName);
        field(out, "description", a.description);
        field(out, "initialBid", a.initialBid);
        field(out, "reserve", a.reserve);
        field(out, "dateTime", a.dateTime);
        field(out, "expires", a.expires);
        field(out, "seller", a.seller);
        field(out, "category", a.category);
        field(out, "extra", a.extra);
        break;
      }
      default: {
        Bid b = e.bid;
        out.append("{\"type\":\"bid\"");
        field(out, "auction", b.auction);
        field(out, "bidder", b.bidder);
        field(out, "price", b.price);
        field(out, "channel", b.channel);
        field(out, "url", b.url);
        field(out, "dateTime", b.dateTime);
        field(out, "extra", b.extra);
        break;
      }
    }
    out.append("}\n");
  }

  private static void field(StringBuilder out, String name, long v) {
    out.append(",\"").append(name).append("\":").append(v);
  }

  private static void field(StringBuilder out, String name, String v) {
    out.append(",\"").append(name).append("\":\"");
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
      } else {
        out.append(c);
      }
    }
    out.append('"');
  }
}
