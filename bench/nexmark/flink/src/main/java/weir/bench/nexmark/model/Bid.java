package weir.bench.nexmark.model;

/** A bid, as in the Nexmark suite's schema. Price in cents, time in ms since the epoch. */
public class Bid {
  public long auction;
  public long bidder;
  public long price;
  public String channel;
  public String url;
  public long dateTime;
  public String extra;

  public Bid() {}
}
