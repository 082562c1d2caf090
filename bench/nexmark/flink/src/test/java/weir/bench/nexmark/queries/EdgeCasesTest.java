package weir.bench.nexmark.queries;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.oracle.Oracle;

/**
 * The edges of the SQL definitions that random data rarely hits, on hand-made events: each query
 * runs on a local Flink and its lines must equal both the written-out expectation and the
 * oracle's. Events are in time order, as each generator slice is.
 */
class EdgeCasesTest {
  private static Event bid(long auction, long bidder, long price, long time) {
    Bid b = new Bid();
    b.auction = auction;
    b.bidder = bidder;
    b.price = price;
    b.channel = "Google";
    b.url = "u";
    b.dateTime = time;
    b.extra = "x" + time;
    return Event.of(b);
  }

  private static Event auction(long id, long category, long time, long expires) {
    Auction a = new Auction();
    a.id = id;
    a.itemName = "item";
    a.description = "d";
    a.dateTime = time;
    a.expires = expires;
    a.seller = 1001;
    a.category = category;
    a.extra = "";
    return Event.of(a);
  }

  private static List<String> run(String query, List<Event> events) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
    DataStream<Event> source =
        env.fromData(Event.class, events.toArray(new Event[0]))
            .assignTimestampsAndWatermarks(
                WatermarkStrategy.<Event>forBoundedOutOfOrderness(Duration.ofSeconds(4))
                    .withTimestampAssigner((e, ts) -> e.timestamp()));
    List<String> lines = new ArrayList<>();
    try (CloseableIterator<String> it = Queries.build(query, source).executeAndCollect()) {
      it.forEachRemaining(lines::add);
    }
    if (query.equals("q4")) {  // the final value per category: the last line of each
      List<String> last = new ArrayList<>();
      for (int i = lines.size() - 1; i >= 0; i--) {
        String category = lines.get(i).split(",")[0];
        if (last.stream().noneMatch(l -> l.startsWith(category + ","))) {
          last.add(lines.get(i));
        }
      }
      lines = last;
    }
    Collections.sort(lines);
    assertEquals(new Oracle(events).run(query), lines, query + ": Flink against the oracle");
    return lines;
  }

  @Test
  void q7IncludesABidAtTheWindowEndThatEqualsTheMax() throws Exception {
    List<Event> events =
        Arrays.asList(
            bid(1, 2, 5, 0),
            bid(1, 2, 9, 5_000), // the max of [0, 10 s)
            bid(2, 3, 9, 10_000), // in [10 s, 20 s), and at the end of [0, 10 s): matches 9
            bid(2, 3, 12, 10_000), // higher, but at the boundary: not the first window's max
            bid(1, 4, 3, 15_000)); // [10 s, 20 s) has max 12
    assertEquals(
        Arrays.asList("1,9,2,5000,x5000", "2,12,3,10000,x10000", "2,9,3,10000,x10000"),
        run("q7", events));
  }

  @Test
  void q7BoundaryBidOfAnAuctionWithoutOwnBidsInTheWindow() throws Exception {
    List<Event> events =
        Arrays.asList(bid(1, 2, 9, 5_000), bid(2, 3, 9, 10_000), bid(2, 3, 100, 12_000));
    assertEquals(
        Arrays.asList("1,9,2,5000,x5000", "2,100,3,12000,x12000", "2,9,3,10000,x10000"),
        run("q7", events));
  }

  @Test
  void q4CountsBidsAtBothEndsAndBidsBeforeTheirAuction() throws Exception {
    List<Event> events =
        Arrays.asList(
            bid(7, 2, 50, 1_000), // before auction 7 exists, at its start time: counts
            auction(7, 10, 1_000, 3_000),
            bid(7, 2, 40, 2_000),
            bid(7, 2, 70, 3_000), // at expires: counts
            bid(7, 2, 99, 3_001), // after expires: does not
            auction(8, 10, 4_000, 6_000),
            bid(8, 2, 10, 5_000),
            auction(9, 11, 4_000, 6_000)); // no bids: not in the average
    assertEquals(Collections.singletonList("10,40"), run("q4", events));
  }

  @Test
  void q11ABidExactlyOneGapLaterJoinsTheSession() throws Exception {
    List<Event> events =
        Arrays.asList(bid(1, 5, 1, 0), bid(1, 5, 1, 10_000), bid(1, 5, 1, 20_001));
    assertEquals(
        Arrays.asList("5,1,20001,30001", "5,2,0,20000"), run("q11", events));
  }

  @Test
  void q5EmitsAllTiedAuctions() throws Exception {
    List<Event> events = Arrays.asList(bid(1, 5, 1, 1_000), bid(2, 5, 1, 1_500), bid(3, 5, 1, 3_000));
    // Windows [-8 s, 2 s), [-6 s, 4 s) ... [0, 10 s): auctions 1 and 2 tie in the first
    // four, and 1, 2, 3 tie in those from -6 s on that also hold 3 s.
    List<String> lines = run("q5", events);
    assertEquals(Arrays.asList("1,1", "1,1", "1,1", "1,1", "1,1"), lines.subList(0, 5));
  }
}
