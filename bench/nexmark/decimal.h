// PutDecimal: an integer as decimal text, for the query lines of Nexmark.
//
// std::to_chars counts the digits in a loop, then writes two at a time, each pair divided off
// the rest in turn: one long chain of dependent multiplications, about 13 of them for an event
// time of 13 digits. Here a number below 10^16 (every number of a Nexmark line) is cut into
// two halves of eight digits, and the sixteen digits are found together in the lanes of one
// SSE2 register: each half cut into two parts of four, each part into two pairs, each pair
// into two digits, each cut one multiplication for every lane at once. Leading zeros are
// dropped by where the text is copied from, not by branches: a bid's price has anywhere from
// three to nine digits, and branching on the count mispredicted most prices. Larger numbers,
// and machines without SSE2, take the same cuts in the bytes of 64-bit words, eight digits at
// a time.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace weir::nexmark {
namespace decimal_detail {

static_assert(std::endian::native == std::endian::little,
              "DigitBytes puts the first digit in the lowest byte, first in memory");

// The eight decimal digits of v < 10^8, one per byte (values 0 to 9), the most significant
// in the lowest byte: the order they have in memory, little-endian.
inline uint64_t DigitBytes(uint32_t v) {
  const uint32_t high = v / 10000;
  // Lanes of 32 bits: [high, low], each below 10^4.
  uint64_t x = high | (static_cast<uint64_t>(v - high * 10000) << 32);
  // Each lane's hundreds: y / 100 is (y * 5243) >> 19 for y < 43699 (no lane spills).
  const uint64_t hundreds = ((x * 5243) >> 19) & 0x0000007F0000007FULL;
  // Lanes of 16 bits: [h / 100, h % 100, l / 100, l % 100], each below 100.
  x = hundreds | ((x - hundreds * 100) << 16);
  // Each lane's tens: y / 10 is (y * 103) >> 10 for y < 179.
  const uint64_t tens = ((x * 103) >> 10) & 0x000F000F000F000FULL;
  return tens | ((x - tens * 10) << 8);
}

inline constexpr uint64_t kZeros = 0x3030303030303030ULL;  // '0' in every byte

// Exactly eight digits of v < 10^8.
inline void Put8(char* at, uint32_t v) {
  const uint64_t text = DigitBytes(v) + kZeros;
  std::memcpy(at, &text, 8);
}

// v < 10^8 without leading zeros (one digit for 0). Writes eight bytes at `at`.
inline char* PutUpTo8(char* at, uint32_t v) {
  const uint64_t digits = DigitBytes(v);
  // Leading zero digits are the low zero bytes: at most seven, so 0 keeps its last digit.
  const int leading = __builtin_ctzll(digits | (uint64_t{1} << 56)) / 8;
  const uint64_t text = (digits + kZeros) >> (8 * leading);
  std::memcpy(at, &text, 8);
  return at + 8 - leading;
}

#if defined(__SSE2__)
// `v`, which the compiler no longer knows as a constant: a multiplication by it stays one
// instruction, where GCC would otherwise make shifts and adds of it, several instructions.
inline __m128i Opaque(__m128i v) {
  asm("" : "+x"(v));
  return v;
}

// The text of v < 10^16: sixteen digit characters, `leading` of them leading zeros (at most
// fifteen: 0 keeps its last digit).
struct SixteenDigits {
  __m128i text;
  int leading;
};

[[gnu::always_inline]] inline SixteenDigits DigitsOf(uint64_t v) {
  constexpr uint64_t k8 = 100'000'000;
  const uint64_t high = v / k8;
  // 64-bit lanes [high, low], each below 10^8: the most significant first, as in memory.
  const __m128i halves = _mm_set_epi64x(static_cast<int64_t>(v - high * k8),
                                        static_cast<int64_t>(high));
  // Each half / 10^4: (y * 0xD1B71759) >> 45 for any y < 2^32 (as compilers divide).
  const __m128i quarters_high =
      _mm_srli_epi64(_mm_mul_epu32(halves, _mm_set1_epi32(static_cast<int>(0xD1B71759u))), 45);
  const __m128i quarters_low =
      _mm_sub_epi64(halves, _mm_mul_epu32(quarters_high, _mm_set1_epi32(10'000)));
  // 32-bit lanes [h / 10^4, h % 10^4, l / 10^4, l % 10^4], each below 10^4 (so its upper 16
  // bits are 0).
  const __m128i quarters = _mm_or_si128(quarters_high, _mm_slli_epi64(quarters_low, 32));
  // Each quarter's hundreds: y / 100 is (y * 5243) >> 19 for y < 43699.
  const __m128i hundreds = _mm_srli_epi16(_mm_mulhi_epu16(quarters, _mm_set1_epi16(5243)), 3);
  const __m128i below_hundred =
      _mm_sub_epi16(quarters, _mm_mullo_epi16(hundreds, Opaque(_mm_set1_epi16(100))));
  // 16-bit lanes: the eight pairs of digits in order, each below 100.
  const __m128i pairs = _mm_or_si128(hundreds, _mm_slli_epi32(below_hundred, 16));
  // Each pair's tens: y / 10 is (y * 6554) >> 16 for y < 16384.
  const __m128i tens = _mm_mulhi_epu16(pairs, _mm_set1_epi16(6554));
  // Bytes: the sixteen digits in order (values 0 to 9). A pair 10t + u as the bytes [t, u] is
  // t + 256u = 256 (10t + u) - 2559t, in each 16-bit lane.
  const __m128i digits = _mm_sub_epi16(_mm_slli_epi16(pairs, 8),
                                       _mm_mullo_epi16(tens, Opaque(_mm_set1_epi16(2559))));
  const auto zeros = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(digits, _mm_setzero_si128())));
  return {_mm_add_epi8(digits, _mm_set1_epi8('0')), std::countr_zero(~zeros | 0x8000u)};
}

// v < 10^16 without leading zeros. Writes 16 bytes at `at`.
[[gnu::always_inline]] inline char* PutUpTo16(char* at, uint64_t v) {
  const SixteenDigits d = DigitsOf(v);
  // The text after the zeros: through memory, since SSE2 shifts a register only by a constant.
  alignas(16) char text[32];
  _mm_store_si128(reinterpret_cast<__m128i*>(text), d.text);
  _mm_store_si128(reinterpret_cast<__m128i*>(text + 16), _mm_setzero_si128());
  std::memcpy(at, text + d.leading, 16);
  return at + 16 - d.leading;
}

// v < 10^16 without leading zeros, ending just before `end`: the 16 bytes before it are
// written, the zeros before the number's start too, and no shift is needed.
[[gnu::always_inline]] inline char* PutUpTo16Before(char* end, uint64_t v) {
  const SixteenDigits d = DigitsOf(v);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(end - 16), d.text);
  return end - 16 + d.leading;
}
#endif

// Numbers of 17 digits and more, and any on a machine without SSE2: in parts of eight.
inline char* PutInEights(char* at, uint64_t v) {
  constexpr uint64_t k8 = 100'000'000;
  if (v < k8) return PutUpTo8(at, static_cast<uint32_t>(v));
  if (v < k8 * k8) {
    at = PutUpTo8(at, static_cast<uint32_t>(v / k8));
    Put8(at, static_cast<uint32_t>(v % k8));
    return at + 8;
  }
  at = PutUpTo8(at, static_cast<uint32_t>(v / (k8 * k8)));  // at most 1844: four digits
  const uint64_t rest = v % (k8 * k8);
  Put8(at, static_cast<uint32_t>(rest / k8));
  Put8(at + 8, static_cast<uint32_t>(rest % k8));
  return at + 16;
}

// Out of line: the call stays out of the lines' formatting, where no number is this large.
[[gnu::noinline, gnu::cold]] inline char* PutLarge(char* at, uint64_t v) {
  return PutInEights(at, v);
}

[[gnu::noinline, gnu::cold]] inline char* PutLargeBefore(char* end, uint64_t v) {
  char text[20];
  const auto size = static_cast<size_t>(PutInEights(text, v) - text);
  std::memcpy(end - size, text, size);
  return end - size;
}

}  // namespace decimal_detail

