package weir.bench.nexmark.oracle;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import weir.bench.nexmark.generator.GeneratorConfig;
import weir.bench.nexmark.generator.NexmarkGenerator;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Bid;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.model.Person;
import weir.bench.nexmark.queries.Queries;

/**
 * The expected final result of each query, computed the plain way: all events in memory, each
 * query's SQL (the suite's queries/*.sql) evaluated over the whole input with lists and maps. No
 * streaming, no state, no watermarks, so it shares no logic with the DataStream versions and can
 * check them (and later weir's) on inputs small enough to hold: check_queries.sh compares.
 *
 * <p>The lines are sorted, in the queries' output format. For q4, whose streaming output is an
 * update per closed auction, the result is the final average per category (the last line of
 * each category in the streaming output).
 *
 * <pre>
 * java -cp target/nexmark-flink.jar weir.bench.nexmark.oracle.Oracle \
 *     --query qN --events N [--parallelism P] [--rate EVENTS_PER_S]
 * </pre>
 */
public final class Oracle {
  private final List<Person> persons = new ArrayList<>();
  private final List<Auction> auctions = new ArrayList<>();
  private final List<Bid> bids = new ArrayList<>();

  /** The events the streaming job sees with this many generators. */
  public Oracle(GeneratorConfig config, int parallelism) {
    for (GeneratorConfig slice : config.split(parallelism)) {
      NexmarkGenerator g = new NexmarkGenerator(slice);
      while (g.hasNext()) {
        add(g.next());
      }
    }
  }

  /** Given events (tests with hand-made edge cases). */
  public Oracle(List<Event> events) {
    for (Event e : events) {
      add(e);
    }
  }

  private void add(Event e) {
    switch (e.type) {
      case Event.PERSON:
        persons.add(e.person);
        break;
      case Event.AUCTION:
        auctions.add(e.auction);
        break;
      default:
        bids.add(e.bid);
    }
  }

  public List<String> run(String query) {
    List<String> out = new ArrayList<>();
    switch (query) {
      case "q0":
        for (Bid b : bids) {
          out.add(b.auction + "," + b.bidder + "," + b.price + "," + b.dateTime + "," + b.extra);
        }
        break;
      case "q1":
        for (Bid b : bids) {
          // 0.908 * price as DECIMAL(23, 3), via BigDecimal: independent of Q1's arithmetic.
          String eur = new java.math.BigDecimal("0.908")
              .multiply(java.math.BigDecimal.valueOf(b.price))
              .setScale(3)
              .toPlainString();
          out.add(b.auction + "," + b.bidder + "," + eur + "," + b.dateTime + "," + b.extra);
        }
        break;
      case "q2":
        for (Bid b : bids) {
          if (b.auction % 123 == 0) {
            out.add(b.auction + "," + b.price);
          }
        }
        break;
      case "q3":
        q3(out);
        break;
      case "q4":
        q4(out);
        break;
      case "q5":
        q5(out);
        break;
      case "q7":
        q7(out);
        break;
      case "q8":
        q8(out);
        break;
      case "q11":
        q11(out);
        break;
      case "q17":
        q17(out);
        break;
      default:
        throw new IllegalArgumentException("no query " + query);
    }
    Collections.sort(out);
    return out;
  }

  private void q3(List<String> out) {
    for (Auction a : auctions) {
      for (Person p : persons) {
        if (a.seller == p.id
            && a.category == 10
            && (p.state.equals("OR") || p.state.equals("ID") || p.state.equals("CA"))) {
          out.add(p.name + "," + p.city + "," + p.state + "," + a.id);
        }
      }
    }
  }

  private void q4(List<String> out) {
    Map<Long, Auction> byId = new HashMap<>();
    for (Auction a : auctions) {
      byId.put(a.id, a);
    }
    Map<Long, Long> finalPrice = new HashMap<>();
    for (Bid b : bids) {
      Auction a = byId.get(b.auction);
      if (a != null && b.dateTime >= a.dateTime && b.dateTime <= a.expires) {
        finalPrice.merge(a.id, b.price, Math::max);
      }
    }
    Map<Long, long[]> byCategory = new TreeMap<>();
    for (Map.Entry<Long, Long> e : finalPrice.entrySet()) {
      long[] sumCount = byCategory.computeIfAbsent(byId.get(e.getKey()).category, c -> new long[2]);
      sumCount[0] += e.getValue();
      sumCount[1]++;
    }
    for (Map.Entry<Long, long[]> e : byCategory.entrySet()) {
      out.add(e.getKey() + "," + e.getValue()[0] / e.getValue()[1]);
    }
  }

