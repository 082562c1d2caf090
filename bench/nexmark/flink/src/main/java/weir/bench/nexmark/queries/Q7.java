package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q7, highest bid: the bids with the highest price of each 10 s tumbling window.
 *
 * <pre>
 * SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra FROM bid B
 * JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
 *       FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *       GROUP BY window_start, window_end) B1
 * ON B.price = B1.maxprice
 * WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
 * </pre>
 *
 * The maximum is over [start, end) but BETWEEN includes both ends, so a bid at exactly the
 * window end (the first millisecond of the next window) is also output if its price equals the
 * max. Without storing every bid: (1) each bid is tagged with the window it belongs to and, when
 * it is at a window end, also with the window that ends there (a "boundary" bid); keyed by
 * (auction, window end), a process function keeps the highest price of the window's own bids
 * with the bids that have it, plus the boundary bids, and at an event-time timer at the window
 * end passes on its top bids and the boundary bids not below its max. (2) Keyed by window end,
 * the same again over all auctions, emitting the bids priced at the window's max when the
 * watermark passes the window end. Line (the SQL's column order): {@code
 * auction,price,bidder,dateTime,extra}.
 */
public final class Q7 {
  static final long WINDOW_MS = 10_000;

  private Q7() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events)
        .flatMap(new TagWithWindows())
        .name("q7-tag-windows")
        .keyBy(new AuctionAndWindow())
        .process(new TopBids<>(false))
        .name("q7-max-per-auction")
        .uid("q7-max-per-auction")
        .keyBy(t -> t.windowEnd)
        .process(new TopBids<>(true))
        .name("q7-max-per-window")
        .uid("q7-max-per-window")
        .map(t -> Streams.bidLine(t.bid.auction, t.bid.price, t.bid.bidder, t.bid.dateTime, t.bid.extra))
        .name("q7");
  }

  /** A bid offered to the window ending at windowEnd, as its own (boundary false) or at its end. */
  public static final class TaggedBid {
    public long windowEnd;
    public boolean boundary;
    public Bid bid;

    public TaggedBid() {}

    static TaggedBid of(long windowEnd, boolean boundary, Bid bid) {
      TaggedBid t = new TaggedBid();
      t.windowEnd = windowEnd;
      t.boundary = boundary;
      t.bid = bid;
      return t;
    }
  }

  static final class TagWithWindows implements FlatMapFunction<Bid, TaggedBid> {
    @Override
    public void flatMap(Bid b, Collector<TaggedBid> out) {
      long start = Math.floorDiv(b.dateTime, WINDOW_MS) * WINDOW_MS;
      out.collect(TaggedBid.of(start + WINDOW_MS, false, b));
      if (b.dateTime == start) {
        out.collect(TaggedBid.of(start, true, b));
      }
    }
  }

  static final class AuctionAndWindow implements KeySelector<TaggedBid, Tuple2<Long, Long>> {
    @Override
    public Tuple2<Long, Long> getKey(TaggedBid t) {
      return Tuple2.of(t.bid.auction, t.windowEnd);
    }
  }

  /**
   * Keyed by a window (and, in the first stage, an auction): the highest price of the window's
   * own bids, the bids at it, and the boundary bids. At the window end the first stage passes on
   * its candidates, the last stage the winners.
   */
  static final class TopBids<K> extends KeyedProcessFunction<K, TaggedBid, TaggedBid> {
    private final boolean last;
    private transient ValueState<Long> maxPrice;
    private transient ListState<Bid> atMax;
    private transient ListState<Bid> boundary;

    TopBids(boolean last) {
      this.last = last;
    }

    @Override
    public void open(OpenContext openContext) {
      maxPrice = getRuntimeContext().getState(new ValueStateDescriptor<>("max-price", Types.LONG));
      atMax = getRuntimeContext().getListState(new ListStateDescriptor<>("at-max", Bid.class));
      boundary =
          getRuntimeContext().getListState(new ListStateDescriptor<>("boundary", Bid.class));
    }

    @Override
    public void processElement(TaggedBid t, Context ctx, Collector<TaggedBid> out)
        throws Exception {
      if (t.boundary) {
        ctx.timerService().registerEventTimeTimer(t.windowEnd);
        boundary.add(t.bid);
        return;
      }
      Long max = maxPrice.value();
      // The key's first bid registers its timer (a boundary bid before it may have too: timers
      // are set once per key and time); later bids find it registered, and skip the lookup.
      if (max == null) {
        ctx.timerService().registerEventTimeTimer(t.windowEnd);
      }
      if (max == null || t.bid.price > max) {
        maxPrice.update(t.bid.price);
        atMax.clear();
        atMax.add(t.bid);
      } else if (t.bid.price == max) {
        atMax.add(t.bid);
      }
    }

    @Override
    public void onTimer(long windowEnd, OnTimerContext ctx, Collector<TaggedBid> out)
        throws Exception {
      Long max = maxPrice.value();
      if (max != null) {
        for (Bid b : atMax.get()) {
          out.collect(TaggedBid.of(windowEnd, false, b));
        }
      }
      Iterable<Bid> atEnd = boundary.get();
      if (atEnd != null) {
        for (Bid b : atEnd) {
          // A boundary bid matches only the window's overall max. The first stage cannot know it
          // yet (without own bids it passes them all on); the last stage keeps exact matches.
          boolean keep = last ? max != null && b.price == max : max == null || b.price >= max;
          if (keep) {
            out.collect(TaggedBid.of(windowEnd, true, b));
          }
        }
      }
      maxPrice.clear();
      atMax.clear();
      boundary.clear();
    }
  }
}
