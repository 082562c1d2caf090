// Internal: the stable 64-bit hash of key bytes (XXH3) and key-group assignment.
//
// A key's bytes (its Codec encoding) hash to the same value in every process and release, so
// a key lands in the same key group, and its state in the same place, across restarts and
// rescales. Key groups are assigned to subtasks in contiguous ranges, as Flink does.
// Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace weir::detail {

inline uint64_t Hash64(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

// The hash the heap backend looks a key up by (it picks no key group: Hash64 does). Its low
// half is where a table's search starts, its high half a tag that tells most other keys
// apart without reading them. A key of up to 8 bytes (an integer key) is read as a number v:
// its 4-key block v >> 2 is mixed (a 128-bit product's halves xored, as in XXH3) and v & 3
// kept, so keys 4m..4m+3 start in 4 adjacent slots, half a cache line, and keys that come in
// order, as sequence numbers and dense ids do, are looked up in order, as with
// std::unordered_map's identity hash, while keys that differ only in high bits still spread
// over the table. Blocks pick among 4-slot groups, not 8-slot lines: twice the places, so
// fewer blocks find their group taken and their keys past another block's. Longer keys use
// Hash64.
inline uint64_t KeyHash(std::string_view bytes) {
  uint64_t v = 0;
  if (bytes.size() == 8) [[likely]] {
    std::memcpy(&v, bytes.data(), 8);
  } else if (bytes.size() < 8) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      v |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
    }
  } else {
    return Hash64(bytes);
  }
  const uint64_t block =
      XXH3_mul128_fold64((v >> 2) ^ 0x2d358dccaa6c78a5ull, 0x8bb84b93962eacc9ull);
  const uint64_t tag = ((block >> 32) + (v & 3)) << 32;
  return tag | static_cast<uint32_t>(block << 2) | (v & 3);
}

// Equality of two keys' bytes. Keys are mostly a few bytes: two overlapping word loads beat a
// call to memcmp.
inline bool BytesEqual(std::string_view a, std::string_view b) {
  size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.data(), 8);
    std::memcpy(&b0, b.data(), 8);
    std::memcpy(&a1, a.data() + n - 8, 8);
    std::memcpy(&b1, b.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return a == b;
}

// Key group of a key hash in [0, max_parallelism): multiply-shift instead of a modulo, so no
// division per record.
inline int KeyGroupForHash(uint64_t hash, int max_parallelism) {
  return static_cast<int>(((hash >> 32) * static_cast<uint64_t>(max_parallelism)) >> 32);
}

// The subtask that owns key group `key_group` (Flink's computeOperatorIndexForKeyGroup).
inline int OperatorIndexForKeyGroup(int key_group, int max_parallelism, int parallelism) {
  return key_group * parallelism / max_parallelism;
}

}  // namespace weir::detail