  private void q5(List<String> out) {
    // HOP(size 10 s, slide 2 s): windows [s, s + 10 s) for s a multiple of 2 s.
    Map<Long, Map<Long, Long>> countsByWindow = new HashMap<>();
    for (Bid b : bids) {
      long last = Math.floorDiv(b.dateTime, 2000) * 2000;
      for (long s = last; s > b.dateTime - 10_000; s -= 2000) {
        countsByWindow.computeIfAbsent(s, k -> new HashMap<>()).merge(b.auction, 1L, Long::sum);
      }
    }
    for (Map<Long, Long> counts : countsByWindow.values()) {
      long max = Collections.max(counts.values());
      for (Map.Entry<Long, Long> e : counts.entrySet()) {
        if (e.getValue() >= max) {
          out.add(e.getKey() + "," + e.getValue());
        }
      }
    }
  }

  private void q7(List<String> out) {
    Map<Long, Long> maxByWindowEnd = new HashMap<>();
    for (Bid b : bids) {
      long end = Math.floorDiv(b.dateTime, 10_000) * 10_000 + 10_000;
      maxByWindowEnd.merge(end, b.price, Math::max);
    }
    for (Map.Entry<Long, Long> w : maxByWindowEnd.entrySet()) {
      long end = w.getKey();
      for (Bid b : bids) {
        if (b.price == w.getValue() && b.dateTime >= end - 10_000 && b.dateTime <= end) {
          out.add(b.auction + "," + b.price + "," + b.bidder + "," + b.dateTime + "," + b.extra);
        }
      }
    }
  }

  private void q8(List<String> out) {
    Set<String> sellerWindows = new HashSet<>();
    for (Auction a : auctions) {
      sellerWindows.add(a.seller + "@" + Math.floorDiv(a.dateTime, 10_000) * 10_000);
    }
    Set<String> rows = new HashSet<>();
    for (Person p : persons) {
      long start = Math.floorDiv(p.dateTime, 10_000) * 10_000;
      if (sellerWindows.contains(p.id + "@" + start)) {
        rows.add(p.id + "," + p.name + "," + start);
      }
    }
    out.addAll(rows);
  }

  private void q11(List<String> out) {
    // Sessions with a 10 s gap; like Flink's session windows (SQL and DataStream), a bid exactly
    // 10 s after the previous one still joins its session ([t, t + gap) windows that touch merge).
    Map<Long, List<Long>> timesByBidder = new HashMap<>();
    for (Bid b : bids) {
      timesByBidder.computeIfAbsent(b.bidder, k -> new ArrayList<>()).add(b.dateTime);
    }
    for (Map.Entry<Long, List<Long>> e : timesByBidder.entrySet()) {
      List<Long> times = e.getValue();
      Collections.sort(times);
      long start = times.get(0);
      long last = start;
      long count = 0;
      for (long t : times) {
        if (t > last + 10_000) {
          out.add(e.getKey() + "," + count + "," + start + "," + (last + 10_000));
          start = t;
          count = 0;
        }
        last = t;
        count++;
      }
      out.add(e.getKey() + "," + count + "," + start + "," + (last + 10_000));
    }
  }

  private void q17(List<String> out) {
    Map<String, long[]> stats = new HashMap<>();  // total, rank1-3, min, max, sum
    for (Bid b : bids) {
      String day = LocalDate.ofEpochDay(Math.floorDiv(b.dateTime, 86_400_000L)).toString();
      long[] s =
          stats.computeIfAbsent(
              b.auction + "," + day, k -> new long[] {0, 0, 0, 0, Long.MAX_VALUE, Long.MIN_VALUE, 0});
      s[0]++;
      s[b.price < 10_000 ? 1 : b.price < 1_000_000 ? 2 : 3]++;
      s[4] = Math.min(s[4], b.price);
      s[5] = Math.max(s[5], b.price);
      s[6] += b.price;
    }
    for (Map.Entry<String, long[]> e : stats.entrySet()) {
      long[] s = e.getValue();
      out.add(e.getKey() + "," + s[0] + "," + s[1] + "," + s[2] + "," + s[3] + "," + s[4] + ","
          + s[5] + "," + s[6] / s[0] + "," + s[6]);
    }
  }

  public static void main(String[] args) throws IOException {
    String query = null;
    long events = 100_000;
    int parallelism = 1;
    int rate = 10_000_000;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--query":
          query = args[i + 1];
          break;
        case "--events":
          events = Long.parseLong(args[i + 1]);
          break;
        case "--parallelism":
          parallelism = Integer.parseInt(args[i + 1]);
          break;
        case "--rate":
          rate = Integer.parseInt(args[i + 1]);
          break;
        default:
          System.err.println("Oracle: unknown flag " + args[i]);
          System.exit(2);
      }
    }
    if (query == null || !Queries.exists(query)) {
      System.err.println("Oracle: --query must be one of " + String.join(" ", Queries.names()));
      System.exit(2);
    }
    GeneratorConfig config = new GeneratorConfig();
    config.firstEventRate = rate;
    config.numEventGenerators = parallelism;
    config.maxEvents = events;
    Writer w = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 20);
    for (String line : new Oracle(config, parallelism).run(query)) {
      w.write(line);
      w.write('\n');
    }
    w.flush();
  }
}
