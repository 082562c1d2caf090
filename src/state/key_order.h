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
// bytes and the index as one 64-bit integer; the items are then read in that order, or
// moved into it once, without a swap.
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
// keys' positions and their buckets are 48 MB, and memory fresh from the kernel costs a page
// fault and a zeroing per 4 KiB every time.
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

// Sorts the items of scratch.positions by (group, high, low) into scratch.order, and lists
// in scratch.ties the ranges [begin, end) of it, of two items or more, whose positions are
// equal: only their whole keys can order them. `differ`: the bits in which some position
// differs from the first (an xor of each with it, or'ed), taken as they were made.
void SortPositions(KeyOrderScratch& scratch, const Position& differ);

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
  using key_order_detail::Position;
  // Reserved, not sized: zeroing a million positions first was a third of the sort's samples
  // in a profile of a full RocksDB snapshot.
  std::vector<Position>& positions = scratch.positions;
  positions.clear();
  positions.reserve(n);
  Position differ{0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    uint64_t high, low;
    key_order_detail::LoadPrefix(key_of(i), high, low);
    positions.push_back(
        Position{static_cast<uint32_t>(group_of(i)), static_cast<uint32_t>(i), high, low});
    const Position& p = positions.back();
    differ.group |= p.group ^ positions.front().group;
    differ.high |= p.high ^ positions.front().high;
    differ.low |= p.low ^ positions.front().low;
  }
  key_order_detail::SortPositions(scratch, differ);
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
