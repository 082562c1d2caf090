package weir.bench.nexmark.queries;

import java.time.Duration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Event;

/**
 * q11, user sessions: how many bids each bidder makes in each session (bids at most 10 s apart).
 *
 * <pre>
 * SELECT B.bidder, count(*) AS bid_count,
 *        SESSION_START(B.dateTime, INTERVAL '10' SECOND) AS starttime,
 *        SESSION_END(B.dateTime, INTERVAL '10' SECOND) AS endtime
 * FROM bid B GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)
 * </pre>
 *
 * Bids keyed by bidder into event-time session windows with a 10 s gap, counted incrementally.
 * A session's end is its last bid's time plus the gap, in Flink's windows as in SQL.
 * Line: {@code bidder,bid_count,starttime,endtime} (times in ms).
 */
public final class Q11 {
  private Q11() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events)
        .keyBy(b -> b.bidder)
        .window(EventTimeSessionWindows.withGap(Duration.ofSeconds(10)))
        .aggregate(new Q5.CountBids(), new Emit())
        .name("q11-sessions")
        .uid("q11-sessions");
  }

  static final class Emit extends ProcessWindowFunction<Long, String, Long, TimeWindow> {
    @Override
    public void process(Long bidder, Context ctx, Iterable<Long> counts, Collector<String> out) {
      TimeWindow w = ctx.window();
      out.collect(bidder + "," + counts.iterator().next() + "," + w.getStart() + "," + w.getEnd());
    }
  }
}
