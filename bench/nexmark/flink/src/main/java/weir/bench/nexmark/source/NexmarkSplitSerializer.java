package weir.bench.nexmark.source;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Serializers of one split and of the enumerator's list of unassigned splits. */
final class NexmarkSplitSerializer implements SimpleVersionedSerializer<NexmarkSplit> {
  static final NexmarkSplitSerializer INSTANCE = new NexmarkSplitSerializer();

  @Override
  public int getVersion() {
    return 1;
  }

  @Override
  public byte[] serialize(NexmarkSplit split) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(12);
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(split.index);
    out.writeLong(split.eventsSoFar);
    out.flush();
    return bytes.toByteArray();
  }

  @Override
  public NexmarkSplit deserialize(int version, byte[] serialized) throws IOException {
    if (version != 1) {
      throw new IOException("unknown Nexmark split version " + version);
    }
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized));
    return new NexmarkSplit(in.readInt(), in.readLong());
  }

  /** The enumerator's state: the splits not yet handed to a reader. */
  static final class ListSerializer implements SimpleVersionedSerializer<List<NexmarkSplit>> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(List<NexmarkSplit> splits) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(splits.size());
      for (NexmarkSplit s : splits) {
        out.writeInt(s.index);
        out.writeLong(s.eventsSoFar);
      }
      out.flush();
      return bytes.toByteArray();
    }

    @Override
    public List<NexmarkSplit> deserialize(int version, byte[] serialized) throws IOException {
      if (version != 1) {
        throw new IOException("unknown Nexmark enumerator state version " + version);
      }
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized));
      int n = in.readInt();
      List<NexmarkSplit> splits = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        splits.add(new NexmarkSplit(in.readInt(), in.readLong()));
      }
      return splits;
    }
  }
}
