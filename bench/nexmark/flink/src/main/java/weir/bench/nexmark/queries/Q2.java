package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q2, selection: {@code SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0}.
 * Line: {@code auction,price}.
 */
public final class Q2 {
  private Q2() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events).filter(new Select()).name("q2-filter").map(new Format()).name("q2");
  }

  private static final class Select implements FilterFunction<Bid> {
    @Override
    public boolean filter(Bid b) {
      return b.auction % 123 == 0;
    }
  }

  private static final class Format implements MapFunction<Bid, String> {
    @Override
    public String map(Bid b) {
      return b.auction + "," + b.price;
    }
  }
}
