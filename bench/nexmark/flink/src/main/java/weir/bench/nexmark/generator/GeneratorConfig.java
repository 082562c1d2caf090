package weir.bench.nexmark.generator;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The knobs of the Nexmark suite's NexmarkConfiguration that shape the events, with its defaults,
 * plus this generator's slice of the stream. The twin of the C++ GeneratorConfig
 * (bench/nexmark/nexmark_generator.h); the field comments there say what each one means.
 */
public final class GeneratorConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** 2015-07-15T00:00:00Z, the base time Beam's Nexmark uses for deterministic runs. */
  public static final long DEFAULT_BASE_TIME_MS = 1436918400000L;

  public static final long FIRST_PERSON_ID = 1000L;
  public static final long FIRST_AUCTION_ID = 1000L;
  public static final long FIRST_CATEGORY_ID = 10L;

  /** Events per second of event time over all generators. Default 10,000. */
  public int firstEventRate = 10_000;
  /** Generators sharing the rate, each on its own timeline (the source parallelism). Default 1. */
  public int numEventGenerators = 1;

  public int personProportion = 1;
  public int auctionProportion = 3;
  public int bidProportion = 46;
  public int avgPersonByteSize = 200;
  public int avgAuctionByteSize = 500;
  public int avgBidByteSize = 100;
  public int hotAuctionRatio = 2;
  public int hotBiddersRatio = 4;
  public int hotSellersRatio = 4;
  public int numInFlightAuctions = 100;
  public int numActivePeople = 1000;
  public long outOfOrderGroupSize = 1;

  public long baseTimeMs = DEFAULT_BASE_TIME_MS;
  /** Id of this generator's first event. Default 1, as the suite's source factory. */
  public long firstEventId = 1;
  /** Events this generator makes; 0 = the reference's "unbounded" maximum. */
  public long maxEvents = 0;
  /** Number of the first event. Default 1, as the suite's source factory. */
  public long firstEventNumber = 1;

  public int totalProportion() {
    return personProportion + auctionProportion + bidProportion;
  }

  public long effectiveMaxEvents() {
    if (maxEvents != 0) {
      return maxEvents;
    }
    int largest = Math.max(Math.max(avgPersonByteSize, avgAuctionByteSize), avgBidByteSize);
    return Long.MAX_VALUE / ((long) totalProportion() * largest);
  }

  public double interEventDelayUs() {
    return 1000000.0 / firstEventRate * numEventGenerators;
  }

  public long timestampForEvent(long eventNumber) {
    return baseTimeMs + (long) (eventNumber * interEventDelayUs()) / 1000L;
  }

  public long nextAdjustedEventNumber(long eventsSoFar) {
    long n = outOfOrderGroupSize;
    long eventNumber = firstEventNumber + eventsSoFar;
    long base = (eventNumber / n) * n;
    long offset = (eventNumber * 953) % n;
    return base + offset;
  }

  public long nextEventNumberForWatermark(long eventsSoFar) {
    long n = outOfOrderGroupSize;
    long eventNumber = firstEventNumber + eventsSoFar;
    return (eventNumber / n) * n;
  }

  /**
   * Splits the events into n slices with disjoint id ranges on the same timeline, as the
   * reference does for n parallel source readers. Leaves numEventGenerators alone: set it to n
   * first, as the suite does.
   */
  public List<GeneratorConfig> split(int n) {
    List<GeneratorConfig> out = new ArrayList<>();
    if (n <= 1) {
      out.add(copy());
      return out;
    }
    long total = effectiveMaxEvents();
    long subMaxEvents = total / n;
    long subFirstEventId = firstEventId;
    for (int i = 0; i < n; i++) {
      if (i == n - 1) {
        subMaxEvents = total - subMaxEvents * (n - 1);
      }
      GeneratorConfig sub = copy();
      sub.firstEventId = subFirstEventId;
      sub.maxEvents = subMaxEvents;
      out.add(sub);
      subFirstEventId += subMaxEvents;
    }
    return out;
  }

  public GeneratorConfig copy() {
    GeneratorConfig c = new GeneratorConfig();
    c.firstEventRate = firstEventRate;
    c.numEventGenerators = numEventGenerators;
    c.personProportion = personProportion;
    c.auctionProportion = auctionProportion;
    c.bidProportion = bidProportion;
    c.avgPersonByteSize = avgPersonByteSize;
    c.avgAuctionByteSize = avgAuctionByteSize;
    c.avgBidByteSize = avgBidByteSize;
    c.hotAuctionRatio = hotAuctionRatio;
    c.hotBiddersRatio = hotBiddersRatio;
    c.hotSellersRatio = hotSellersRatio;
    c.numInFlightAuctions = numInFlightAuctions;
    c.numActivePeople = numActivePeople;
    c.outOfOrderGroupSize = outOfOrderGroupSize;
    c.baseTimeMs = baseTimeMs;
    c.firstEventId = firstEventId;
    c.maxEvents = maxEvents;
    c.firstEventNumber = firstEventNumber;
    return c;
  }
}
