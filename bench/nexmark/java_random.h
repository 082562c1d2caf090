// JavaRandom: java.util.Random's 48-bit linear congruential generator, bit for bit.
//
// The Nexmark generator draws every field of an event from a java.util.Random seeded with the
// event's id, so the C++ generator must reproduce Java's sequence exactly: the seed scrambling
// of setSeed, next(bits), and the derived nextInt(), nextInt(bound), nextLong() and
// nextDouble() with the same rejection loop and the same bit assembly (as specified in the
// java.util.Random Javadoc, unchanged through Java 17). Java's int and long arithmetic wraps;
// here it is done on unsigned integers and converted back, which is the same thing.
//
// A JavaRandom is a small value (one 64-bit word); it is not thread-safe, like Java's would be
// without its AtomicLong, and needs not be: each generator thread owns its own.
#pragma once

#include <cstdint>

namespace weir::nexmark {

class JavaRandom {
 public:
  explicit JavaRandom(int64_t seed) { SetSeed(seed); }

  // java.util.Random.setSeed: the seed is scrambled with the multiplier.
  void SetSeed(int64_t seed) { state_ = (static_cast<uint64_t>(seed) ^ kMultiplier) << 16; }

  // java.util.Random.nextInt(): 32 random bits as a signed int.
  int32_t NextInt() { return Next(32); }

  // java.util.Random.nextInt(bound), bound > 0: uniform in [0, bound). A power-of-two bound
  // takes the high bits; any other rejects the last partial run of values, so the number of
  // draws consumed varies exactly as in Java.
  int32_t NextInt(int32_t bound) {
    int32_t r = Next(31);
    const int32_t m = bound - 1;
    if ((bound & m) == 0) {
      return static_cast<int32_t>((static_cast<int64_t>(bound) * r) >> 31);
    }
    // Java: for (int u = r; u - (r = u % bound) + m < 0; u = next(31));  (int overflow wraps)
    for (int32_t u = r; !Accepts(u, bound, &r); u = Next(31)) {
    }
    return r;
  }

  // The characters of the reference's random strings (StringsGenerator.nextString), `n` of
  // them: for each, nextInt(13), and if that is not 0, nextInt(26); chars[i] becomes `zero`
  // where the first is 0, else 'a' plus the second. The state is kept in a register through the
  // loop (a JavaRandom& would be reloaded after every character stored, since a char* may point
  // into it), and each character's second state is reached from the first by a jump of two
  // steps, so the chain of multiplications is one per character. Where a draw falls in Java's
  // last, partial run of values (about once in 10^8 draws) Java's loop may draw again: then this
  // returns false having drawn nothing, and the caller draws one at a time.
  bool NextLetters(int n, char zero, char* chars) {
    // A draw u < 2^31 is rejected if u >= 2^31 / bound * bound, 2^31 - 11 for 13 and 2^31 - 24
    // for 26: then, and only then, u + 11 (u + 24) reaches bit 31.
    static_assert((uint32_t{1} << 31) / 13 * 13 == (uint32_t{1} << 31) - 11);
    static_assert((uint32_t{1} << 31) / 26 * 26 == (uint32_t{1} << 31) - 24);
    uint64_t state = state_;
    uint32_t rejected = 0;  // bit 31
#pragma GCC unroll 2
    for (int i = 0; i < n; ++i) {
      const uint64_t one = Step(state);
      const uint64_t two = StepTwice(state);
      const auto pick = static_cast<uint32_t>(Bits31(one));
      const auto letter = static_cast<uint32_t>(Bits31(two));
      // Also counts a second draw that a pick of 0 leaves unread: a needless fallback, rarely.
      rejected |= (pick + 11) | (letter + 24);
      if (pick % 13 == 0) [[unlikely]] {
        chars[i] = zero;
        state = one;
      } else {
        chars[i] = static_cast<char>('a' + letter % 26);
        state = two;
      }
    }
    if ((rejected >> 31) != 0) [[unlikely]] return false;
    state_ = state;
    return true;
  }

  // The 31 bits next(31) draws next, without drawing them (Skip draws them): for a draw that
  // is read two ways, or taken or not by a choice, without a branch on the choice (a choice
  // taken one time in two or four is a mispredicted branch as often).
  int32_t PeekNext31() const { return Bits31(Step(state_)); }
  void Skip() { state_ = Step(state_); }
  // Skips if `take`, by a mask: GCC turns `take ? next : state_` into a branch.
  void SkipIf(bool take) {
    const uint64_t next = Step(state_);
    state_ ^= (state_ ^ next) & (0 - static_cast<uint64_t>(take));
  }

  // nextInt(bound)'s result for the draw u = next(31), any bound > 0; false where Java's
  // rejection loop draws again (never for a power of two).
  static bool IntOfDraw(int32_t u, int32_t bound, int32_t* r) {
    if ((bound & (bound - 1)) == 0) {
      *r = static_cast<int32_t>((static_cast<int64_t>(bound) * u) >> 31);
      return true;
    }
    return Accepts(u, bound, r);
  }

  // java.util.Random.nextLong(): ((long) next(32) << 32) + next(32), the second half signed.
  int64_t NextLong() {
    const auto high = static_cast<uint64_t>(static_cast<int64_t>(Next(32))) << 32;
    const auto low = static_cast<uint64_t>(static_cast<int64_t>(Next(32)));
    return static_cast<int64_t>(high + low);
  }

  // java.util.Random.nextDouble(): 53 random bits scaled into [0, 1).
  double NextDouble() {
    const int64_t high = static_cast<int64_t>(Next(26)) << 27;
    const int64_t low = Next(27);
    return static_cast<double>(high + low) * 0x1.0p-53;
  }

 private:
  static constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  static constexpr uint64_t kAddend = 0xBULL;
  static constexpr uint64_t kMask = (1ULL << 48) - 1;
  // Two steps as one: s'' = M(Ms + A) + A = M^2 s + (M + 1) A (mod 2^48).
  static constexpr uint64_t kMultiplierTwice = (kMultiplier * kMultiplier) & kMask;
  static constexpr uint64_t kAddendTwice = ((kMultiplier + 1) * kAddend) & kMask;

  // The state is Java's 48-bit seed shifted to the top of the word, its low 16 bits 0. A step
  // is then a multiplication and an addition modulo 2^64, which is Java's modulo 2^48 shifted
  // (no mask after it), and a draw's top bits are one shift away.
  static int32_t Bits31(uint64_t state) { return static_cast<int32_t>(state >> 33); }
  static uint64_t Step(uint64_t state) { return state * kMultiplier + (kAddend << 16); }
  static uint64_t StepTwice(uint64_t state) {
    return state * kMultiplierTwice + (kAddendTwice << 16);
  }

  // nextInt(bound)'s test of a draw u for a bound that is not a power of two: *r = u % bound,
  // unless u falls in the last, partial run of `bound` values (Java then draws again).
  static bool Accepts(int32_t u, int32_t bound, int32_t* r) {
    *r = u % bound;
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(u) - static_cast<uint32_t>(*r) +
                                          static_cast<uint32_t>(bound - 1));
    return sum >= 0;
  }
  // java.util.Random.next(bits): advance the LCG, return its top `bits` bits as a Java int.
  int32_t Next(int bits) {
    state_ = Step(state_);
    return static_cast<int32_t>(static_cast<uint32_t>(state_ >> (64 - bits)));
  }

  uint64_t state_;
};

}  // namespace weir::nexmark
