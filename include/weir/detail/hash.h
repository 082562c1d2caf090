// Internal: the stable 64-bit hash of key bytes (XXH3) and key-group assignment.
//
// A key's bytes (its Codec encoding) hash to the same value in every process and release, so
// a key lands in the same key group, and its state in the same place, across restarts and
// rescales. Key groups are assigned to subtasks in contiguous ranges, as Flink does.
// Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace weir::detail {

inline uint64_t Hash64(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
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
