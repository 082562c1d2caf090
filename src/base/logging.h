// Logging: spdlog, with one pattern for the whole engine.
//
// Engine code logs through spdlog's default logger (spdlog::info, ...). Programs may replace
// the default logger's sinks (the CLI does, to keep log lines and the progress line apart).
// Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

namespace weir {

// Sets the engine's log pattern and level ("info" unless WEIR_LOG_LEVEL says otherwise).
// Idempotent.
void InitLogging();

}  // namespace weir
