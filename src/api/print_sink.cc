#include <cstdio>
#include <mutex>

#include "weir/detail/sinks.h"

namespace weir::detail {

void WriteToStdout(std::string_view text) {
  // One lock per batch keeps the lines of parallel subtasks whole.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace weir::detail
