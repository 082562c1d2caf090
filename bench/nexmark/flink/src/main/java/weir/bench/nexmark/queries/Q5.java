package weir.bench.nexmark.queries;

import java.time.Duration;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q5, hot items: the auctions with the most bids in each sliding window of 10 s every 2 s.
 *
 * <pre>
 * AuctionBids: SELECT auction, count(*) AS num, window_start, window_end
 *   FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
 *   GROUP BY auction, window_start, window_end
 * MaxBids: the max of num per window_start, window_end
 * SELECT auction, num FROM AuctionBids JOIN MaxBids ON the same window AND num >= maxn
 * </pre>
 *
 * Bids keyed by auction into sliding event-time windows (10 s, slide 2 s) counting bids; the
 * counts, keyed by window end, go to a keyed process function that keeps the largest count and
 * the auctions that have it, and emits them when the watermark passes the window (an event-time
 * timer at the window's last millisecond, the time stamp of the window results). Ties all come
 * out. Line: {@code auction,num}.
 */
public final class Q5 {
  private Q5() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events)
        .keyBy(b -> b.auction)
        .window(SlidingEventTimeWindows.of(Duration.ofSeconds(10), Duration.ofSeconds(2)))
        .aggregate(new CountBids(), new WithWindow())
        .name("q5-count-per-window")
        .uid("q5-count-per-window")
        .keyBy(c -> c.windowEnd)
        .process(new HottestPerWindow())
        .name("q5-hottest")
        .uid("q5-hottest");
  }

  /** An auction's bid count in the window ending at windowEnd. */
  public static final class AuctionCount {
    public long auction;
    public long count;
    public long windowEnd;

    public AuctionCount() {}
  }

  static final class CountBids implements AggregateFunction<Bid, Long, Long> {
    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(Bid b, Long acc) {
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

  static final class WithWindow
      extends ProcessWindowFunction<Long, AuctionCount, Long, TimeWindow> {
    @Override
    public void process(Long auction, Context ctx, Iterable<Long> counts, Collector<AuctionCount> out) {
      AuctionCount c = new AuctionCount();
      c.auction = auction;
      c.count = counts.iterator().next();
      c.windowEnd = ctx.window().getEnd();
      out.collect(c);
    }
  }

  /** Keyed by window end; state: the largest count so far and the auctions that have it. */
  static final class HottestPerWindow extends KeyedProcessFunction<Long, AuctionCount, String> {
    private transient ValueState<Long> maxCount;
    private transient ListState<Long> hottest;

    @Override
    public void open(OpenContext openContext) {
      maxCount = getRuntimeContext().getState(new ValueStateDescriptor<>("max-count", Types.LONG));
      hottest = getRuntimeContext().getListState(new ListStateDescriptor<>("hottest", Types.LONG));
    }

    @Override
    public void processElement(AuctionCount c, Context ctx, Collector<String> out)
        throws Exception {
      Long max = maxCount.value();
      if (max == null || c.count > max) {
        maxCount.update(c.count);
        hottest.clear();
        hottest.add(c.auction);
        ctx.timerService().registerEventTimeTimer(c.windowEnd - 1);
      } else if (c.count == max) {
        hottest.add(c.auction);
      }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<String> out)
        throws Exception {
      Long max = maxCount.value();
      Iterable<Long> auctions = hottest.get();
      if (max != null && auctions != null) {
        for (Long auction : auctions) {
          out.collect(auction + "," + max);
        }
      }
      maxCount.clear();
      hottest.clear();
    }
  }
}
