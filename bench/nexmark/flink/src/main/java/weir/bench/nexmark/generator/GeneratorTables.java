package weir.bench.nexmark.generator;

import java.util.Random;

/**
 * The string rules of the Nexmark generator and the tables it draws from: the 1 MiB pool the
 * "extra" strings are cut from, the four hot-channel URLs and the 10,000 channel URLs. The
 * reference draws the tables from an unseeded SplittableRandom when its classes load; here, as
 * in the C++ twin, from java.util.Random with fixed seeds, so every run and both engines agree.
 */
final class GeneratorTables {
  static final int NUM_CHANNELS = 10_000;
  private static final int MIN_STRING_LENGTH = 3;
  private static final int EXTRA_POOL_LENGTH = 1024 * 1024;
  private static final long EXTRA_POOL_SEED = 0;
  private static final long CHANNEL_TABLE_SEED = 1;

  static final String EXTRA_POOL = exactStringSlow(new Random(EXTRA_POOL_SEED), EXTRA_POOL_LENGTH);
  static final String[] HOT_URLS = new String[4];
  static final String[] CHANNEL_NAMES = new String[NUM_CHANNELS];
  static final String[] CHANNEL_URLS = new String[NUM_CHANNELS];

  static {
    Random random = new Random(CHANNEL_TABLE_SEED);
    for (int i = 0; i < HOT_URLS.length; i++) {
      HOT_URLS[i] = baseUrl(random);
    }
    for (int i = 0; i < NUM_CHANNELS; i++) {
      String url = baseUrl(random);
      if (random.nextInt(10) > 0) {
        url = url + "&channel_id=" + Math.abs(Integer.reverse(i));
      }
      CHANNEL_NAMES[i] = "channel-" + i;
      CHANNEL_URLS[i] = url;
    }
  }

  private GeneratorTables() {}

  /** 3 to maxLength-1 lowercase letters or, one in 13, {@code special}; then trimmed. */
  static String nextString(Random random, int maxLength, char special) {
    int len = MIN_STRING_LENGTH + random.nextInt(maxLength - MIN_STRING_LENGTH);
    StringBuilder sb = new StringBuilder(len);
    while (len-- > 0) {
      if (random.nextInt(13) == 0) {
        sb.append(special);
      } else {
        sb.append((char) ('a' + random.nextInt(26)));
      }
    }
    return sb.toString().trim();
  }

  /** A random slice of the pool of exactly {@code length} characters. */
  static String nextExactString(Random random, int length) {
    if (length < EXTRA_POOL.length() / 2) {
      int offset = random.nextInt(EXTRA_POOL.length() - length);
      return EXTRA_POOL.substring(offset, offset + length);
    }
    return exactStringSlow(random, length);
  }

  /** Padding such that currentSize plus its length averages desiredAverageSize. */
  static String nextExtra(Random random, int currentSize, int desiredAverageSize) {
    if (currentSize > desiredAverageSize) {
      return "";
    }
    desiredAverageSize -= currentSize;
    int delta = (int) Math.round(desiredAverageSize * 0.2);
    int minSize = desiredAverageSize - delta;
    int desiredSize = minSize + (delta == 0 ? 0 : random.nextInt(2 * delta));
    return nextExactString(random, desiredSize);
  }

  // Six characters from each nextInt(); a negative int gives characters below 'a', as upstream.
  private static String exactStringSlow(Random random, int length) {
    StringBuilder sb = new StringBuilder(length);
    int rnd = 0;
    int n = 0;
    while (length-- > 0) {
      if (n == 0) {
        rnd = random.nextInt();
        n = 6;
      }
      sb.append((char) ('a' + rnd % 26));
      rnd /= 26;
      n--;
    }
    return sb.toString();
  }

  private static String baseUrl(Random random) {
    return "https://www.nexmark.com/"
        + nextString(random, 5, '_')
        + '/'
        + nextString(random, 5, '_')
        + '/'
        + nextString(random, 5, '_')
        + '/'
        + "item.htm?query=1";
  }
}
