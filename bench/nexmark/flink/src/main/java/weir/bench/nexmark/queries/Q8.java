package weir.bench.nexmark.queries;

import java.time.Duration;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.model.Person;

/**
 * q8, monitor new users: the people who opened an auction in the same 10 s tumbling window in
 * which they registered.
 *
 * <pre>
 * SELECT P.id, P.name, P.starttime
 * FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
 *       FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *       GROUP BY id, name, window_start, window_end) P
 * JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
 *       FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *       GROUP BY seller, window_start, window_end) A
 * ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
 * </pre>
 *
 * A tumbling-window join, written as its two GROUP BYs make it: persons and auctions as one
 * stream keyed by person id / seller, a 10 s tumbling event-time window that notes the person's
 * name and whether an auction came, and one line per person and window when both did (once,
 * however many auctions). Line: {@code id,name,starttime} (starttime in ms).
 */
public final class Q8 {
  private Q8() {}

  public static DataStream<String> build(DataStream<Event> events) {
    DataStream<Arrival> persons = Streams.persons(events).map(new PersonArrival()).name("q8-persons");
    DataStream<Arrival> sellers = Streams.auctions(events).map(new SellerArrival()).name("q8-sellers");
    return persons
        .union(sellers)
        .keyBy(a -> a.id)
        .window(TumblingEventTimeWindows.of(Duration.ofSeconds(10)))
        .aggregate(new Combine(), new Emit())
        .name("q8-window-join")
        .uid("q8-window-join");
  }

  /** A person (name set) or an auction of the seller id (name null) arriving in a window. */
  public static final class Arrival {
    public long id;
    public String name;
    public boolean auction;

    public Arrival() {}
  }

  static final class PersonArrival implements MapFunction<Person, Arrival> {
    @Override
    public Arrival map(Person p) {
      Arrival a = new Arrival();
      a.id = p.id;
      a.name = p.name;
      return a;
    }
  }

  static final class SellerArrival implements MapFunction<Auction, Arrival> {
    @Override
    public Arrival map(Auction auction) {
      Arrival a = new Arrival();
      a.id = auction.seller;
      a.auction = true;
      return a;
    }
  }

  /** Accumulates the person's name (if the person came) and whether an auction came. */
  static final class Combine implements AggregateFunction<Arrival, Arrival, Arrival> {
    @Override
    public Arrival createAccumulator() {
      return new Arrival();
    }

    @Override
    public Arrival add(Arrival in, Arrival acc) {
      if (in.name != null) {
        acc.name = in.name;
      }
      acc.auction |= in.auction;
      return acc;
    }

    @Override
    public Arrival getResult(Arrival acc) {
      return acc;
    }

    @Override
    public Arrival merge(Arrival a, Arrival b) {
      return add(b, a);
    }
  }

  static final class Emit extends ProcessWindowFunction<Arrival, String, Long, TimeWindow> {
    @Override
    public void process(Long id, Context ctx, Iterable<Arrival> in, Collector<String> out) {
      Arrival a = in.iterator().next();
      if (a.name != null && a.auction) {
        out.collect(id + "," + a.name + "," + ctx.window().getStart());
      }
    }
  }
}
