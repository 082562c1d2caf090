#include "state/key_order.h"

#include <bit>

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

// Lists the ranges of `order` within which `same(i)` (item i of `order` sorts equal to item
// i - 1) holds, by their index in order.
template <typename Same>
void ListTies(KeyOrderScratch& s, Same same) {
  const uint32_t n = static_cast<uint32_t>(s.order.size());
  for (uint32_t begin = 0; begin < n;) {
    uint32_t end = begin + 1;
    while (end < n && same(end)) ++end;
    if (end - begin > 1) s.ties.emplace_back(begin, end);
    begin = end;
  }
}

// At most four bytes of the sort keys differ (`bytes`, most significant first): each item is
// one 64-bit integer, those bytes above its index, and a least-significant-digit radix sort
// orders them 11 bits per pass (the buckets' ends stay in the CPU's first-level cache), each
// pass a read and a write of 8 bytes per item. A state's integer keys in 128 key groups
// differ in 31 bits or fewer up to 16 million keys: three passes.
void SortPacked(KeyOrderScratch& s, const int* bytes, int count) {
  constexpr int kDigitBits = 11;
  constexpr uint32_t kBuckets = 1u << kDigitBits;
  const std::vector<Position>& positions = s.positions;
  const size_t n = positions.size();
  std::vector<uint64_t>& packed = s.packed;
  std::vector<uint64_t>& out = s.packed_buckets;
  packed.resize(n);  // every one is written below; only growth zeroes
  out.resize(n);
  uint64_t bits = 0;  // every key's bits, or'ed
  for (size_t i = 0; i < n; ++i) {
    uint64_t key = 0;
    for (int b = 0; b < count; ++b) key = key << 8 | Byte(positions[i], bytes[b]);
    packed[i] = key << 32 | positions[i].index;
    bits |= key;
  }
  const int passes = (std::bit_width(bits) + kDigitBits - 1) / kDigitBits;
  std::vector<uint32_t>& counts = s.starts;  // kBuckets per pass, counted in one read
  counts.assign(static_cast<size_t>(kBuckets) * passes, 0);
  for (uint64_t item : packed) {
    for (int pass = 0; pass < passes; ++pass) {
      ++counts[kBuckets * pass + ((item >> (32 + kDigitBits * pass)) & (kBuckets - 1))];
    }
  }
  for (int pass = 0; pass < passes; ++pass) {
    uint32_t* fill = counts.data() + kBuckets * pass;
    uint32_t at = 0;
    for (uint32_t b = 0; b < kBuckets; ++b) at += std::exchange(fill[b], at);
    const int shift = 32 + kDigitBits * pass;
    for (uint64_t item : packed) out[fill[(item >> shift) & (kBuckets - 1)]++] = item;
    packed.swap(out);
  }
  s.order.resize(n);
  for (size_t i = 0; i < n; ++i) s.order[i] = static_cast<uint32_t>(packed[i]);
  ListTies(s, [&](uint32_t i) { return packed[i] >> 32 == packed[i - 1] >> 32; });
}

// One pass of a most-significant-digit radix sort on `top` and `next` (-1: none), the two most
// significant bytes that differ, then std::sort within each bucket: a million keys fall into
// thousands of buckets, each sorted in the CPU's cache. One std::sort of them all compares
// each position about twenty times, from all over the array.
void SortInBuckets(KeyOrderScratch& s, int top, int next) {
  std::vector<Position>& positions = s.positions;
  const size_t n = positions.size();
  auto digit = [&](const Position& p) {
    return next < 0 ? Byte(p, top) : Byte(p, top) << 8 | Byte(p, next);
  };
  std::vector<uint32_t>& starts = s.starts;
  starts.assign((next < 0 ? 256 : 65536) + 1, 0);
  for (const Position& p : positions) ++starts[digit(p) + 1];
  for (size_t b = 1; b < starts.size(); ++b) starts[b] += starts[b - 1];
  std::vector<Position>& buckets = s.buckets;
  buckets.resize(n);  // every one is written below; only growth zeroes
  std::vector<uint32_t>& fill = s.fill;
  fill.assign(starts.begin(), starts.end() - 1);
  for (const Position& p : positions) buckets[fill[digit(p)]++] = p;
  for (size_t b = 0; b + 1 < starts.size(); ++b) {
    if (starts[b + 1] - starts[b] > 1) {
      std::sort(buckets.begin() + starts[b], buckets.begin() + starts[b + 1], kBefore);
    }
  }
  positions.swap(buckets);
}

}  // namespace

void SortPositions(KeyOrderScratch& s, const Position& differ) {
  std::vector<Position>& positions = s.positions;
  const size_t n = positions.size();
  s.ties.clear();
  s.order.clear();
  if (n == 0) return;
  int differing[kBytes];  // the bytes that differ, most significant first
  int count = 0;
  for (int d = kBytes - 1; d >= 0; --d) {
    if (Byte(differ, d) != 0) differing[count++] = d;
  }
  if (n >= kBucketsFrom && count <= 4) return SortPacked(s, differing, count);
  if (n < kBucketsFrom) {
    std::sort(positions.begin(), positions.end(), kBefore);
  } else {
    SortInBuckets(s, differing[0], count > 1 ? differing[1] : -1);
  }
  s.order.resize(n);
  for (size_t i = 0; i < n; ++i) s.order[i] = positions[i].index;
  ListTies(s, [&](uint32_t i) {
    const Position &a = positions[i - 1], &b = positions[i];
    return a.group == b.group && a.high == b.high && a.low == b.low;
  });
}

}  // namespace weir::key_order_detail
