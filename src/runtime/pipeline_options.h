// The options of a job's execution: its name, parallelism, and how records travel between
// tasks (batches, channel capacity, buffer debloating). Declared once here (see ConfigOption
// in weir/configuration.h); read where they are used.
#pragma once

#include <vector>

#include "weir/configuration.h"
#include "weir/watermark.h"

namespace weir::pipeline_options {

inline constexpr auto kName =
    ConfigOption<std::string>("pipeline.name", "", "Job name; Execute(name) sets it.");

inline constexpr auto kDefaultParallelism =
    ConfigOption<int64_t>("parallelism.default", "1",
                          "Parallelism of operators that set none.")
        .WithRange(1, 32768);

inline constexpr auto kMaxParallelism =
    ConfigOption<int64_t>("pipeline.max-parallelism", "128",
                          "Number of key groups: the upper bound for rescaling keyed state.")
        .WithRange(1, 32768);

inline constexpr auto kBufferTimeout =
    ConfigOption<std::chrono::milliseconds>(
        "execution.buffer-timeout.interval", "100 ms",
        "Longest time a partly filled batch waits before it is sent downstream.")
        .WithFallbackKeys("execution.buffer-timeout");

inline constexpr auto kBatchSize =
    ConfigOption<int64_t>("pipeline.exchange.batch-size", "1024",
                          "Most records in one batch handed between tasks.")
        .WithRange(1, 1 << 20);

inline constexpr auto kChannelCapacity =
    ConfigOption<int64_t>("pipeline.exchange.channel-capacity", "16384",
                          "Most records queued in one channel between two subtasks "
                          "(backpressure bound).")
        .WithRange(1, int64_t{1} << 30);

inline constexpr auto kDebloatEnabled = ConfigOption<bool>(
    "taskmanager.network.memory.buffer-debloat.enabled", "true",
    "Shrink each channel's capacity to what its consumer processes in the debloat target, so "
    "barriers are not stuck behind slow in-flight data.");

inline constexpr auto kDebloatTarget = ConfigOption<std::chrono::milliseconds>(
    "taskmanager.network.memory.buffer-debloat.target", "200 ms",
    "In-flight data per channel, as processing time, that debloating aims for.");

inline std::vector<const ConfigOptionInfo*> All() {
  return {&kName.info(),           &kDefaultParallelism.info(), &kMaxParallelism.info(),
          &kBufferTimeout.info(),  &kBatchSize.info(),          &kChannelCapacity.info(),
          &kDebloatEnabled.info(), &kDebloatTarget.info(),     &kAutoWatermarkInterval.info()};
}

}  // namespace weir::pipeline_options
