// PrefetchLine: starts loading the cache line holding `p`, for a lookup soon after, so that
// the lookups of a batch wait for memory together rather than one after another.
#pragma once

namespace weir {

inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  // GCC 12 drops a __builtin_prefetch in a loop that does nothing else.
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace weir
