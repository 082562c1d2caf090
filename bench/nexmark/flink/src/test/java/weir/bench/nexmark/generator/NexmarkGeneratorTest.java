package weir.bench.nexmark.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import weir.bench.nexmark.model.CanonicalJson;
import weir.bench.nexmark.model.Event;

/**
 * The Java generator against the Nexmark suite's own generator: the same expectations as the C++
 * test MatchesTheReferenceGenerator (bench/nexmark/nexmark_generator_test.cc), which says how
 * they were obtained.
 */
class NexmarkGeneratorTest {
  @Test
  void matchesTheReferenceGenerator() {
    GeneratorConfig config = new GeneratorConfig();
    config.firstEventRate = 10_000_000;
    config.maxEvents = 10_000;
    NexmarkGenerator g = new NexmarkGenerator(config);
    StringBuilder text = new StringBuilder();
    String firstPerson = null;
    while (g.hasNext()) {
      Event e = g.next();
      int before = text.length();
      CanonicalJson.append(e, text);
      if (e.type == Event.PERSON && firstPerson == null) {
        firstPerson = text.substring(before);
      }
    }
    assertEquals(
        "{\"type\":\"person\",\"id\":1001,\"name\":\"Sarah Smith\",\"emailAddress\":"
            + "\"f  y@yumv.com\",\"creditCard\":\"0892 2755 1923 0591\",\"city\":\"Los Angeles\","
            + "\"state\":\"ID\",\"dateTime\":1436918400000,\"extra\":\"`RST_^KaHTMLXH_ceknqovsvzb"
            + "gapncqkQ[H]N]QPZWKQRXXQaMOVNZWSgsipamVRa[N_IUPZL]LR\\\\]LLNWLNXKNOVZ]Zagjthoqmbrhq`W]XOQRL"
            + "YYS[jbqivsa^RYMWZY^QVJRNWTTKMSS[[J\\\\JXI_O\"}\n",
        firstPerson);
    long fnv1a = 0xcbf29ce484222325L;
    for (int i = 0; i < text.length(); i++) {
      fnv1a = (fnv1a ^ text.charAt(i)) * 0x100000001b3L;
    }
    assertEquals(0x030668c181081f1cL, fnv1a);
  }

  @Test
  void eventKIsAPureFunctionOfK() {
    GeneratorConfig config = new GeneratorConfig();
    config.maxEvents = 2_000;
    NexmarkGenerator sequential = new NexmarkGenerator(config);
    NexmarkGenerator resumed = new NexmarkGenerator(config, 1_000);
    for (int k = 0; k < 1_000; k++) {
      sequential.next();
    }
    while (resumed.hasNext()) {
      StringBuilder a = new StringBuilder();
      StringBuilder b = new StringBuilder();
      CanonicalJson.append(sequential.next(), a);
      CanonicalJson.append(resumed.next(), b);
      assertEquals(a.toString(), b.toString());
    }
  }

  @Test
  void splitsLikeTheReference() {
    GeneratorConfig config = new GeneratorConfig();
    config.maxEvents = 1003;
    config.numEventGenerators = 4;
    long nextId = config.firstEventId;
    int i = 0;
    for (GeneratorConfig slice : config.split(4)) {
      assertEquals(nextId, slice.firstEventId);
      assertEquals(i < 3 ? 250 : 253, slice.maxEvents);
      nextId += slice.maxEvents;
      i++;
    }
    // Four generators share the default 10,000 events/s: 400 us between one slice's events.
    assertEquals(400.0, config.interEventDelayUs(), 1e-9);
  }
}
