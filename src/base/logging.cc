#include "base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace weir {

void InitLogging() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Logs go to stderr: stdout belongs to the job (Print sinks, summaries).
    spdlog::set_default_logger(spdlog::stderr_color_mt("weir"));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    // WEIR_LOG_LEVEL: trace, debug, info (default), warn, error, critical or off.
    const char* level = std::getenv("WEIR_LOG_LEVEL");
    spdlog::set_level(spdlog::level::info);
    if (level != nullptr && *level != '\0') {
      std::string name(level);
      if (name == "warning") name = "warn";
      // from_str maps a name it does not know to "off": a typo would silence every log line.
      spdlog::level::level_enum parsed = spdlog::level::from_str(name);
      if (parsed == spdlog::level::off && name != "off") {
        spdlog::warn("WEIR_LOG_LEVEL='{}' is not a log level (trace, debug, info, warn, error, "
                     "critical, off); logging at info",
                     level);
      } else {
        spdlog::set_level(parsed);
      }
    }
  });
}

}  // namespace weir
