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
