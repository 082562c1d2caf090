package weir.bench.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Flink job must write what weir writes: the comparison means nothing otherwise. */
class SeedJobTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"file", "file-row"})
  void seedWritesItsZerosAndAThousandExactlyOnce(String sink) throws Exception {
    BenchOptions o = options("--records", "2001", "--checkpoint-interval", "100ms", "--sink", sink);
    FlinkBench.Result r = FlinkBench.run(o);
    assertEquals("", r.error());
    assertEquals("0\n".repeat(2000) + "1000\n", output(o.output));
    assertTrue(r.firstRecordMs() > 0, "first record time is measured");
  }

  @Test
  void manyKeysOnRocksDbMatchAModel() throws Exception {
    BenchOptions o = options("--records", "20000", "--keys", "100", "--backend", "rocksdb",
        "--incremental", "--checkpoint-interval", "100ms");
    FlinkBench.Result r = FlinkBench.run(o);
    assertEquals("", r.error());
    long[] sums = new long[100];
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 20000; i++) {
      sums[i % 100] += 1 + i % 7;
      expected.append(sums[i % 100]).append('\n');
    }
    assertEquals(expected.toString(), output(o.output));
    assertTrue(r.checkpoints().completed() > 0, "checkpoint statistics are read");
  }

  @Test
  void badFlagsSayWhatIsWrong() {
    var e = assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--backend", "memory"}));
    assertEquals("--backend must be one of hashmap, rocksdb, got 'memory'", e.getMessage());
    e = assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--incremental"}));
    assertEquals("--incremental needs --backend rocksdb", e.getMessage());
    e = assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--checkpoint-interval", "5ms"}));
    assertEquals("--checkpoint-interval must be off or >= 10 ms", e.getMessage());
  }

  private BenchOptions options(String... flags) throws BenchOptions.UsageException {
    String[] all = Stream.concat(Stream.of(flags), Stream.of("--output",
        dir.resolve("out").toString(), "--checkpoint-dir", dir.resolve("chk").toString()))
        .toArray(String[]::new);
    return BenchOptions.parse(all);
  }

  /** The committed part files in order (one subtask: by the part counter). */
  private static String output(Path dir) throws IOException {
    Pattern counter = Pattern.compile("-(\\d+)\\.txt$");
    List<Path> parts;
    try (Stream<Path> files = Files.list(dir)) {
      parts = files.filter(p -> !p.getFileName().toString().startsWith("."))
          .sorted(Comparator.comparingLong(p -> {
            Matcher m = counter.matcher(p.getFileName().toString());
            return m.find() ? Long.parseLong(m.group(1)) : -1;
          }))
          .toList();
    }
    StringBuilder text = new StringBuilder();
    for (Path p : parts) text.append(Files.readString(p));
    return text.toString();
  }
}
