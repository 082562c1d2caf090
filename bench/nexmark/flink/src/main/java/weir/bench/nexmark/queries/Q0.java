package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q0, pass-through: {@code SELECT auction, bidder, price, dateTime, extra FROM bid}. Measures the
 * cost of reading and writing the events. Line: {@code auction,bidder,price,dateTime,extra}.
 */
public final class Q0 {
  private Q0() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events).map(new Format()).name("q0");
  }

  private static final class Format implements MapFunction<Bid, String> {
    @Override
    public String map(Bid b) {
      return Streams.bidLine(b.auction, b.bidder, b.price, b.dateTime, b.extra);
    }
  }
}
