// OrderByKey, SortByKey: items in RocksDB's (bytewise) order of a byte-string key, within
// groups.
//
// A full RocksDB snapshot merges the write cache's dirty values with RocksDB's iterators, and
// a write-back or a file of changed values hands keys to RocksDB in order: each sorts up to
// as many keys as the cache holds, a million or more. Sorted as strings, every comparison is
// a memcmp call and every swap moves two short strings; that was most of a million-key
// checkpoint's time. Here the first 16 bytes of each key, as two big-endian integers, are
// sorted with the item's index (the keys of a few bytes weir writes sort as integers), or,
// from 2048 items on, when no more than four of those bytes and the group's differ, those
// bytes and the index as one 64-bit integer, packed straight from the keys; the items are
// then read in that order, or moved into it once, without a swap.
// Thread-safety: none; a KeyOrderScratch serves one sort at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "base/prefetch.h"

namespace weir {

namespace key_order_detail {

struct Position {
  uint32_t group;
  uint32_t index;  // of the item in the input
  uint64_t high;   // the key's bytes 0-7, big-endian, zero-padded
  uint64_t low;    // bytes 8-15
};

}  // namespace key_order_detail

// The memory a sort by key works in, for a caller that sorts again and again: a million
// keys' positions and their buckets are 48 MB (packed keys 16), and memory fresh from the
// kernel costs a page fault and a zeroing per 4 KiB every time.
struct KeyOrderScratch {
  std::vector<uint32_t> order;  // the result: the items' indices in key order
  std::vector<key_order_detail::Position> positions, buckets;
  std::vector<uint64_t> packed, packed_buckets;
  std::vector<uint32_t> starts, fill;                // of each bucket
  std::vector<std::pair<uint32_t, uint32_t>> ties;  // ranges of `order` with equal prefixes

  // The memory held, in bytes.
  size_t HeldBytes() const {
    auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
    return bytes(order) + bytes(positions) + bytes(buckets) + bytes(packed) +
           bytes(packed_buckets) + bytes(starts) + bytes(fill) + bytes(ties);
  }
};

namespace key_order_detail {

// Below this many, one std::sort is as quick as buckets.
constexpr size_t kBucketsFrom = 2048;
// At most this many bytes of the sort keys differ: each key is one 64-bit integer, those
// bytes above its index.
constexpr int kMaxPackedBytes = 4;

// Byte `d` of a position's sort key group:high:low, 0 the least significant.
constexpr int kBytes = 20;
inline uint32_t Byte(const Position& p, int d) {
  if (d < 8) return static_cast<uint32_t>(p.low >> (8 * d)) & 0xff;
  if (d < 16) return static_cast<uint32_t>(p.high >> (8 * (d - 8))) & 0xff;
  return (p.group >> (8 * (d - 16))) & 0xff;
}
// Lists in `bytes` (room for kBytes) the bytes in which `differ` has bits, most significant
// first; returns their count.
int DifferingBytes(const Position& differ, int* bytes);
// The `count` bytes of `p` listed in `bytes`, as one integer.
inline uint64_t PackBytes(const Position& p, const int* bytes, int count) {
  uint64_t key = 0;
  for (int b = 0; b < count; ++b) key = key << 8 | Byte(p, bytes[b]);
  return key;
}
// The bits in which `p` differs from `first`, or'ed into `differ`.
inline void NoteDifference(const Position& first, const Position& p, Position& differ) {
  differ.group |= p.group ^ first.group;
  differ.high |= p.high ^ first.high;
  differ.low |= p.low ^ first.low;
}

// Sorts the items of scratch.positions by (group, high, low) into scratch.order, and lists
// in scratch.ties the ranges [begin, end) of it, of two items or more, whose positions are
// equal: only their whole keys can order them. `differ`: the bits in which some position
// differs from the first (an xor of each with it, or'ed), taken as they were made. (SortKeys
// packs keys that differ in few bytes itself, straight from them; given positions of such
// keys, this packs them from the positions.)
void SortPositions(KeyOrderScratch& scratch, const Position& differ);
// The same for items packed into scratch.packed (PackBytes of each above its index); `bits`:
// their packed bytes, or'ed.
void SortPacked(KeyOrderScratch& scratch, uint64_t bits);

inline uint64_t LoadBigEndian(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap64(v);
}

// The first 16 bytes of `key` as two big-endian integers, zero-padded, read with whole loads
// (overlapping ones for a short key): bytes copied into a buffer on the stack and loaded back
// as a word stall the load until the copies land, a third of building a million positions.
inline void LoadPrefix(std::string_view key, uint64_t& high, uint64_t& low) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  if (n >= 16) {
    high = LoadBigEndian(p);
    low = LoadBigEndian(p + 8);
  } else if (n > 8) {
    high = LoadBigEndian(p);
    low = LoadBigEndian(p + n - 8) << (8 * (16 - n));  // bytes 8..n-1, on top
  } else if (n == 8) {
    high = LoadBigEndian(p);
    low = 0;
  } else if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, p, sizeof head);
    std::memcpy(&tail, p + n - 4, sizeof tail);
    high = uint64_t{__builtin_bswap32(head)} << 32 |
           uint64_t{__builtin_bswap32(tail)} << (64 - 8 * n);
    low = 0;
  } else {
    high = 0;
    for (size_t i = 0; i < n; ++i) high |= uint64_t{p[i]} << (56 - 8 * i);
    low = 0;
  }
}

}  // namespace key_order_detail

