package weir.bench.nexmark;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Writes each line to a plain file: {@code path} itself when the sink runs with parallelism 1,
 * else {@code path.<subtask>}. Flushed at every checkpoint and at the end of the input. Not
 * transactional: after a failure and restore, lines since the last checkpoint are written again
 * (at-least-once); the benchmark's correctness runs do not fail, and its speed runs use no file.
 */
final class LineFileSink implements Sink<String> {
  private static final long serialVersionUID = 1L;
  private final String path;

  LineFileSink(String path) {
    this.path = path;
  }

  static Path fileOf(String path, int subtask, int parallelism) {
    return parallelism == 1 ? Paths.get(path) : Paths.get(path + "." + subtask);
  }

  @Override
  public SinkWriter<String> createWriter(WriterInitContext context) throws IOException {
    int subtask = context.getTaskInfo().getIndexOfThisSubtask();
    int parallelism = context.getTaskInfo().getNumberOfParallelSubtasks();
    return new Writer_(Files.newBufferedWriter(fileOf(path, subtask, parallelism), StandardCharsets.UTF_8));
  }

  private static final class Writer_ implements SinkWriter<String> {
    private final Writer out;

    Writer_(BufferedWriter out) {
      this.out = out;
    }

    @Override
    public void write(String line, Context context) throws IOException {
      out.write(line);
      out.write('\n');
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      out.flush();
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}
