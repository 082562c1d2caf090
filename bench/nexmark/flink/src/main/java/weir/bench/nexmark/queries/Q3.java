package weir.bench.nexmark.queries;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import weir.bench.nexmark.model.Auction;
import weir.bench.nexmark.model.Event;
import weir.bench.nexmark.model.Person;

/**
 * q3, local item suggestion: who sells in category 10 from Oregon, Idaho or California.
 *
 * <pre>
 * SELECT P.name, P.city, P.state, A.id FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
 * WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
 * </pre>
 *
 * An unwindowed (regular) join, so incremental: auctions and persons are filtered, keyed by the
 * seller / person id, and joined in keyed state. A person id occurs once in the stream, so the
 * person is kept and auctions that come before their seller wait in a list until the seller
 * arrives (a seller may be picked a few ids ahead of the newest person, or be a person of another
 * generator's slice); that gives the regular join's output with less state. Line:
 * {@code name,city,state,id}.
 */
public final class Q3 {
  private Q3() {}

  public static DataStream<String> build(DataStream<Event> events) {
    DataStream<Auction> auctions =
        Streams.auctions(events).filter(new Category10()).name("q3-category-10");
    DataStream<Person> persons =
        Streams.persons(events).filter(new WesternStates()).name("q3-or-id-ca");
    return auctions
        .keyBy(a -> a.seller)
        .connect(persons.keyBy(p -> p.id))
        .process(new Join())
        .name("q3-join")
        .uid("q3-join");
  }

  private static final class Category10 implements FilterFunction<Auction> {
    @Override
    public boolean filter(Auction a) {
      return a.category == 10;
    }
  }

  private static final class WesternStates implements FilterFunction<Person> {
    @Override
    public boolean filter(Person p) {
      return p.state.equals("OR") || p.state.equals("ID") || p.state.equals("CA");
    }
  }

  /** Keyed by person id; state: the person (name, city, state) and the auctions waiting for it. */
  static final class Join extends KeyedCoProcessFunction<Long, Auction, Person, String> {
    private transient ValueState<Person> person;
    private transient ListState<Long> waitingAuctions;

    @Override
    public void open(OpenContext openContext) {
      person = getRuntimeContext().getState(new ValueStateDescriptor<>("person", Person.class));
      waitingAuctions =
          getRuntimeContext().getListState(new ListStateDescriptor<>("waiting-auctions", Types.LONG));
    }

    @Override
    public void processElement1(Auction a, Context ctx, Collector<String> out) throws Exception {
      Person p = person.value();
      if (p != null) {
        out.collect(line(p, a.id));
      } else {
        waitingAuctions.add(a.id);
      }
    }

    @Override
    public void processElement2(Person p, Context ctx, Collector<String> out) throws Exception {
      Person kept = new Person();
      kept.id = p.id;
      kept.name = p.name;
      kept.city = p.city;
      kept.state = p.state;
      person.update(kept);
      Iterable<Long> waiting = waitingAuctions.get();
      if (waiting != null) {
        for (Long id : waiting) {
          out.collect(line(kept, id));
        }
      }
      waitingAuctions.clear();
    }

    private static String line(Person p, long auctionId) {
      return p.name + "," + p.city + "," + p.state + "," + auctionId;
    }
  }
}
