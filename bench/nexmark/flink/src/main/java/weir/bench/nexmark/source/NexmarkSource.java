package weir.bench.nexmark.source;

import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import weir.bench.nexmark.generator.GeneratorConfig;
import weir.bench.nexmark.model.Event;

/**
 * A bounded FLIP-27 source of Nexmark events. Like the suite's source, the events are split into
 * {@code numSplits} slices (GeneratorConfig.split), each on its own timeline, and every reader
 * takes one slice; set {@code config.numEventGenerators} to {@code numSplits} (the suite sets
 * both to the source parallelism). A split's position is its event count, so the source
 * restores exactly from a checkpoint. Each slice's events are in event-time order.
 */
public final class NexmarkSource implements Source<Event, NexmarkSplit, List<NexmarkSplit>> {
  private static final long serialVersionUID = 1L;

  private final GeneratorConfig config;
  private final int numSplits;

  public NexmarkSource(GeneratorConfig config, int numSplits) {
    this.config = config.copy();
    this.numSplits = numSplits;
  }

  @Override
  public Boundedness getBoundedness() {
    return Boundedness.BOUNDED;
  }

  @Override
  public SplitEnumerator<NexmarkSplit, List<NexmarkSplit>> createEnumerator(
      SplitEnumeratorContext<NexmarkSplit> context) {
    List<NexmarkSplit> splits = new ArrayList<>();
    for (int i = 0; i < numSplits; i++) {
      splits.add(new NexmarkSplit(i, 0));
    }
    return new Enumerator(context, splits);
  }

  @Override
  public SplitEnumerator<NexmarkSplit, List<NexmarkSplit>> restoreEnumerator(
      SplitEnumeratorContext<NexmarkSplit> context, List<NexmarkSplit> checkpoint) {
    return new Enumerator(context, checkpoint);
  }

  @Override
  public SimpleVersionedSerializer<NexmarkSplit> getSplitSerializer() {
    return NexmarkSplitSerializer.INSTANCE;
  }

  @Override
  public SimpleVersionedSerializer<List<NexmarkSplit>> getEnumeratorCheckpointSerializer() {
    return new NexmarkSplitSerializer.ListSerializer();
  }

  @Override
  public SourceReader<Event, NexmarkSplit> createReader(SourceReaderContext context) {
    return new NexmarkSourceReader(context, config.split(numSplits));
  }

  /** Hands out one split per request; runs on the coordinator thread. */
  private static final class Enumerator
      implements SplitEnumerator<NexmarkSplit, List<NexmarkSplit>> {
    private final SplitEnumeratorContext<NexmarkSplit> context;
    private final LinkedList<NexmarkSplit> unassigned;

    Enumerator(SplitEnumeratorContext<NexmarkSplit> context, List<NexmarkSplit> splits) {
      this.context = context;
      this.unassigned = new LinkedList<>(splits);
    }

    @Override
    public void start() {}

    @Override
    public void handleSplitRequest(int subtask, String hostname) {
      if (!context.registeredReaders().containsKey(subtask)) {
        return;  // the reader failed since it asked
      }
      NexmarkSplit split = unassigned.pollFirst();
      if (split != null) {
        context.assignSplit(split, subtask);
      } else {
        context.signalNoMoreSplits(subtask);
      }
    }

    @Override
    public void addSplitsBack(List<NexmarkSplit> splits, int subtask) {
      unassigned.addAll(splits);
    }

    @Override
    public void addReader(int subtask) {}

    @Override
    public List<NexmarkSplit> snapshotState(long checkpointId) {
      return new ArrayList<>(unassigned);
    }

    @Override
    public void close() {}
  }
}
