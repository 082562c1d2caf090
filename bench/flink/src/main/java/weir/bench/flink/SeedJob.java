package weir.bench.flink;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

/**
 * The seed pipeline, as weir_bench builds it (bench/weir_bench.cc): a sequence source, a map to
 * (key, value), keyBy, a running sum per key in ValueState, one line of text per record, and a
 * sink. With one key it is the seed job (N-1 zeros and a final 1000, key 0); with K keys record i
 * is (i % K, 1 + i % 7). Source and map chain into one task, the keyed function and the sink into
 * a second, so every record crosses a network channel between two threads, as in weir.
 */
final class SeedJob {
  private SeedJob() {}

  /**
   * When the keyed function emitted its first line, in System.nanoTime(); 0 until then. A static works
   * because the MiniCluster runs the tasks in this JVM and the job's classes come from the
   * application class path (no user jar, so no separate class loader).
   */
  static final AtomicLong FIRST_RECORD_NANOS = new AtomicLong();

  /** Part files are named sums-<uuid>-<counter>.txt; in progress, hidden with a leading dot. */
  static final String PART_PREFIX = "sums";

  static void build(StreamExecutionEnvironment env, BenchOptions o) {
    DataStream<String> lines =
        env.fromSequence(0, o.records - 1)
            .name("sequence")
            .map(new ToKeyedValue(o.records, o.keys))
            .name("map")
            .keyBy(new ByKey())
            .process(new RunningSum(o.delayMs))
            .name("running-sum")
            .uid("running-sum");
    switch (o.sink) {
      case "file" -> lines.sinkTo(bufferedFileSink(o)).name("file").uid("file");
      case "file-row" -> lines.sinkTo(rowFileSink(o)).name("file").uid("file");
      default -> lines.sinkTo(new DiscardingSink<>()).name("discard");
    }
  }

  /*
   * Flink 2 has no writeAsText. FileSink is its exactly-once file sink: each subtask writes an
   * in-progress part file; at a checkpoint the file is persisted (flushed and fsynced), and when
   * the checkpoint completes the committer renames it into place. OnCheckpointRollingPolicy
   * closes the part file at every checkpoint, so committed output becomes visible once per
   * checkpoint, as weir's two-phase-commit text sink does (Flink's default policy would hold it
   * back until a part file reaches 128 MB or 60 s). Without checkpointing the part is committed
   * when the input ends. Both variants below share all of that; they differ in buffering.
   */

  /** FileSink's bulk format with a buffered text writer (see TextBulkWriter): --sink file. */
  private static FileSink<String> bufferedFileSink(BenchOptions o) {
    return FileSink.forBulkFormat(outputPath(o), TextBulkWriter.FACTORY)
        .withBucketAssigner(new BasePathBucketAssigner<>())
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(partNames())
        .build();
  }

  /** FileSink's row format, what writeAsText's users move to: --sink file-row. */
  private static FileSink<String> rowFileSink(BenchOptions o) {
    return FileSink.forRowFormat(outputPath(o), new SimpleStringEncoder<String>("UTF-8"))
        .withBucketAssigner(new BasePathBucketAssigner<>())
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(partNames())
        .build();
  }

  private static Path outputPath(BenchOptions o) {
    return new Path(o.output.toAbsolutePath().toUri());
  }

  private static OutputFileConfig partNames() {
    return OutputFileConfig.builder().withPartPrefix(PART_PREFIX).withPartSuffix(".txt").build();
  }

  /** Record i to (key, value), exactly as weir_bench's map. */
  static final class ToKeyedValue implements MapFunction<Long, Tuple2<Long, Long>> {
    private final long records;
    private final long keys;

    ToKeyedValue(long records, long keys) {
      this.records = records;
      this.keys = keys;
    }

    @Override
    public Tuple2<Long, Long> map(Long i) {
      if (keys == 1) return Tuple2.of(0L, i < records - 1 ? 0L : 1000L);
      return Tuple2.of(i % keys, 1 + i % 7);
    }
  }

  static final class ByKey implements KeySelector<Tuple2<Long, Long>, Long> {
    @Override
    public Long getKey(Tuple2<Long, Long> r) {
      return r.f0;
    }
  }

  /** The seed's running sum per key; the optional sleep simulates a slow operator. */
  static final class RunningSum extends KeyedProcessFunction<Long, Tuple2<Long, Long>, String> {
    private final long delayMs;
    private transient ValueState<Long> sum;

    RunningSum(long delayMs) {
      this.delayMs = delayMs;
    }

    @Override
    public void open(OpenContext context) {
      sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
    }

    @Override
    public void processElement(Tuple2<Long, Long> r, Context ctx, Collector<String> out)
        throws Exception {
      if (delayMs > 0) Thread.sleep(delayMs);
      Long current = sum.value();
      long next = (current == null ? 0 : current) + r.f1;
      sum.update(next);
      // As weir_bench, the job has no stage of its own for this.
      if (FIRST_RECORD_NANOS.get() == 0) FIRST_RECORD_NANOS.compareAndSet(0, System.nanoTime());
      out.collect(Long.toString(next));
    }
  }
}