// Leaves in scratch.order the items 0..n-1 in the order of (group_of(i), key_of(i)): groups
// as integers, keys bytewise (a key before every longer key it is a prefix of), as their
// indices. `key_of(i)` returns something that converts to std::string_view; `group_of(i)` an
// integer below 2^32 (a state's index, or 0 for one group). Not stable; the keys within a
// group are expected to be distinct. Fewer than 2^32 items.
template <typename GroupOf, typename KeyOf>
void SortKeys(size_t n, GroupOf group_of, KeyOf key_of, KeyOrderScratch& scratch) {
  namespace kod = key_order_detail;
  using kod::Position;
  auto position = [&](size_t i) {
    Position p{static_cast<uint32_t>(group_of(i)), static_cast<uint32_t>(i), 0, 0};
    kod::LoadPrefix(key_of(i), p.high, p.low);
    return p;
  };
  // Keys that differ in few bytes (integer ids) are packed straight into integers: a pass
  // that writes nothing finds those bytes first, and no 24-byte positions are made (24 MB for
  // a million keys, fresh from the kernel at a first checkpoint). A sample spread over the
  // keys skips that pass for keys that differ in more (random ones do within a few dozen).
  bool packed = false;
  if (n >= kod::kBucketsFrom) {
    const Position first = position(0);
    Position differ{0, 0, 0, 0};
    int bytes[kod::kBytes];
    constexpr size_t kSample = 64;
    for (size_t i = 1; i < kSample; ++i) {
      kod::NoteDifference(first, position(i * (n / kSample)), differ);
    }
    if (kod::DifferingBytes(differ, bytes) <= kod::kMaxPackedBytes) {
      for (size_t i = 1; i < n; ++i) kod::NoteDifference(first, position(i), differ);
      const int count = kod::DifferingBytes(differ, bytes);
      if (count <= kod::kMaxPackedBytes) {
        scratch.packed.resize(n);  // every one is written below; only growth zeroes
        uint64_t bits = 0;
        for (size_t i = 0; i < n; ++i) {
          const uint64_t key = kod::PackBytes(position(i), bytes, count);
          scratch.packed[i] = key << 32 | i;
          bits |= key;
        }
        kod::SortPacked(scratch, bits);
        packed = true;
      }
    }
  }
  if (!packed) {
    // Reserved, not sized: zeroing a million positions first was a third of the sort's
    // samples in a profile of a full RocksDB snapshot.
    std::vector<Position>& positions = scratch.positions;
    positions.clear();
    positions.reserve(n);
    Position differ{0, 0, 0, 0};
    for (size_t i = 0; i < n; ++i) {
      positions.push_back(position(i));
      kod::NoteDifference(positions.front(), positions.back(), differ);
    }
    kod::SortPositions(scratch, differ);
  }
  for (auto [begin, end] : scratch.ties) {
    std::sort(scratch.order.begin() + begin, scratch.order.begin() + end,
              [&](uint32_t a, uint32_t b) {
                return std::string_view(key_of(a)) < std::string_view(key_of(b));
              });
  }
}

// The order of items 0..n-1 by (group_of(i), key_of(i)), as SortKeys orders them, as the
// items' indices.
template <typename GroupOf, typename KeyOf>
std::vector<uint32_t> OrderByKey(size_t n, GroupOf group_of, KeyOf key_of) {
  KeyOrderScratch scratch;
  SortKeys(n, group_of, key_of, scratch);
  return std::move(scratch.order);
}

// Sorts `items` by (group_of(item), key_of(item)), as OrderByKey orders them. For small
// items: each is moved once, into a new vector.
template <typename T, typename GroupOf, typename KeyOf>
void SortByKey(std::vector<T>& items, GroupOf group_of, KeyOf key_of) {
  const std::vector<uint32_t> order = OrderByKey(
      items.size(), [&](size_t i) { return group_of(items[i]); },
      [&](size_t i) { return key_of(items[i]); });
  constexpr size_t kAhead = 8;  // prefetched: a million items do not fit in the CPU's caches
  std::vector<T> sorted;
  sorted.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + kAhead < order.size()) PrefetchLine(&items[order[i + kAhead]]);
    sorted.push_back(std::move(items[order[i]]));
  }
  items.swap(sorted);
}

}  // namespace weir
