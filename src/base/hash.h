// Stable 64-bit hashes (XXH3) for key groups, hash tables and checksums.
//
// Stable means: the same bytes hash to the same value in every process and release, so key
// groups computed by one run match the state written by another. Thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "weir/detail/hash.h"

namespace weir {

using detail::Hash64;

// Incremental checksum over a stream of writes (XXH3-64): the checksum every state file,
// metadata file and copied SST file carries. Equal to Hash64 of the concatenated bytes.
class Checksum {
 public:
  Checksum() { XXH3_64bits_reset(&state_); }
  void Update(std::string_view bytes) { XXH3_64bits_update(&state_, bytes.data(), bytes.size()); }
  uint64_t Digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace weir
