#include "state/key_order.h"


namespace weir::key_order_detail {
namespace {

// Below this many, one std::sort is as quick.
constexpr size_t kBucketsFrom = 2048;

// A function object, not a function: std::sort inlines it.
constexpr auto kBefore = [](const Position& a, const Position& b) {
  if (a.group != b.group) return a.group < b.group;
  if (a.high != b.high) return a.high < b.high;
  return a.low < b.low;
};

// Byte `d` of a position's sort key group:high:low, 0 the least significant.
constexpr int kBytes = 20;
inline uint32_t Byte(const Position& p, int d) {
  if (d < 8) return static_cast<uint32_t>(p.low >> (8 * d)) & 0xff;
  if (d < 16) return static_cast<uint32_t>(p.high >> (8 * (d - 8))) & 0xff;
  return (p.group >> (8 * (d - 16))) & 0xff;
}

}  // namespace

// One pass of a most-significant-digit radix sort, then std::sort within each bucket. The
// digit is the first two bytes of the sort key that differ between positions (a key group
// and the top byte of a key, say): a million keys fall into thousands of buckets, each
// sorted in the CPU's cache. One std::sort of them all compares each position about twenty
// times, from all over the array.
void SortPositions(KeyOrderScratch& scratch) {
  std::vector<Position>& positions = scratch.positions;
  const size_t n = positions.size();
  if (n < kBucketsFrom) {
    std::sort(positions.begin(), positions.end(), kBefore);
    return;
  }
  const Position& first = positions.front();
  Position diff{0, 0, 0, 0};
  for (const Position& p : positions) {
    diff.group |= p.group ^ first.group;
    diff.high |= p.high ^ first.high;
    diff.low |= p.low ^ first.low;
  }
  int top = -1, next = -1;  // the two most significant bytes that differ
  for (int d = kBytes - 1; d >= 0 && next < 0; --d) {
    if (Byte(diff, d) == 0) continue;
    (top < 0 ? top : next) = d;
  }
  if (top < 0) return;  // all equal
  auto digit = [&](const Position& p) {
    return next < 0 ? Byte(p, top) : Byte(p, top) << 8 | Byte(p, next);
  };
  std::vector<uint32_t>& starts = scratch.starts;
  starts.assign((next < 0 ? 256 : 65536) + 1, 0);
  for (const Position& p : positions) ++starts[digit(p) + 1];
  for (size_t b = 1; b < starts.size(); ++b) starts[b] += starts[b - 1];
  std::vector<Position>& buckets = scratch.buckets;
  buckets.resize(n);  // every one is written below; only growth zeroes
  std::vector<uint32_t>& fill = scratch.fill;
  fill.assign(starts.begin(), starts.end() - 1);
  for (const Position& p : positions) buckets[fill[digit(p)]++] = p;
  for (size_t b = 0; b + 1 < starts.size(); ++b) {
    if (starts[b + 1] - starts[b] > 1) {
      std::sort(buckets.begin() + starts[b], buckets.begin() + starts[b + 1], kBefore);
    }
  }
  positions.swap(buckets);
}

}  // namespace weir::key_order_detail
