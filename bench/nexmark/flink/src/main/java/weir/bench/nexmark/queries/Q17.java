package weir.bench.nexmark.queries;

import java.time.Duration;
import java.time.LocalDate;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q17, auction statistics per day.
 *
 * <pre>
 * SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS day, count(*) AS total_bids,
 *   count(*) FILTER (WHERE price &lt; 10000) AS rank1_bids,
 *   count(*) FILTER (WHERE price &gt;= 10000 AND price &lt; 1000000) AS rank2_bids,
 *   count(*) FILTER (WHERE price &gt;= 1000000) AS rank3_bids,
 *   min(price), max(price), avg(price), sum(price)
 * FROM bid GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd')
 * </pre>
 *
 * Grouping by the UTC day of the event time is a one-day tumbling event-time window (aligned to
 * the epoch, so to UTC midnight); bids keyed by auction are aggregated incrementally and each
 * (auction, day) row is emitted once, final, when the watermark passes the day. The SQL query is
 * an unwindowed aggregation that emits updated rows as bids come (mini-batched in the suite);
 * its final rows are these. avg is BIGINT, truncated, like Flink's AVG on BIGINT.
 * Line: {@code auction,day,total_bids,rank1_bids,rank2_bids,rank3_bids,min_price,max_price,
 * avg_price,sum_price}.
 */
public final class Q17 {
  private Q17() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events)
        .keyBy(b -> b.auction)
        .window(TumblingEventTimeWindows.of(Duration.ofDays(1)))
        .aggregate(new Stats(), new Emit())
        .name("q17-daily-stats")
        .uid("q17-daily-stats");
  }

  /** The running statistics of one auction and day. */
  public static final class Acc {
    public long total;
    public long rank1;
    public long rank2;
    public long rank3;
    public long min = Long.MAX_VALUE;
    public long max = Long.MIN_VALUE;
    public long sum;

    public Acc() {}
  }

  static final class Stats implements AggregateFunction<Bid, Acc, Acc> {
    @Override
    public Acc createAccumulator() {
      return new Acc();
    }

    @Override
    public Acc add(Bid b, Acc acc) {
      acc.total++;
      if (b.price < 10_000) {
        acc.rank1++;
      } else if (b.price < 1_000_000) {
        acc.rank2++;
      } else {
        acc.rank3++;
      }
      acc.min = Math.min(acc.min, b.price);
      acc.max = Math.max(acc.max, b.price);
      acc.sum += b.price;
      return acc;
    }

    @Override
    public Acc getResult(Acc acc) {
      return acc;
    }

    @Override
    public Acc merge(Acc a, Acc b) {
      a.total += b.total;
      a.rank1 += b.rank1;
      a.rank2 += b.rank2;
      a.rank3 += b.rank3;
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
      a.sum += b.sum;
      return a;
    }
  }

  static final class Emit extends ProcessWindowFunction<Acc, String, Long, TimeWindow> {
    @Override
    public void process(Long auction, Context ctx, Iterable<Acc> in, Collector<String> out) {
      Acc a = in.iterator().next();
      String day = LocalDate.ofEpochDay(Math.floorDiv(ctx.window().getStart(), 86_400_000L)).toString();
      out.collect(
          auction + "," + day + "," + a.total + "," + a.rank1 + "," + a.rank2 + "," + a.rank3 + ","
              + a.min + "," + a.max + "," + (a.sum / a.total) + "," + a.sum);
    }
  }
}
