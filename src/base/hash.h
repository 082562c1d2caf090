// Stable 64-bit hashes (XXH3) for key groups, hash tables and checksums.
//
// Stable means: the same bytes hash to the same value in every process and release, so key
// groups computed by one run match the state written by another. Thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/checksum.h"
#include "weir/detail/hash.h"

namespace weir {

using detail::Hash64;

}  // namespace weir
