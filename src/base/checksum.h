// Checksum: XXH3-64 over a stream of writes, the checksum every state file, metadata file and
// copied SST file carries. Equal to Hash64 (base/hash.h) of the concatenated bytes.
//
// Files are megabytes, so this goes through libxxhash's runtime dispatch where the library has
// one (Debian's does): AVX2 where the CPU has it, over three times the speed of the portable
// code the header-inlined Hash64 compiles to. Hash64 stays inlined for short keys. The result
// is the same either way.
// Thread-safety: a value type; one thread at a time.
#pragma once

#include <cstdint>
#include <string_view>

namespace weir {

class Checksum {
 public:
  Checksum();
  void Update(std::string_view bytes);
  uint64_t Digest() const;

  // The checksum of `bytes` in one call.
  static uint64_t Of(std::string_view bytes);

 private:
  // xxHash's XXH3_state_t, which only checksum.cc sees (its size is checked there).
  alignas(64) unsigned char state_[576];
};

}  // namespace weir
