#include "java_random.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

// The expected values were printed by java.util.Random on OpenJDK 17.0.15 (Debian 12), with a
// single-file program run as `java JavaRandomValues.java`, e.g.
//   Random r = new Random(0); r.nextInt(); ...                 (nextInt())
//   Random r = new Random(7); r.nextInt(13); ...               (nextInt(bound))
//   String.format("0x%016x", Double.doubleToRawLongBits(r.nextDouble()))
// and pasted here by hand. They pin the generator's randomness to Java's bit for bit.

namespace weir::nexmark {
namespace {

std::vector<int32_t> Ints(int64_t seed, int n) {
  JavaRandom r(seed);
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(r.NextInt());
  return v;
}

std::vector<int32_t> Bounded(int64_t seed, int32_t bound, int n) {
  JavaRandom r(seed);
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(r.NextInt(bound));
  return v;
}

TEST(JavaRandomTest, NextIntMatchesJava) {
  EXPECT_EQ(Ints(0, 4), (std::vector<int32_t>{-1155484576, -723955400, 1033096058, -1690734402}));
  EXPECT_EQ(Ints(42, 4), (std::vector<int32_t>{-1170105035, 234785527, -1360544799, 205897768}));
  EXPECT_EQ(Ints(-1, 4), (std::vector<int32_t>{1155099827, 1887904451, 52699159, -1941176418}));
  EXPECT_EQ(Ints(1234567890123, 4),
            (std::vector<int32_t>{-8722476, -1977939436, -999828940, -741339138}));
  // Only the low 48 bits of a seed count: Long.MIN_VALUE seeds like 0.
  EXPECT_EQ(Ints(INT64_MIN, 4), Ints(0, 4));
}

TEST(JavaRandomTest, NextIntBoundMatchesJava) {
  using V = std::vector<int32_t>;
  EXPECT_EQ(Bounded(7, 1, 6), (V{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Bounded(7, 2, 6), (V{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(Bounded(7, 5, 6), (V{1, 4, 0, 4, 0, 4}));
  EXPECT_EQ(Bounded(7, 13, 6), (V{3, 12, 3, 10, 8, 0}));
  EXPECT_EQ(Bounded(7, 26, 6), (V{16, 12, 3, 10, 8, 0}));
  EXPECT_EQ(Bounded(7, 100, 6), (V{36, 64, 85, 44, 80, 54}));
  // A power of two takes the high bits instead of the remainder.
  EXPECT_EQ(Bounded(7, 1 << 20, 6), (V{766193, 669555, 785561, 10096, 365229, 514436}));
  EXPECT_EQ(Bounded(7, 1048570, 6), (V{503516, 768174, 323105, 755214, 358970, 801974}));
  EXPECT_EQ(Bounded(7, 1000000007, 6),
            (V{569164229, 371249157, 608829478, 20678044, 747989380, 53566247}));
  // 2^30 + 1 rejects almost half of the draws: the first three draws of seed 7 are rejected,
  // so the rejection loop and its int overflow test must be Java's.
  EXPECT_EQ(Bounded(7, (1 << 30) + 1, 6),
            (V{20678044, 747989380, 1053566254, 755731200, 259278708, 542588911}));
  EXPECT_EQ(Bounded(7, INT32_MAX, 6),
            (V{1569164236, 1371249164, 1608829485, 20678044, 747989380, 1053566254}));
}

TEST(JavaRandomTest, NextLongMatchesJava) {
  JavaRandom r(99);
  EXPECT_EQ(r.NextLong(), -5119754439980850796);
  EXPECT_EQ(r.NextLong(), 6405706891948209991);
  EXPECT_EQ(r.NextLong(), -3400242696512574491);
  EXPECT_EQ(r.NextLong(), -2452666622591035891);
}

TEST(JavaRandomTest, NextDoubleMatchesJavaBitForBit) {
  JavaRandom r(99);
  EXPECT_EQ(std::bit_cast<uint64_t>(r.NextDouble()), 0x3fe71e5f4b1db30cULL);
  EXPECT_EQ(std::bit_cast<uint64_t>(r.NextDouble()), 0x3fd639691b5d8374ULL);
  EXPECT_EQ(std::bit_cast<uint64_t>(r.NextDouble()), 0x3fea19fd2b22035fULL);
  EXPECT_EQ(std::bit_cast<uint64_t>(r.NextDouble()), 0x3febbecc14c008b0ULL);
}

TEST(JavaRandomTest, MixedSequenceMatchesJava) {
  // The kind of interleaving one bid does: bounded ints, a double, a long, an int.
  JavaRandom r(1000);
  EXPECT_EQ(r.NextInt(2), 1);
  EXPECT_EQ(r.NextInt(4), 0);
  EXPECT_EQ(r.NextInt(1010), 386);
  EXPECT_EQ(std::bit_cast<uint64_t>(r.NextDouble()), 0x3fdd755c2f24887aULL);
  EXPECT_EQ(r.NextLong(), 293813120841187890);
  EXPECT_EQ(r.NextInt(), -735843605);
}

TEST(JavaRandomTest, SetSeedRestartsTheSequence) {
  JavaRandom r(5);
  const int32_t first = r.NextInt();
  r.NextInt();
  r.SetSeed(5);
  EXPECT_EQ(r.NextInt(), first);
}

// A character of the reference's random strings, the way it draws: nextInt(13), then
// nextInt(26) unless the first was 0.
int32_t OneAfterTheOther(JavaRandom& r) {
  if (r.NextInt(13) == 0) return -1;
  return r.NextInt(26);
}

// `n` characters through NextLetters, falling back where it declines: -1 for a pick of 0.
std::vector<int32_t> AllAtOnce(JavaRandom& r, int n, int* declined) {
  std::string chars(static_cast<size_t>(n), '?');
  std::vector<int32_t> out;
  if (!r.NextLetters(n, '\0', chars.data())) {
    ++*declined;
    for (int i = 0; i < n; ++i) out.push_back(OneAfterTheOther(r));
    return out;
  }
  for (char c : chars) out.push_back(c == '\0' ? -1 : c - 'a');
  return out;
}

std::vector<int32_t> OneAfterAnother(JavaRandom& r, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(OneAfterTheOther(r));
  return out;
}

// java.util.Random's step backwards, and the constructor argument that starts at a state.
constexpr uint64_t kM = 0x5DEECE66DULL, kA = 0xB, kMask = (1ULL << 48) - 1;
uint64_t StepBack(uint64_t state) {
  uint64_t inverse = kM;  // Newton's iteration for 1/M modulo 2^64 (M is odd)
  for (int i = 0; i < 6; ++i) inverse *= 2 - kM * inverse;
  return ((state - kA) * inverse) & kMask;
}
int64_t SeedStartingAt(uint64_t state) { return static_cast<int64_t>(state ^ kM); }

// next(31) of a state is its top 31 bits.
uint64_t StateDrawing(int32_t u, uint64_t low_bits) {
  return (static_cast<uint64_t>(u) << 17) | (low_bits & 0x1FFFF);
}

TEST(JavaRandomTest, LettersAtOnceAreTheIntsOneAfterTheOther) {
  int declined = 0;
  for (int64_t seed = 0; seed < 20'000; ++seed) {
    for (int64_t s : {seed, seed * 7919 - 3}) {
      JavaRandom one_by_one(s), together(s);
      for (int n : {0, 1, 7, 40}) {
        ASSERT_EQ(AllAtOnce(together, n, &declined), OneAfterAnother(one_by_one, n))
            << "seed " << s << ", " << n << " characters";
      }
      ASSERT_EQ(together.NextInt(), one_by_one.NextInt()) << "seed " << s;
    }
  }
  EXPECT_EQ(declined, 0) << "Java rejects about one draw in 10^8";

  // Draws Java rejects: 2^31 - 1 lies in the last, partial run of 13 and of 26 values.
  constexpr int32_t kRejected = 0x7FFFFFFF;
  // The first draw rejected.
  const uint64_t first_rejected = StepBack(StateDrawing(kRejected, 0));
  // The second rejected, after a first that is kept and not 0 (so the second is taken).
  uint64_t second_rejected = 0;
  for (uint64_t low = 0;; ++low) {
    const uint64_t before_second = StepBack(StateDrawing(kRejected, low));
    const auto u = static_cast<int32_t>(before_second >> 17);
    if (u % 13 != 0 && u < 0x7FFFFFF0) {
      second_rejected = StepBack(before_second);
      break;
    }
  }
  // Two draws before the first rejected one: the third draw is looked at, whichever character
  // it falls in.
  const uint64_t third_rejected = StepBack(StepBack(first_rejected));
  for (uint64_t state : {first_rejected, second_rejected, third_rejected}) {
    const int before = declined;
    JavaRandom one_by_one(SeedStartingAt(state)), together(SeedStartingAt(state));
    ASSERT_EQ(AllAtOnce(together, 3, &declined), OneAfterAnother(one_by_one, 3));
    EXPECT_EQ(declined, before + 1) << "Java draws again here: NextLetters must decline";
    ASSERT_EQ(together.NextInt(), one_by_one.NextInt());
  }
}

}  // namespace
}  // namespace weir::nexmark
