package weir.bench.nexmark.generator;

import java.util.Random;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.model.Person;

/**
 * Makes the Nexmark events of one GeneratorConfig, in order: the same events as the Nexmark
 * suite's generator (github.com/nexmark/nexmark, nexmark-flink) and as the C++ twin
 * (bench/nexmark/nexmark_generator.cc), whose comments say where the reference is followed and
 * where its unseeded randomness is fixed. Each event draws from a java.util.Random seeded with
 * the event's id, so event k is a pure function of the config and k.
 *
 * <p>Not thread-safe: one generator per source split.
 */
public final class NexmarkGenerator {
  private static final int NUM_CATEGORIES = 5;
  private static final int PERSON_ID_LEAD = 10;
  private static final int AUCTION_ID_LEAD = 10;
  private static final long HOT_SELLER_BATCH = 100;
  private static final long HOT_BIDDER_BATCH = 100;
  private static final long HOT_AUCTION_BATCH = 100;
  private static final int HOT_CHANNELS_RATIO = 2;

  private static final String[] US_STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  private static final String[] US_CITIES = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"
  };
  private static final String[] FIRST_NAMES = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"
  };
  private static final String[] LAST_NAMES = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"
  };
  private static final String[] HOT_CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};

  private final GeneratorConfig config;
  private final long maxEvents;
  private long eventsSoFar;
  // Reseeded for every event; setSeed(id) is the same as new Random(id).
  private final Random random = new Random(0);

  public NexmarkGenerator(GeneratorConfig config) {
    this(config, 0);
  }

  public NexmarkGenerator(GeneratorConfig config, long eventsSoFar) {
    this.config = config.copy();
    this.maxEvents = config.effectiveMaxEvents();
    this.eventsSoFar = eventsSoFar;
  }

  public boolean hasNext() {
    return eventsSoFar < maxEvents;
  }

  public Event next() {
    return generate(eventsSoFar++);
  }

  public long eventsSoFar() {
    return eventsSoFar;
  }

  public long maxEvents() {
    return maxEvents;
  }

  /** The watermark the reference attaches to the next event: no later event is older. */
  public long nextWatermark() {
    return config.timestampForEvent(config.nextEventNumberForWatermark(eventsSoFar));
  }

  /** The event this generator makes after {@code count} events. */
  public Event generate(long count) {
    long eventNumber = config.nextAdjustedEventNumber(count);
    long timestamp = config.timestampForEvent(eventNumber);
    long eventId = config.firstEventId + eventNumber;
    random.setSeed(eventId);
    long rem = eventId % config.totalProportion();
    if (rem < config.personProportion) {
      return Event.of(nextPerson(eventId, timestamp));
    } else if (rem < config.personProportion + config.auctionProportion) {
      return Event.of(nextAuction(count, eventId, timestamp));
    } else {
      return Event.of(nextBid(eventId, timestamp));
    }
  }

  private Person nextPerson(long eventId, long timestamp) {
    Person p = new Person();
    p.id = lastBase0PersonId(eventId) + GeneratorConfig.FIRST_PERSON_ID;
    p.name =
        FIRST_NAMES[random.nextInt(FIRST_NAMES.length)]
            + " "
            + LAST_NAMES[random.nextInt(LAST_NAMES.length)];
    p.emailAddress =
        GeneratorTables.nextString(random, 7, ' ')
            + "@"
            + GeneratorTables.nextString(random, 5, ' ')
            + ".com";
    StringBuilder card = new StringBuilder(19);
    for (int i = 0; i < 4; i++) {
      if (i > 0) {
        card.append(' ');
      }
      int v = random.nextInt(10000);
      card.append((char) ('0' + v / 1000))
          .append((char) ('0' + v / 100 % 10))
          .append((char) ('0' + v / 10 % 10))
          .append((char) ('0' + v % 10));
    }
    p.creditCard = card.toString();
    p.city = US_CITIES[random.nextInt(US_CITIES.length)];
    p.state = US_STATES[random.nextInt(US_STATES.length)];
    p.dateTime = timestamp;
    int currentSize =
        8
            + p.name.length()
            + p.emailAddress.length()
            + p.creditCard.length()
            + p.city.length()
            + p.state.length();
    p.extra = GeneratorTables.nextExtra(random, currentSize, config.avgPersonByteSize);
    return p;
  }

  private Auction nextAuction(long count, long eventId, long timestamp) {
    Auction a = new Auction();
    a.id = lastBase0AuctionId(eventId) + GeneratorConfig.FIRST_AUCTION_ID;
    long seller;
    if (random.nextInt(config.hotSellersRatio) > 0) {
      seller = (lastBase0PersonId(eventId) / HOT_SELLER_BATCH) * HOT_SELLER_BATCH;
    } else {
      seller = nextBase0PersonId(eventId);
    }
    a.seller = seller + GeneratorConfig.FIRST_PERSON_ID;
    a.category = GeneratorConfig.FIRST_CATEGORY_ID + random.nextInt(NUM_CATEGORIES);
    a.initialBid = nextPrice();
    a.dateTime = timestamp;
    a.expires = timestamp + nextAuctionLengthMs(count, timestamp);
    a.itemName = GeneratorTables.nextString(random, 20, ' ');
    a.description = GeneratorTables.nextString(random, 100, ' ');
    a.reserve = a.initialBid + nextPrice();
    int currentSize = 8 + a.itemName.length() + a.description.length() + 8 + 8 + 8 + 8 + 8;
    a.extra = GeneratorTables.nextExtra(random, currentSize, config.avgAuctionByteSize);
    return a;
  }

  private Bid nextBid(long eventId, long timestamp) {
    Bid b = new Bid();
    long auction;
    if (random.nextInt(config.hotAuctionRatio) > 0) {
      auction = (lastBase0AuctionId(eventId) / HOT_AUCTION_BATCH) * HOT_AUCTION_BATCH;
    } else {
      auction = nextBase0AuctionId(eventId);
    }
    b.auction = auction + GeneratorConfig.FIRST_AUCTION_ID;
    long bidder;
    if (random.nextInt(config.hotBiddersRatio) > 0) {
      bidder = (lastBase0PersonId(eventId) / HOT_BIDDER_BATCH) * HOT_BIDDER_BATCH + 1;
    } else {
      bidder = nextBase0PersonId(eventId);
    }
    // The reference adds FIRST_PERSON_ID twice; kept so both engines see the suite's data.
    bidder += GeneratorConfig.FIRST_PERSON_ID;
    b.price = nextPrice();
    if (random.nextInt(HOT_CHANNELS_RATIO) > 0) {
      int i = random.nextInt(HOT_CHANNELS.length);
      b.channel = HOT_CHANNELS[i];
      b.url = GeneratorTables.HOT_URLS[i];
    } else {
      int channel = random.nextInt(GeneratorTables.NUM_CHANNELS);
      b.channel = GeneratorTables.CHANNEL_NAMES[channel];
      b.url = GeneratorTables.CHANNEL_URLS[channel];
    }
    b.bidder = bidder + GeneratorConfig.FIRST_PERSON_ID;
    b.dateTime = timestamp;
    b.extra = GeneratorTables.nextExtra(random, 8 + 8 + 8 + 8, config.avgBidByteSize);
    return b;
  }

  private long nextPrice() {
    return Math.round(Math.pow(10.0, random.nextDouble() * 6.0) * 100.0);
  }

  private long nextLong(long n) {
    if (n < Integer.MAX_VALUE) {
      return random.nextInt((int) n);
    }
    return Math.abs(random.nextLong() % n);
  }

  private long lastBase0PersonId(long eventId) {
    long epoch = eventId / config.totalProportion();
    long offset = eventId % config.totalProportion();
    if (offset >= config.personProportion) {
      offset = config.personProportion - 1;
    }
    return epoch * config.personProportion + offset;
  }

  private long nextBase0PersonId(long eventId) {
    long numPeople = lastBase0PersonId(eventId) + 1;
    long activePeople = Math.min(numPeople, config.numActivePeople);
    long n = nextLong(activePeople + PERSON_ID_LEAD);
    return numPeople - activePeople + n;
  }

  private long lastBase0AuctionId(long eventId) {
    long epoch = eventId / config.totalProportion();
    long offset = eventId % config.totalProportion();
    if (offset < config.personProportion) {
      epoch--;
      offset = config.auctionProportion - 1;
    } else if (offset >= config.personProportion + config.auctionProportion) {
      offset = config.auctionProportion - 1;
    } else {
      offset -= config.personProportion;
    }
    return epoch * config.auctionProportion + offset;
  }

  private long nextBase0AuctionId(long eventId) {
    long maxAuction = lastBase0AuctionId(eventId);
    long minAuction = Math.max(maxAuction - config.numInFlightAuctions, 0);
    return minAuction + nextLong(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }

  private long nextAuctionLengthMs(long count, long timestamp) {
    long currentEventNumber = config.nextAdjustedEventNumber(count);
    long numEventsForAuctions =
        ((long) config.numInFlightAuctions * config.totalProportion()) / config.auctionProportion;
    long futureAuction = config.timestampForEvent(currentEventNumber + numEventsForAuctions);
    long horizonMs = futureAuction - timestamp;
    return 1L + nextLong(Math.max(horizonMs * 2, 1L));
  }
}
