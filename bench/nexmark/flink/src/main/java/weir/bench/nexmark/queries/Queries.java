package weir.bench.nexmark.queries;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.flink.streaming.api.datastream.DataStream;
import weir.bench.nexmark.model.Event;

/** The queries by name: each turns the event stream into its output lines. */
public final class Queries {
  private static final Map<String, Function<DataStream<Event>, DataStream<String>>> ALL =
      new LinkedHashMap<>();

  static {
    ALL.put("q0", Q0::build);
    ALL.put("q1", Q1::build);
    ALL.put("q2", Q2::build);
    ALL.put("q3", Q3::build);
    ALL.put("q4", Q4::build);
    ALL.put("q5", Q5::build);
    ALL.put("q7", Q7::build);
    ALL.put("q8", Q8::build);
    ALL.put("q11", Q11::build);
    ALL.put("q17", Q17::build);
  }

  private Queries() {}

  public static boolean exists(String name) {
    return ALL.containsKey(name);
  }

  public static Iterable<String> names() {
    return ALL.keySet();
  }

  public static DataStream<String> build(String name, DataStream<Event> events) {
    return ALL.get(name).apply(events);
  }
}
