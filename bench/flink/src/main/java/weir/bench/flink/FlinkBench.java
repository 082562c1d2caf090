package weir.bench.flink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;

/**
 * Runs one benchmark job (see {@link SeedJob}) on a local MiniCluster in this JVM and prints one
 * JSON line to stdout. The program starts the MiniCluster itself, as LocalStreamEnvironment does
 * inside execute(), so that it can time submission to finish without the cluster's start-up and
 * read the finished job's checkpoint statistics. CPU time and peak RSS are measured by the runner
 * from outside the process (bench/flink/compare.py), so the JVM's own threads count too.
 *
 * <p>Exit codes: 0 done, 1 the job failed, 2 bad flags.
 */
public final class FlinkBench {
  private FlinkBench() {}

  /** What one run measured. */
  record Result(double seconds, double startupSeconds, double firstRecordMs,
      CheckpointSummary checkpoints, String error) {}

  public static void main(String[] args) throws Exception {
    BenchOptions o;
    try {
      o = BenchOptions.parse(args);
    } catch (BenchOptions.UsageException e) {
      if (e.getMessage().isEmpty()) {  // --help
        System.out.println(BenchOptions.USAGE);
        System.exit(0);
      }
      System.err.println("flink-bench: " + e.getMessage());
      System.err.println(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    Result r = run(o);
    System.out.println(json(o, r));
    System.out.flush();
    // The MiniCluster is closed; exit now rather than wait for lingering non-daemon threads.
    System.exit(r.error().isEmpty() ? 0 : 1);
  }

  static Result run(BenchOptions o) throws Exception {
    prepareDirectories(o);
    Configuration conf = configuration(o);
    MiniClusterConfiguration cluster =
        new MiniClusterConfiguration.Builder()
            .setConfiguration(conf)
            .setNumTaskManagers(1)
            .setNumSlotsPerTaskManager(o.parallelism)
            .setCommonBindAddress("127.0.0.1")
            .build();
    try (MiniCluster miniCluster = new MiniCluster(cluster)) {
      long s0 = System.nanoTime();
      miniCluster.start();
      double startupSeconds = (System.nanoTime() - s0) / 1e9;

      SeedJob.FIRST_RECORD_NANOS.set(0);
      // Submission starts where weir_bench's does: before the job graph is built.
      long t0 = System.nanoTime();
      StreamExecutionEnvironment env = new StreamExecutionEnvironment(conf);
      SeedJob.build(env, o);
      StreamGraph graph = env.getStreamGraph();
      graph.setJobName("flink-bench");
      JobID id = miniCluster.submitJob(graph.getJobGraph()).get().getJobID();
      JobResult result = miniCluster.requestJobResult(id).get();
      double seconds = (System.nanoTime() - t0) / 1e9;

      long first = SeedJob.FIRST_RECORD_NANOS.get();
      double firstRecordMs = first == 0 ? -1 : (first - t0) / 1e6;
      ArchivedExecutionGraph graphInfo = miniCluster.getArchivedExecutionGraph(id).get();
      CheckpointSummary checkpoints =
          CheckpointSummary.of(graphInfo.getCheckpointStatsSnapshot());
      String error = "";
      if (!result.isSuccess()) {
        error = result.getSerializedThrowable()
            .map(t -> t.getFullStringifiedStackTrace())
            .orElse("job ended " + result.getJobStatus().map(Enum::name).orElse("unknown"));
      }
      return new Result(seconds, startupSeconds, firstRecordMs, checkpoints, error);
    }
  }

  /** The job's and the MiniCluster's settings, chosen to match weir_bench's run. */
  static Configuration configuration(BenchOptions o) {
    Configuration c = new Configuration();
    c.set(CoreOptions.DEFAULT_PARALLELISM, o.parallelism);
    // weir_bench fails on the first error, so no restarts here either.
    c.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    c.set(StateBackendOptions.STATE_BACKEND, o.backend);
    c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, o.checkpointDir.toAbsolutePath().toUri()
        .toString());
    c.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, o.incremental);
    if (o.checkpointInterval != null) {
      c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, o.checkpointInterval);
      c.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE,
          CheckpointingMode.valueOf(o.mode));
    }
    // Keep every checkpoint's statistics (the default keeps the last 10).
    c.set(WebOptions.CHECKPOINTS_HISTORY_SIZE, 1_000_000);
    // weir debloats channels to 200 ms of in-flight data by default; Flink does not (its
    // default target is 1 s when enabled). Without it, behind the seed's 1 ms sleep a 32 KiB
    // buffer holds seconds of records and every aligned barrier waits behind them.
    if (o.debloatTargetMs > 0) {
      c.set(TaskManagerOptions.BUFFER_DEBLOAT_ENABLED, true);
      c.set(TaskManagerOptions.BUFFER_DEBLOAT_TARGET, java.time.Duration.ofMillis(
          o.debloatTargetMs));
    }
    // No function here keeps a reference to a record, so chained operators may pass objects on
    // without a defensive copy: the setting a tuned Flink job uses.
    c.set(PipelineOptions.OBJECT_REUSE, true);
    // The REST endpoint always starts; a random port keeps runs from colliding with anything.
    c.set(RestOptions.BIND_PORT, "0");
    c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    c.set(RestOptions.ADDRESS, "127.0.0.1");
    return c;
  }

  /**
   * Earlier part files in the output directory are deleted first (weir's WriteMode::kOverwrite);
   * nothing else there is touched, so a mistyped --output cannot wipe a directory.
   */
  private static void prepareDirectories(BenchOptions o) throws IOException {
    Files.createDirectories(o.output);
    try (Stream<Path> files = Files.list(o.output)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        boolean part = name.startsWith(SeedJob.PART_PREFIX)
            || name.startsWith("." + SeedJob.PART_PREFIX);
        if (part && Files.isRegularFile(p)) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(o.checkpointDir);
  }

  static String json(BenchOptions o, Result r) {
    CheckpointSummary c = r.checkpoints();
    return String.format(Locale.ROOT,
        "{\"engine\":\"flink\",\"workload\":\"%s\",\"records\":%d,\"keys\":%d,"
            + "\"parallelism\":%d,\"backend\":\"%s\",\"incremental\":%b,\"checkpoint\":\"%s\","
            + "\"mode\":\"%s\",\"sink\":\"%s\",\"delay_ms\":%d,\"seconds\":%.3f,"
            + "\"startup_seconds\":%.3f,\"records_per_s\":%.0f,\"first_record_ms\":%.1f,"
            + "\"checkpoints\":%d,\"failed_checkpoints\":%d,"
            + "\"checkpoint_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
            + "\"checkpoint_bytes_p50\":%.0f,\"error\":\"%s\"}",
        o.workload(), o.records, o.keys, o.parallelism, o.backend, o.incremental,
        o.checkpointLabel(), o.mode, o.sink, o.delayMs, r.seconds(), r.startupSeconds(),
        o.records / r.seconds(), r.firstRecordMs(), c.completed(), c.failed(), c.p50Ms(),
        c.p99Ms(), c.maxMs(), c.stateBytesP50(), escape(r.error()));
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
          else b.append(ch);
        }
      }
    }
    return b.toString();
  }
}
