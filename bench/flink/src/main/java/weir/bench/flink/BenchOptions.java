package weir.bench.flink;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * The benchmark's command-line flags, named like weir_bench's so that the runner passes the same
 * values to both engines. Bad flags or values throw {@link UsageException} with a message that
 * says what is wrong; {@code main} turns it into exit code 2.
 */
final class BenchOptions {
  /** Records the source emits: 0 .. records-1 (the seed job's --end N is records = N + 1). */
  long records = 20_001;
  /** Distinct keys. 1 is the seed job (constant key 0); K > 1 keys record i by i % K. */
  long keys = 1;
  /** Milliseconds the running sum sleeps per record (the seed job sleeps 1). */
  long delayMs = 0;
  int parallelism = 1;
  /** Checkpoint interval; null means checkpointing is off. */
  Duration checkpointInterval = Duration.ofSeconds(1);
  String mode = "EXACTLY_ONCE";
  String backend = "hashmap";
  boolean incremental = false;
  /** "file": exactly-once FileSink, buffered; "file-row": its row format; "discard". */
  String sink = "file";
  Path output = Path.of("flink-out/sums");
  Path checkpointDir = Path.of("flink-out/checkpoints");
  /** Buffer debloating target in ms, as weir's default (200 ms); 0 turns debloating off. */
  long debloatTargetMs = 200;

  static final String USAGE =
      String.join(
          "\n",
          "usage: java -jar flink-bench.jar [flags]",
          "  --records N               records 0..N-1 (default 20001: 20000 zeros and a 1000)",
          "  --keys K                  distinct keys; 1 = the seed's constant key (default 1)",
          "  --delay-ms D              sleep per record in the running sum (default 0)",
          "  --parallelism P           job parallelism (default 1)",
          "  --checkpoint-interval MS  e.g. 1000, 100ms, 1s, or off (default 1s)",
          "  --mode M                  EXACTLY_ONCE | AT_LEAST_ONCE (default EXACTLY_ONCE)",
          "  --backend B               hashmap | rocksdb (default hashmap)",
          "  --incremental             incremental RocksDB checkpoints",
          "  --sink S                  file | file-row | discard (default file): exactly-once",
          "                            FileSink, buffered bulk format or row format; or none",
          "  --output DIR              output dir, old parts deleted (default flink-out/sums)",
          "  --checkpoint-dir DIR      checkpoint directory (default flink-out/checkpoints)",
          "  --debloat-target-ms T     buffer debloating target; 0 = off (default 200)");

  /** Thrown for a bad command line; the message is meant for the user. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  static BenchOptions parse(String[] args) throws UsageException {
    BenchOptions o = new BenchOptions();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--incremental")) {
        o.incremental = true;
        continue;
      }
      if (flag.equals("--help") || flag.equals("-h")) throw new UsageException("");
      if (i + 1 >= args.length) throw new UsageException(flag + " needs a value");
      String value = args[++i];
      switch (flag) {
        case "--records" -> o.records = positive(flag, value);
        case "--keys" -> o.keys = positive(flag, value);
        case "--delay-ms" -> o.delayMs = nonNegative(flag, value);
        case "--parallelism" -> o.parallelism = (int) Math.min(positive(flag, value), 1024);
        case "--checkpoint-interval" -> o.checkpointInterval = interval(value);
        case "--mode" -> o.mode = oneOf(flag, value.toUpperCase(Locale.ROOT),
            "EXACTLY_ONCE", "AT_LEAST_ONCE");
        case "--backend" -> o.backend = oneOf(flag, value.toLowerCase(Locale.ROOT),
            "hashmap", "rocksdb");
        case "--sink" -> o.sink = oneOf(flag, value.toLowerCase(Locale.ROOT),
            "file", "file-row", "discard");
        case "--output" -> o.output = Path.of(value);
        case "--checkpoint-dir" -> o.checkpointDir = Path.of(value);
        case "--debloat-target-ms" -> o.debloatTargetMs = nonNegative(flag, value);
        default -> throw new UsageException("unknown flag '" + flag + "'");
      }
    }
    if (o.incremental && !o.backend.equals("rocksdb")) {
      throw new UsageException("--incremental needs --backend rocksdb");
    }
    return o;
  }

  /** The workload's name in the JSON line: weir_bench's seed pipeline with one key or many. */
  String workload() {
    return keys == 1 ? "seed" : "keys";
  }

  String checkpointLabel() {
    return checkpointInterval == null ? "off" : checkpointInterval.toMillis() + "ms";
  }

  private static long parseLong(String flag, String value) throws UsageException {
    try {
      return Long.parseLong(value.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " wants a whole number, got '" + value + "'");
    }
  }

  private static long positive(String flag, String value) throws UsageException {
    long v = parseLong(flag, value);
    if (v < 1) throw new UsageException(flag + " must be at least 1, got " + v);
    return v;
  }

  private static long nonNegative(String flag, String value) throws UsageException {
    long v = parseLong(flag, value);
    if (v < 0) throw new UsageException(flag + " must not be negative, got " + v);
    return v;
  }

  private static String oneOf(String flag, String value, String... allowed)
      throws UsageException {
    for (String a : allowed) {
      if (a.equals(value)) return a;
    }
    throw new UsageException(
        flag + " must be one of " + String.join(", ", allowed) + ", got '" + value + "'");
  }

  /** "off", a bare number of milliseconds, or a number with "ms" or "s" (weir_bench's form). */
  static Duration interval(String value) throws UsageException {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.equals("off")) return null;
    long factor = 1;
    if (v.endsWith("ms")) {
      v = v.substring(0, v.length() - 2);
    } else if (v.endsWith("s")) {
      v = v.substring(0, v.length() - 1);
      factor = 1000;
    }
    long ms = parseLong("--checkpoint-interval", v.trim()) * factor;
    // Flink refuses intervals under 10 ms (CheckpointCoordinator's minimum).
    if (ms < 10) throw new UsageException("--checkpoint-interval must be off or >= 10 ms");
    return Duration.ofMillis(ms);
  }
}
