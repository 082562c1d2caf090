package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;

/**
 * q1, currency conversion: {@code SELECT auction, bidder, 0.908 * price AS price, dateTime, extra
 * FROM bid}. The SQL price is a DECIMAL(23, 3), computed exactly: price * 908 thousandths, printed
 * with three decimals. Line: {@code auction,bidder,price,dateTime,extra} (price like 1234.567).
 */
public final class Q1 {
  private Q1() {}

  public static DataStream<String> build(DataStream<Event> events) {
    return Streams.bids(events).map(new Convert()).name("q1");
  }

  /** 0.908 * cents as a decimal with three places, as Flink prints DECIMAL(23, 3). */
  static String euros(long price) {
    long thousandths = price * 908;  // prices are at most 10^8: no overflow
    long whole = thousandths / 1000;
    long frac = Math.abs(thousandths % 1000);
    StringBuilder sb = new StringBuilder(24);
    if (thousandths < 0 && whole == 0) {
      sb.append('-');
    }
    sb.append(whole).append('.');
    if (frac < 100) {
      sb.append('0');
    }
    if (frac < 10) {
      sb.append('0');
    }
    return sb.append(frac).toString();
  }

  private static final class Convert implements MapFunction<Bid, String> {
    @Override
    public String map(Bid b) {
      return new StringBuilder(64 + b.extra.length())
          .append(b.auction)
          .append(',')
          .append(b.bidder)
          .append(',')
          .append(euros(b.price))
          .append(',')
          .append(b.dateTime)
          .append(',')
          .append(b.extra)
          .toString();
    }
  }
}
