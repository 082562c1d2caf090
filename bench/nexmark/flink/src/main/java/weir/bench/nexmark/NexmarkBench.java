package weir.bench.nexmark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import weir.bench.nexmark.generator.GeneratorConfig;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.queries.Queries;
import weir.bench.nexmark.source.NexmarkSource;

/**
 * Runs Nexmark queries on Flink's DataStream API in a local MiniCluster, one after the other,
 * and prints one JSON line per query with its throughput:
 *
 * <pre>
 * java -jar target/nexmark-flink.jar --query q5 [--events N] [--parallelism P]
 *     [--checkpoint-interval MS|off] [--backend hashmap|rocksdb] [--output FILE|none]
 *     [--rate EVENTS_PER_S] [--checkpoint-dir DIR]
 * </pre>
 *
 * Several queries (--query q0,q1,...) share the JVM, so a correctness check pays for its start
 * once; each query then writes FILE-qN. Benchmarks run one query per process.
 *
 * The source splits the events over P generators as the Nexmark suite does (so the events, and
 * the results, depend on P; weir with the same P sees the same events). Event time is the
 * events' dateTime with the suite's watermark: 4 s of bounded out-of-orderness.
 */
public final class NexmarkBench {
  private static final String USAGE =
      "usage: NexmarkBench --query qN [--events N] [--parallelism P]\n"
          + "    [--checkpoint-interval MS|off] [--backend hashmap|rocksdb] [--output FILE|none]\n"
          + "    [--rate EVENTS_PER_S] [--checkpoint-dir DIR]\n"
          + "  --query             one of q0 q1 q2 q3 q4 q5 q7 q8 q11 q17, or several joined by\n"
          + "                      commas, run in turn (each writes FILE-qN)\n"
          + "  --events            events to generate (default 10000000)\n"
          + "  --parallelism       parallelism of every operator and number of generators (default 1)\n"
          + "  --checkpoint-interval  ms between checkpoints, or off (default off)\n"
          + "  --backend           state backend (default hashmap)\n"
          + "  --output            file for the result lines (FILE.i per sink subtask when P > 1),\n"
          + "                      or none to discard them (default none)\n"
          + "  --rate              events per second of event time (default 10000000, the suite's)\n"
          + "  --checkpoint-dir    where checkpoints go (default /tmp/nexmark-flink-checkpoints)\n";

  private NexmarkBench() {}

  private static void fail(String message) {
    System.err.print("NexmarkBench: " + message + "\n" + USAGE);
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    // Flink logs through slf4j-simple: warnings and errors only, on stderr.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.setProperty(
        "org.slf4j.simpleLogger.log.org.apache.flink.runtime.security.token", "error");
    String query = null;
    long events = 10_000_000;
    int parallelism = 1;
    long checkpointMs = 0;
    String backend = "hashmap";
    String output = "none";
    int rate = 10_000_000;
    String checkpointDir = "/tmp/nexmark-flink-checkpoints";
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.print(USAGE);
        return;
      }
      if (i + 1 >= args.length) {
        fail("flag " + flag + " needs a value");
      }
      String v = args[++i];
      try {
        switch (flag) {
          case "--query":
            query = v;
            break;
          case "--events":
            events = Long.parseLong(v);
            break;
          case "--parallelism":
            parallelism = Integer.parseInt(v);
            break;
          case "--checkpoint-interval":
            checkpointMs = v.equals("off") ? 0 : Long.parseLong(v);
            break;
          case "--backend":
            backend = v;
            break;
          case "--output":
            output = v;
            break;
          case "--rate":
            rate = Integer.parseInt(v);
            break;
          case "--checkpoint-dir":
            checkpointDir = v;
            break;
          default:
            fail("unknown flag " + flag);
        }
      } catch (NumberFormatException e) {
        fail("bad value '" + v + "' for " + flag);
      }
    }
    if (query == null) {
      fail("--query is missing");
    }
    String[] queries = query.split(",", -1);
    for (String q : queries) {
      if (!Queries.exists(q)) {
        fail("--query must be one of " + String.join(" ", Queries.names()) + ", not '" + q + "'");
      }
    }
    if (events <= 0 || parallelism <= 0 || rate <= 0 || checkpointMs < 0) {
      fail("--events, --parallelism, --rate and --checkpoint-interval must be positive");
    }
    if (!backend.equals("hashmap") && !backend.equals("rocksdb")) {
      fail("--backend must be hashmap or rocksdb");
    }

    for (String q : queries) {
      String out = queries.length > 1 && !output.equals("none") ? output + "-" + q : output;
      run(q, events, parallelism, checkpointMs, backend, out, rate, checkpointDir);
    }
  }

  private static void run(
      String query,
      long events,
      int parallelism,
      long checkpointMs,
      String backend,
      String output,
      int rate,
      String checkpointDir)
      throws Exception {
    Configuration conf = new Configuration();
    conf.set(StateBackendOptions.STATE_BACKEND, backend);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    // Everything the MiniCluster listens on stays on the loopback interface.
    conf.set(JobManagerOptions.ADDRESS, "127.0.0.1");
    conf.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
    conf.set(TaskManagerOptions.HOST, "127.0.0.1");
    conf.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
    conf.set(RestOptions.ADDRESS, "127.0.0.1");
    conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    if (checkpointMs > 0) {
      conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(checkpointMs));
      conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
      conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, Path.of(checkpointDir).toUri().toString());
      conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, backend.equals("rocksdb"));
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);

    GeneratorConfig generator = new GeneratorConfig();
    generator.firstEventRate = rate;
    generator.numEventGenerators = parallelism;
    generator.maxEvents = events;
    DataStream<Event> source =
        env.fromSource(
            new NexmarkSource(generator, parallelism),
            WatermarkStrategy.<Event>forBoundedOutOfOrderness(Duration.ofSeconds(4)),
            "Nexmark Source");
    DataStream<String> lines = Queries.build(query, source);
    if (output.equals("none")) {
      lines.sinkTo(new DiscardingSink<>()).name("discard");
    } else {
      lines.sinkTo(new LineFileSink(output)).name("file");
    }

    long start = System.nanoTime();
    JobExecutionResult result = env.execute("Nexmark " + query);
    double wallSeconds = (System.nanoTime() - start) / 1e9;
    double runSeconds = result.getNetRuntime() / 1000.0;
    long outputLines = output.equals("none") ? -1 : countLines(output, parallelism);
    System.out.println(
        String.format(
            Locale.ROOT,
            "{\"engine\":\"flink\",\"query\":\"%s\",\"events\":%d,\"parallelism\":%d,"
                + "\"backend\":\"%s\",\"checkpoint_interval_ms\":%d,\"run_seconds\":%.3f,"
                + "\"wall_seconds\":%.3f,\"events_per_second\":%.0f,\"output_lines\":%d}",
            query,
            events,
            parallelism,
            backend,
            checkpointMs,
            runSeconds,
            wallSeconds,
            events / runSeconds,
            outputLines));
  }

  private static long countLines(String output, int parallelism) {
    long n = 0;
    for (int i = 0; i < parallelism; i++) {
      try (Stream<String> s = Files.lines(LineFileSink.fileOf(output, i, parallelism))) {
        n += s.count();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return n;
  }
}
