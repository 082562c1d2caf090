package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q4, average closing price per category.
 *
 * <pre>
 * SELECT Q.category, AVG(Q.final) FROM (
 *   SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
 *   WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
 *   GROUP BY A.id, A.category) Q
 * GROUP BY Q.category
 * </pre>
 *
 * Two keyed stages. (1) Auctions and bids keyed by auction id: the auction's times and category
 * are kept, bids that come before their auction wait, and the highest bid within [dateTime,
 * expires] (both ends included) is tracked; an event-time timer at {@code expires} emits the
 * auction's final price once no bid that counts can still come, and leaves a tombstone so later
 * bids for the closed auction are dropped. (2) Keyed by category: the sum and count of the final
 * prices, emitting the new average (BIGINT, truncated like Flink's AVG) per closed auction.
 * At the end of the input every auction closes, so the last line of each category is the SQL
 * query's final result; the SQL emits intermediate updates at other moments.
 * Line: {@code category,average}.
 */
public final class Q4 {
  private Q4() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.auctions(events)
        .keyBy(a -> a.id)
        .connect(Streams.bids(events).keyBy(b -> b.auction))
        .process(new WinningBids())
        .name("q4-winning-bids")
        .uid("q4-winning-bids")
        .keyBy(w -> w.category)
        .process(new AverageByCategory())
        .name("q4-average")
        .uid("q4-average");
  }

  /** The final price of one auction. */
  public static final class Winner {
    public long auction;
    public long category;
    public long price;

    public Winner() {}
  }

  /** A bid that came before its auction: what the join needs of it. */
  public static final class WaitingBid {
    public long dateTime;
    public long price;

    public WaitingBid() {}
  }

  /** The auction's fields the join needs. */
  public static final class AuctionWindow {
    public long dateTime;
    public long expires;
    public long category;
    public boolean closed;

    public AuctionWindow() {}
  }

  static final class WinningBids extends KeyedCoProcessFunction<Long, Auction, Bid, Winner> {
    private transient ValueState<AuctionWindow> auction;
    private transient ValueState<Long> maxPrice;
    private transient ListState<WaitingBid> waiting;

    @Override
    public void open(OpenContext openContext) {
      auction =
          getRuntimeContext().getState(new ValueStateDescriptor<>("auction", AuctionWindow.class));
      maxPrice = getRuntimeContext().getState(new ValueStateDescriptor<>("max-price", Types.LONG));
      waiting =
          getRuntimeContext()
              .getListState(new ListStateDescriptor<>("waiting-bids", WaitingBid.class));
    }

    @Override
    public void processElement1(Auction a, Context ctx, Collector<Winner> out) throws Exception {
      AuctionWindow w = new AuctionWindow();
      w.dateTime = a.dateTime;
      w.expires = a.expires;
      w.category = a.category;
      auction.update(w);
      Iterable<WaitingBid> early = waiting.get();
      if (early != null) {
        for (WaitingBid b : early) {
          offer(w, b.dateTime, b.price);
        }
      }
      waiting.clear();
      ctx.timerService().registerEventTimeTimer(a.expires);
    }

    @Override
    public void processElement2(Bid b, Context ctx, Collector<Winner> out) throws Exception {
      AuctionWindow w = auction.value();
      if (w == null) {
        WaitingBid early = new WaitingBid();
        early.dateTime = b.dateTime;
        early.price = b.price;
        waiting.add(early);
      } else if (!w.closed) {
        offer(w, b.dateTime, b.price);
      }
    }

    private void offer(AuctionWindow w, long dateTime, long price) throws Exception {
      if (dateTime < w.dateTime || dateTime > w.expires) {
        return;
      }
      Long max = maxPrice.value();
      if (max == null || price > max) {
        maxPrice.update(price);
      }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Winner> out)
        throws Exception {
      AuctionWindow w = auction.value();
      Long max = maxPrice.value();
      if (w == null || w.closed) {
        return;
      }
      if (max != null) {
        Winner winner = new Winner();
        winner.auction = ctx.getCurrentKey();
        winner.category = w.category;
        winner.price = max;
        out.collect(winner);
      }
      maxPrice.clear();
      AuctionWindow tombstone = new AuctionWindow();
      tombstone.closed = true;
      auction.update(tombstone);
    }
  }

  static final class AverageByCategory extends KeyedProcessFunction<Long, Winner, String> {
    private transient ValueState<Long> sum;
    private transient ValueState<Long> count;

    @Override
    public void open(OpenContext openContext) {
      sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
      count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    }

    @Override
    public void processElement(Winner w, Context ctx, Collector<String> out) throws Exception {
      long s = (sum.value() == null ? 0 : sum.value()) + w.price;
      long c = (count.value() == null ? 0 : count.value()) + 1;
      sum.update(s);
      count.update(c);
      out.collect(w.category + "," + (s / c));
    }
  }
}
