#include "base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace weir {

void InitLogging() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Logs go to stderr: stdout belongs to the job (Print sinks, summaries).
    spdlog::set_default_logger(spdlog::stderr_color_mt("weir"));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    const char* level = std::getenv("WEIR_LOG_LEVEL");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::info);
  });
}

}  // namespace weir
