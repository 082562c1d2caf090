package weir.bench.nexmark.model;

/**
 * One Nexmark event: exactly one of person, auction and bid is set, as {@link #type} says
 * (0, 1, 2 as the suite's event_type column). A Flink POJO; the unset members are null.
 */
public class Event {
  public static final int PERSON = 0;
  public static final int AUCTION = 1;
  public static final int BID = 2;

  public int type;
  public Person person;
  public Auction auction;
  public Bid bid;

  public Event() {}

  public static Event of(Person p) {
    Event e = new Event();
    e.type = PERSON;
    e.person = p;
    return e;
  }

  public static Event of(Auction a) {
    Event e = new Event();
    e.type = AUCTION;
    e.auction = a;
    return e;
  }

  public static Event of(Bid b) {
    Event e = new Event();
    e.type = BID;
    e.bid = b;
    return e;
  }

  /** The event time: the dateTime of the member that is set. */
  public long timestamp() {
    switch (type) {
      case PERSON:
        return person.dateTime;
      case AUCTION:
        return auction.dateTime;
      default:
        return bid.dateTime;
    }
  }
}
