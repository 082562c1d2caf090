package weir.bench.nexmark.model;

/** A new auction, as in the Nexmark suite's schema. Prices in cents, times in ms since the epoch. */
public class Auction {
  public long id;
  public String itemName;
  public String description;
  public long initialBid;
  public long reserve;
  public long dateTime;
  /** Bids after this time do not count. */
  public long expires;
  public long seller;
  public long category;
  public String extra;

  public Auction() {}
}
