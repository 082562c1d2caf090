package weir.bench.nexmark.source;

import org.apache.flink.api.connector.source.SourceSplit;

/**
 * One slice of the Nexmark stream (GeneratorConfig.split) and how far a reader has got in it.
 * The slice itself is recomputed from the source's config and the index, so a split is two
 * numbers.
 */
public final class NexmarkSplit implements SourceSplit {
  final int index;
  final long eventsSoFar;

  NexmarkSplit(int index, long eventsSoFar) {
    this.index = index;
    this.eventsSoFar = eventsSoFar;
  }

  @Override
  public String splitId() {
    return Integer.toString(index);
  }

  @Override
  public String toString() {
    return "NexmarkSplit{" + index + " at " + eventsSoFar + "}";
  }
}