// What PutDecimal may write, sign included: it writes whole words, past the number's end.
inline constexpr int kDecimalRoom = 21;

// Writes `v` at `at` (room for kDecimalRoom - 1 characters) and returns the end, as
// std::to_chars does.
[[gnu::always_inline]] inline char* PutDecimal(char* at, uint64_t v) {
  using namespace decimal_detail;
#if defined(__SSE2__)
  if (v < 10'000'000'000'000'000ULL) [[likely]] return PutUpTo16(at, v);
  return PutLarge(at, v);
#else
  return PutInEights(at, v);
#endif
}

// `at` has room for kDecimalRoom characters.
[[gnu::always_inline]] inline char* PutDecimal(char* at, int64_t v) {
  if (v >= 0) return PutDecimal(at, static_cast<uint64_t>(v));
  *at++ = '-';
  return PutDecimal(at, 0 - static_cast<uint64_t>(v));  // INT64_MIN too
}

// The same text written backward, for text put together from its end: `v` ends just before
// `end`, and the start is returned. Writes up to kDecimalRoom characters before `end` (whole
// words, before the number's start) and nothing at or after it.
[[gnu::always_inline]] inline char* PutDecimalBefore(char* end, uint64_t v) {
  using namespace decimal_detail;
#if defined(__SSE2__)
  if (v < 10'000'000'000'000'000ULL) [[likely]] return PutUpTo16Before(end, v);
#endif
  return PutLargeBefore(end, v);
}

[[gnu::always_inline]] inline char* PutDecimalBefore(char* end, int64_t v) {
  if (v >= 0) return PutDecimalBefore(end, static_cast<uint64_t>(v));
  char* start = PutDecimalBefore(end, 0 - static_cast<uint64_t>(v));
  *--start = '-';
  return start;
}

}  // namespace weir::nexmark
