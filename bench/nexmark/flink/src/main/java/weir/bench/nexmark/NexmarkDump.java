package weir.bench.nexmark;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import weir.bench.nexmark.generator.GeneratorConfig;
import weir.bench.nexmark.generator.NexmarkGenerator;
import weir.bench.nexmark.model.CanonicalJson;

/**
 * Prints the first N Nexmark events, one canonical JSON line each: the same bytes as the C++
 * nexmark_dump for the same flags (check_generators.sh diffs the two).
 *
 * <pre>
 * java -cp target/nexmark-flink.jar weir.bench.nexmark.NexmarkDump \
 *     [--events N] [--generators G] [--rate EVENTS_PER_S] [--base-time MS]
 * </pre>
 */
public final class NexmarkDump {
  private static final String USAGE =
      "usage: NexmarkDump [--events N] [--generators G] [--rate EVENTS_PER_S] [--base-time MS]\n"
          + "  --events N        events to print (default 100)\n"
          + "  --generators G    parallel generators the events are split over (default 1)\n"
          + "  --rate R          events per second of event time over all generators\n"
          + "                    (default 10000000, the Nexmark suite's workload rate)\n"
          + "  --base-time MS    event time of event number 0 (default 1436918400000)\n";

  private NexmarkDump() {}

  public static void main(String[] args) throws IOException {
    long events = 100;
    long generators = 1;
    long rate = 10_000_000;
    long baseTime = GeneratorConfig.DEFAULT_BASE_TIME_MS;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.print(USAGE);
        return;
      }
      Long value = null;
      if (i + 1 < args.length) {
        try {
          value = Long.parseLong(args[i + 1]);
        } catch (NumberFormatException e) {
          value = null;
        }
      }
      if (value == null) {
        System.err.print("NexmarkDump: bad or incomplete flag '" + flag + "'\n" + USAGE);
        System.exit(2);
      }
      switch (flag) {
        case "--events":
          events = value;
          break;
        case "--generators":
          generators = value;
          break;
        case "--rate":
          rate = value;
          break;
        case "--base-time":
          baseTime = value;
          break;
        default:
          System.err.print("NexmarkDump: unknown flag '" + flag + "'\n" + USAGE);
          System.exit(2);
      }
      i++;
    }
    if (events <= 0 || generators <= 0 || generators > 1024 || rate <= 0 || rate > Integer.MAX_VALUE) {
      System.err.println("NexmarkDump: --events, --generators and --rate must be positive");
      System.exit(2);
    }
    GeneratorConfig config = new GeneratorConfig();
    config.firstEventRate = (int) rate;
    config.numEventGenerators = (int) generators;
    config.baseTimeMs = baseTime;
    config.maxEvents = events;
    Writer out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 20);
    StringBuilder line = new StringBuilder(1024);
    for (GeneratorConfig slice : config.split((int) generators)) {
      NexmarkGenerator generator = new NexmarkGenerator(slice);
      while (generator.hasNext()) {
        line.setLength(0);
        CanonicalJson.append(generator.next(), line);
        out.append(line);
      }
    }
    out.flush();
  }
}
