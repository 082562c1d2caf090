package weir.bench.flink;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.core.fs.FSDataOutputStream;

/**
 * Lines of text for FileSink's bulk format, through a 64 KiB buffer. FileSink's row format
 * (SimpleStringEncoder) writes each record straight into the part file's stream, and on a local
 * file system that stream is an unbuffered FileChannel: two write(2) calls per record. A bulk
 * writer may buffer because FileSink calls flush() before it persists the part file at a
 * checkpoint, so the commit protocol, and exactly-once, are the same.
 */
final class TextBulkWriter implements BulkWriter<String> {
  private final BufferedOutputStream out;

  private TextBulkWriter(FSDataOutputStream stream) {
    out = new BufferedOutputStream(stream, 64 * 1024);
  }

  static final BulkWriter.Factory<String> FACTORY = TextBulkWriter::new;

  @Override
  public void addElement(String line) throws IOException {
    out.write(line.getBytes(StandardCharsets.UTF_8));
    out.write('\n');
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  /** Flushes, but leaves the stream open: FileSink closes and commits it. */
  @Override
  public void finish() throws IOException {
    out.flush();
  }
}
