// WEIR_CHECK: invariants that are always checked, for programmer errors only.
//
// Never use it for anything a user, a config file or a checkpoint on disk can trigger; those
// get a Status with a clear message. A failed check prints where and why, then aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace weir::internal {
[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond, const char* msg) {
  std::fprintf(stderr, "weir: check failed at %s:%d: %s %s\n", file, line, cond, msg);
  std::abort();
}
}  // namespace weir::internal

#define WEIR_CHECK(cond)                                                        \
  do {                                                                          \
    if (__builtin_expect(!(cond), 0))                                           \
      ::weir::internal::CheckFailed(__FILE__, __LINE__, #cond, "");             \
  } while (0)

#define WEIR_CHECK_MSG(cond, msg)                                               \
  do {                                                                          \
    if (__builtin_expect(!(cond), 0))                                           \
      ::weir::internal::CheckFailed(__FILE__, __LINE__, #cond, msg);            \
  } while (0)

#ifdef NDEBUG
#define WEIR_DCHECK(cond) \
  do {                    \
  } while (0)
#else
#define WEIR_DCHECK(cond) WEIR_CHECK(cond)
#endif
