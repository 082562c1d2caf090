package weir.bench.nexmark.source;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.core.io.InputStatus;
import weir.bench.nexmark.generator.GeneratorConfig;
import weir.bench.nexmark.generator.NexmarkGenerator;
import weir.bench.nexmark.model.Event;

/**
 * Reads the splits it is given, one event per poll, round-robin when it holds several (after a
 * restore at a lower parallelism), each through its own split output so that every slice gets
 * its own watermark. Asks for another split whenever it runs out. Runs on the task thread.
 */
final class NexmarkSourceReader implements SourceReader<Event, NexmarkSplit> {
  private final SourceReaderContext context;
  private final List<GeneratorConfig> slices;
  private final List<Active> active = new ArrayList<>();
  private int next;
  private boolean noMoreSplits;
  private CompletableFuture<Void> available = new CompletableFuture<>();

  private static final class Active {
    final NexmarkSplit split;
    final NexmarkGenerator generator;
    SourceOutput<Event> output;

    Active(NexmarkSplit split, NexmarkGenerator generator) {
      this.split = split;
      this.generator = generator;
    }
  }

  NexmarkSourceReader(SourceReaderContext context, List<GeneratorConfig> slices) {
    this.context = context;
    this.slices = slices;
  }

  @Override
  public void start() {
    context.sendSplitRequest();
  }

  @Override
  public InputStatus pollNext(ReaderOutput<Event> output) {
    if (active.isEmpty()) {
      if (noMoreSplits) {
        return InputStatus.END_OF_INPUT;
      }
      if (available.isDone()) {
        available = new CompletableFuture<>();
      }
      return InputStatus.NOTHING_AVAILABLE;
    }
    if (next >= active.size()) {
      next = 0;
    }
    Active a = active.get(next);
    if (a.output == null) {
      a.output = output.createOutputForSplit(a.split.splitId());
    }
    if (a.generator.hasNext()) {
      Event e = a.generator.next();
      a.output.collect(e, e.timestamp());
      next++;
      return InputStatus.MORE_AVAILABLE;
    }
    output.releaseOutputForSplit(a.split.splitId());
    active.remove(next);
    if (active.isEmpty() && !noMoreSplits) {
      context.sendSplitRequest();
    }
    return InputStatus.MORE_AVAILABLE;
  }

  @Override
  public List<NexmarkSplit> snapshotState(long checkpointId) {
    List<NexmarkSplit> state = new ArrayList<>(active.size());
    for (Active a : active) {
      state.add(new NexmarkSplit(a.split.index, a.generator.eventsSoFar()));
    }
    return state;
  }

  @Override
  public CompletableFuture<Void> isAvailable() {
    return available;
  }

  @Override
  public void addSplits(List<NexmarkSplit> splits) {
    for (NexmarkSplit s : splits) {
      active.add(new Active(s, new NexmarkGenerator(slices.get(s.index), s.eventsSoFar)));
    }
    available.complete(null);
  }

  @Override
  public void notifyNoMoreSplits() {
    noMoreSplits = true;
    available.complete(null);
  }

  @Override
  public void close() {}
}
