package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.model.Person;

/**
 * The three typed streams of the suite's views (person, auction, bid): the events of one kind.
 * Each is a chained flat map, so event timestamps and watermarks carry through.
 */
public final class Streams {
  private Streams() {}

  public static DataStream<Person> persons(DataStream<Event> events) {
    return events.flatMap(new Persons()).name("persons");
  }

  public static DataStream<Auction> auctions(DataStream<Event> events) {
    return events.flatMap(new Auctions()).name("auctions");
  }

  public static DataStream<Bid> bids(DataStream<Event> events) {
    return events.flatMap(new Bids()).name("bids");
  }

  private static final class Persons implements FlatMapFunction<Event, Person> {
    @Override
    public void flatMap(Event e, Collector<Person> out) {
      if (e.type == Event.PERSON) {
        out.collect(e.person);
      }
    }
  }

  private static final class Auctions implements FlatMapFunction<Event, Auction> {
    @Override
    public void flatMap(Event e, Collector<Auction> out) {
      if (e.type == Event.AUCTION) {
        out.collect(e.auction);
      }
    }
  }

  private static final class Bids implements FlatMapFunction<Event, Bid> {
    @Override
    public void flatMap(Event e, Collector<Bid> out) {
      if (e.type == Event.BID) {
        out.collect(e.bid);
      }
    }
  }

  /** A bid as the output line of q0 and q7 lay it out, after the given leading fields. */
  static String bidLine(long a, long b, long c, long dateTime, String extra) {
    return new StringBuilder(64 + extra.length())
        .append(a)
        .append(',')
        .append(b)
        .append(',')
        .append(c)
        .append(',')
        .append(dateTime)
        .append(',')
        .append(extra)
        .toString();
  }
}
