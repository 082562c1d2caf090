// Fault points: named places in the engine where a test can inject an error or a crash.
//
// A fault point costs one relaxed atomic load when nothing is armed, and sits only on
// checkpoint, commit and recovery paths, never per record. Tests arm points in-process;
// crash tests arm them in a child process through the environment:
//
//   WEIR_CRASH_AT=<point>[:<n>]   kill the process with SIGKILL at the n-th hit (default 1)
//
// Model: RocksDB SyncPoint, Redpanda finjector. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "weir/status.h"

namespace weir {

class FaultPoints {
 public:
  // At the `skip`+1-th hit of `name`, and every hit after, `action` runs; an error it returns
  // is what the fault point returns. count < 0: stays armed.
  static void Arm(std::string name, std::function<Status()> action, int skip = 0, int count = -1);
  static void Disarm(std::string_view name);
  static void DisarmAll();
  static int HitCount(std::string_view name);

  static bool any_armed() { return armed_.load(std::memory_order_relaxed); }
  static Status Hit(std::string_view name);

 private:
  static std::atomic<bool> armed_;
};

}  // namespace weir

// Runs the armed action for `name`, if any; returns its error from the enclosing function.
#define WEIR_FAULT_POINT(name)                                           \
  do {                                                                   \
    if (::weir::FaultPoints::any_armed()) {                              \
      ::weir::Status weir_fault_ = ::weir::FaultPoints::Hit(name);       \
      if (!weir_fault_.ok()) return weir_fault_;                         \
    }                                                                    \
  } while (0)

// For places that cannot return a Status: only crash actions make sense there.
#define WEIR_FAULT_POINT_VOID(name)                                      \
  do {                                                                   \
    if (::weir::FaultPoints::any_armed()) (void)::weir::FaultPoints::Hit(name); \
  } while (0)
