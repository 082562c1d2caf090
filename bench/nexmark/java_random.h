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
  void SetSeed(int64_t seed) { seed_ = (static_cast<uint64_t>(seed) ^ kMultiplier) & kMask; }

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

  // Two draws of nextInt at once, for a loop that usually takes both: the two seeds ahead are
  // computed side by side from the current one (the second by a jump of two steps), so the
  // second multiplication does not wait for the first. Sets *first to nextInt(first_bound)
  // and returns true; and, if `take_second(*first)`, *second to the nextInt(second_bound) after
  // it. Both bounds are not powers of two. Where Java's rejection loop would draw again (about
  // once in 2^31 / bound draws) it returns false having drawn nothing: draw with NextInt then.
  template <typename TakeSecond>
  bool NextTwoInts(int32_t first_bound, int32_t second_bound, TakeSecond take_second,
                   int32_t* first, int32_t* second) {
    const uint64_t one = Step(seed_);
    const uint64_t two = (seed_ * kMultiplierTwice + kAddendTwice) & kMask;
    if (!AcceptsBelowLimit(Bits31(one), first_bound, first)) return false;
    if (!take_second(*first)) {
      seed_ = one;
      return true;
    }
    if (!AcceptsBelowLimit(Bits31(two), second_bound, second)) return false;
    seed_ = two;
    return true;
  }

  // The 31 bits next(31) draws next, without drawing them (Skip draws them): for a draw that
  // is read two ways, or taken or not by a choice, without a branch on the choice (a choice
  // taken one time in two or four is a mispredicted branch as often).
  int32_t PeekNext31() const { return Bits31(Step(seed_)); }
  void Skip() { seed_ = Step(seed_); }
  // Skips if `take`, by a mask: GCC turns `take ? next : seed_` into a branch.
  void SkipIf(bool take) {
    const uint64_t next = Step(seed_);
    seed_ ^= (seed_ ^ next) & (0 - static_cast<uint64_t>(take));
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

  static int32_t Bits31(uint64_t seed) { return static_cast<int32_t>(seed >> 17); }
  static uint64_t Step(uint64_t seed) { return (seed * kMultiplier + kAddend) & kMask; }

  // nextInt(bound)'s test of a draw u for a bound that is not a power of two: *r = u % bound,
  // unless u falls in the last, partial run of `bound` values (Java then draws again).
  static bool Accepts(int32_t u, int32_t bound, int32_t* r) {
    *r = u % bound;
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(u) - static_cast<uint32_t>(*r) +
                                          static_cast<uint32_t>(bound - 1));
    return sum >= 0;
  }
  // The same test for a bound known when compiled: Java accepts u unless it falls in the last,
  // partial run of `bound` values, that is if u < (2^31 / bound) * bound, which then folds to
  // a constant (and does not wait for the remainder).
  static bool AcceptsBelowLimit(int32_t u, int32_t bound, int32_t* r) {
    *r = u % bound;
    return static_cast<int64_t>(u) < ((int64_t{1} << 31) / bound) * bound;
  }

  // java.util.Random.next(bits): advance the LCG, return its top `bits` bits as a Java int.
  int32_t Next(int bits) {
    seed_ = Step(seed_);
    return static_cast<int32_t>(static_cast<uint32_t>(seed_ >> (48 - bits)));
  }

  uint64_t seed_;
};

}  // namespace weir::nexmark
