#include "decimal.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <type_traits>

namespace weir::nexmark {
namespace {

// Also checks that nothing is written past kDecimalRoom (PutDecimal writes whole words). An
// unsigned number also goes through the parts of eight that machines without SSE2 take, and
// every number is also written backward.
template <typename T>
void ExpectAsToChars(T v) {
  char theirs[24];
  const std::string expected(theirs, std::to_chars(theirs, theirs + sizeof theirs, v).ptr);
  const auto expect = [&](auto put, const char* how) {
    char ours[kDecimalRoom + 8];
    std::memset(ours, '#', sizeof ours);
    ASSERT_EQ(std::string(ours, put(ours, v)), expected) << v << " " << how;
    ASSERT_EQ(std::string(ours + kDecimalRoom, 8), std::string(8, '#')) << v << " " << how;
  };
  expect([](char* at, T n) { return PutDecimal(at, n); }, "PutDecimal");
  if constexpr (std::is_same_v<T, uint64_t>) {
    expect([](char* at, T n) { return decimal_detail::PutInEights(at, n); }, "PutInEights");
  }
  // Backward: nothing written at or after the end, nor more than kDecimalRoom before it.
  char before[8 + kDecimalRoom + 8];
  std::memset(before, '#', sizeof before);
  char* const end = before + 8 + kDecimalRoom;
  ASSERT_EQ(std::string(PutDecimalBefore(end, v), end), expected) << v << " PutDecimalBefore";
  ASSERT_EQ(std::string(end, 8), std::string(8, '#')) << v << " PutDecimalBefore";
  ASSERT_EQ(std::string(before, 8), std::string(8, '#')) << v << " PutDecimalBefore";
}

TEST(DecimalTest, EveryNumberOfDigitsAndBothEndsOfEachWriteAsToChars) {
  for (uint64_t p = 1;; p *= 10) {
    for (uint64_t v : {p - 1, p, p + 1, 2 * p - 1, 5 * p, 9 * p}) {
      ExpectAsToChars<uint64_t>(v);
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        ExpectAsToChars<int64_t>(static_cast<int64_t>(v));
        ExpectAsToChars<int64_t>(-static_cast<int64_t>(v));
      }
    }
    if (p > std::numeric_limits<uint64_t>::max() / 10) break;
  }
  ExpectAsToChars<uint64_t>(std::numeric_limits<uint64_t>::max());
  ExpectAsToChars<int64_t>(std::numeric_limits<int64_t>::max());
  ExpectAsToChars<int64_t>(std::numeric_limits<int64_t>::min());
}

// Every number below a million, and a thousand on each side of every power of ten from there
// to 10^10 (where the digit count and the parts of eight change).
TEST(DecimalTest, EverySmallNumberWritesAsToChars) {
  for (uint64_t v = 0; v < 1'000'000; ++v) ExpectAsToChars<uint64_t>(v);
  for (uint64_t p = 1'000'000; p <= 10'000'000'000ULL; p *= 10) {
    for (uint64_t v = p - 1'000; v < p + 1'000; ++v) ExpectAsToChars<uint64_t>(v);
  }
}

TEST(DecimalTest, RandomNumbersOfEverySizeWriteAsToChars) {
  const uint32_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200'000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);  // every magnitude about as often
    ExpectAsToChars<uint64_t>(v);
    ExpectAsToChars<int64_t>(static_cast<int64_t>(v));
  }
}

}  // namespace
}  // namespace weir::nexmark
