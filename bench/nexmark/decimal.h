// PutDecimal: an integer as decimal text, for the query lines of Nexmark.
//
// std::to_chars counts the digits in a loop, then writes two at a time, each pair divided off
// the rest in turn: one long chain of dependent multiplications, about 13 of them for an event
// time of 13 digits. Here a number is cut into parts of at most eight digits and each part
// into two halves of four, whose digits are looked up two at a time: short chains that run
// side by side.
#pragma once

#include <cstdint>
#include <cstring>

namespace weir::nexmark {
namespace decimal_detail {

inline constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline void Put2(char* at, uint32_t v) { std::memcpy(at, kPairs + 2 * v, 2); }

// Exactly four digits of v < 10^4.
inline void Put4(char* at, uint32_t v) {
  Put2(at, v / 100);
  Put2(at + 2, v % 100);
}

// Exactly eight digits of v < 10^8.
inline void Put8(char* at, uint32_t v) {
  Put4(at, v / 10000);
  Put4(at + 4, v % 10000);
}

// v < 10^4 without leading zeros.
inline char* PutUpTo4(char* at, uint32_t v) {
  if (v < 100) {
    if (v < 10) {
      *at = static_cast<char>('0' + v);
      return at + 1;
    }
    Put2(at, v);
    return at + 2;
  }
  if (v < 1000) {
    *at = static_cast<char>('0' + v / 100);
    Put2(at + 1, v % 100);
    return at + 3;
  }
  Put4(at, v);
  return at + 4;
}

// v < 10^8 without leading zeros.
inline char* PutUpTo8(char* at, uint32_t v) {
  if (v < 10000) return PutUpTo4(at, v);
  at = PutUpTo4(at, v / 10000);
  Put4(at, v % 10000);
  return at + 4;
}

}  // namespace decimal_detail

// Writes `v` at `at` (room for 20 characters) and returns the end, as std::to_chars does.
inline char* PutDecimal(char* at, uint64_t v) {
  using namespace decimal_detail;
  constexpr uint64_t k8 = 100'000'000;
  if (v < k8) return PutUpTo8(at, static_cast<uint32_t>(v));
  if (v < k8 * k8) {
    at = PutUpTo8(at, static_cast<uint32_t>(v / k8));
    Put8(at, static_cast<uint32_t>(v % k8));
    return at + 8;
  }
  at = PutUpTo4(at, static_cast<uint32_t>(v / (k8 * k8)));  // at most 1844
  const uint64_t rest = v % (k8 * k8);
  Put8(at, static_cast<uint32_t>(rest / k8));
  Put8(at + 8, static_cast<uint32_t>(rest % k8));
  return at + 16;
}

inline char* PutDecimal(char* at, int64_t v) {
  if (v >= 0) return PutDecimal(at, static_cast<uint64_t>(v));
  *at++ = '-';
  return PutDecimal(at, 0 - static_cast<uint64_t>(v));  // INT64_MIN too
}

}  // namespace weir::nexmark
