#include "state/key_order.h"

#include <bit>

namespace weir::key_order_detail {
namespace {

// A function object, not a function: std::sort inlines it.
constexpr auto kBefore = [](const Position& a, const Position& b) {
  if (a.group != b.group) return a.group < b.group;
  if (a.high != b.high) return a.high < b.high;
  return a.low < b.low;
};

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

}  // namespace

int DifferingBytes(const Position& differ, int* bytes) {
  int count = 0;
  for (int d = kBytes - 1; d >= 0; --d) {
    if (Byte(differ, d) != 0) bytes[count++] = d;
  }
  return count;
}

// A least-significant-digit radix sort orders the packed items 11 bits per pass (the buckets'
// ends stay in the CPU's first-level cache), each pass a read and a write of 8 bytes per item.
// A state's integer keys in 128 key groups differ in 31 bits or fewer up to 16 million keys:
// three passes.
void SortPacked(KeyOrderScratch& s, uint64_t bits) {
  constexpr int kDigitBits = 11;
  constexpr uint32_t kBuckets = 1u << kDigitBits;
  std::vector<uint64_t>& packed = s.packed;
  const size_t n = packed.size();
  std::vector<uint64_t>& out = s.packed_buckets;
  out.resize(n);  // every one is written below; only growth zeroes
  s.ties.clear();
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

namespace {

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
  const int count = DifferingBytes(differ, differing);
  if (n >= kBucketsFrom && count <= kMaxPackedBytes) {
    std::vector<uint64_t>& packed = s.packed;
    packed.resize(n);  // every one is written below; only growth zeroes
    uint64_t bits = 0;  // every key's bits, or'ed
    for (size_t i = 0; i < n; ++i) {
      const uint64_t key = PackBytes(positions[i], differing, count);
      packed[i] = key << 32 | positions[i].index;
      bits |= key;
    }
    return SortPacked(s, bits);
  }
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
