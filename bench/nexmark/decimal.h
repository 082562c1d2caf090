// PutDecimal: an integer as decimal text, for the query lines of Nexmark.
//
// std::to_chars counts the digits in a loop, then writes two at a time, each pair divided off
// the rest in turn: one long chain of dependent multiplications, about 13 of them for an event
// time of 13 digits. Here a number is cut into parts of at most eight digits, and the eight
// digits of a part are found together in the bytes of one 64-bit word (two halves of four,
// each cut into pairs, each pair into digits, by multiplications that work on every lane of
// the word at once). Leading zeros are dropped by a shift, not by branches: a bid's price has
// anywhere from three to nine digits, and branching on the count mispredicted most prices.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

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

}  // namespace decimal_detail

// What PutDecimal may write, sign included: it writes whole words, past the number's end.
inline constexpr int kDecimalRoom = 21;

// Writes `v` at `at` (room for kDecimalRoom - 1 characters) and returns the end, as
// std::to_chars does.
inline char* PutDecimal(char* at, uint64_t v) {
  using namespace decimal_detail;
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

// `at` has room for kDecimalRoom characters.
inline char* PutDecimal(char* at, int64_t v) {
  if (v >= 0) return PutDecimal(at, static_cast<uint64_t>(v));
  *at++ = '-';
  return PutDecimal(at, 0 - static_cast<uint64_t>(v));  // INT64_MIN too
}

}  // namespace weir::nexmark
