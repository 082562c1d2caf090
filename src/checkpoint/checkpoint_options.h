// CheckpointOptions: the execution.checkpointing.* settings, parsed and validated once.
//
// Defaults are Flink's, except the directories, which default to checkpoints/ and
// savepoints/ under the working directory so an embedded job needs no configuration.
// Value type; thread-safe to copy.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "weir/configuration.h"

namespace weir {

// The execution.checkpointing.* and execution.state-recovery.* options (Flink's keys).
namespace checkpointing_options {

inline constexpr auto kInterval = ConfigOption<std::chrono::milliseconds>(
    "execution.checkpointing.interval", "",
    "Interval between checkpoint triggers, at least 10 ms; unset: no checkpoints.");
inline constexpr auto kMode =
    ConfigOption<std::string>("execution.checkpointing.mode", "EXACTLY_ONCE",
                              "EXACTLY_ONCE (barriers aligned) or AT_LEAST_ONCE.")
        .WithAllowed({"EXACTLY_ONCE", "AT_LEAST_ONCE"});
inline constexpr auto kUnaligned = ConfigOption<bool>(
    "execution.checkpointing.unaligned.enabled", "false",
    "Unaligned checkpoints are not supported: true is refused. Barriers wait for the records "
    "queued ahead of them (a checkpoint's start delay); a lower "
    "taskmanager.network.memory.buffer-debloat.target shortens the wait.")
    .WithFallbackKeys("execution.checkpointing.unaligned");
inline constexpr auto kTimeout = ConfigOption<std::chrono::milliseconds>(
    "execution.checkpointing.timeout", "10 min", "A checkpoint not complete by then expires.");
inline constexpr auto kMinPause = ConfigOption<std::chrono::milliseconds>(
    "execution.checkpointing.min-pause", "0 ms",
    "Least time between the end of one checkpoint and the start of the next.");
inline constexpr auto kMaxConcurrent =
    ConfigOption<int64_t>("execution.checkpointing.max-concurrent-checkpoints", "1",
                          "Most checkpoints in progress at once.")
        .WithRange(1, 1000);
inline constexpr auto kTolerableFailures =
    ConfigOption<int64_t>("execution.checkpointing.tolerable-failed-checkpoints", "0",
                          "Consecutive checkpoint failures tolerated before the job fails.")
        .WithRange(0, std::numeric_limits<int64_t>::max());
inline constexpr auto kNumRetained =
    ConfigOption<int64_t>("execution.checkpointing.num-retained", "1",
                          "Completed checkpoints kept.")
        .WithRange(1, 10000)
        .WithFallbackKeys("state.checkpoints.num-retained");
inline constexpr auto kRetention =
    ConfigOption<std::string>(
        "execution.checkpointing.externalized-checkpoint-retention", "NO_EXTERNALIZED_CHECKPOINTS",
        "What happens to checkpoints when the job ends: NO_EXTERNALIZED_CHECKPOINTS (deleted), "
        "DELETE_ON_CANCELLATION (kept if the job fails), RETAIN_ON_CANCELLATION (kept if it "
        "fails or is cancelled). They are always deleted when the job finishes.")
        .WithAllowed(
            {"NO_EXTERNALIZED_CHECKPOINTS", "DELETE_ON_CANCELLATION", "RETAIN_ON_CANCELLATION"});
inline constexpr auto kDir =
    ConfigOption<std::string>("execution.checkpointing.dir", "checkpoints",
                              "Checkpoint directory: a local path or a file:// URI.")
        .WithFallbackKeys("state.checkpoints.dir");
inline constexpr auto kSavepointDir =
    ConfigOption<std::string>("execution.checkpointing.savepoint-dir", "savepoints",
                              "Default savepoint directory: a local path or a file:// URI.")
        .WithFallbackKeys("state.savepoints.dir");
inline constexpr auto kRestorePath =
    ConfigOption<std::string>("execution.state-recovery.path", "",
                              "Checkpoint or savepoint to restore from: a path, or 'latest' for "
                              "the newest valid checkpoint of this job (--restore).")
        .WithFallbackKeys("execution.savepoint.path");
inline constexpr auto kIgnoreUnclaimedState =
    ConfigOption<bool>("execution.state-recovery.ignore-unclaimed-state", "false",
                       "Allow restoring when the checkpoint has state for an operator the job "
                       "no longer has.")
        .WithFallbackKeys("execution.savepoint.ignore-unclaimed-state");

inline constexpr auto kRewindOutput = ConfigOption<bool>(
    "execution.state-recovery.rewind-output", "false",
    "Restoring a checkpoint or savepoint older than a sink's output (later checkpoints "
    "committed more): true cuts the output back to what the restored one covers, once the "
    "restored job has completed a checkpoint; false refuses the restore and changes nothing. "
    "The same for an output file that holds bytes the restored checkpoint did not write "
    "there (the job's directory moved, output and all): true replaces them.");

inline std::vector<const ConfigOptionInfo*> All() {
  return {&kInterval.info(),       &kMode.info(),          &kUnaligned.info(),
          &kTimeout.info(),
          &kMinPause.info(),       &kMaxConcurrent.info(), &kTolerableFailures.info(),
          &kNumRetained.info(),    &kRetention.info(),     &kDir.info(),
          &kSavepointDir.info(),   &kRestorePath.info(),   &kIgnoreUnclaimedState.info(),
          &kRewindOutput.info()};
}

}  // namespace checkpointing_options

struct CheckpointOptions {
  enum class Retention {
    kNoExternalized,        // deleted when the job ends
    kDeleteOnCancellation,  // kept if the job fails
    kRetainOnCancellation,  // kept if the job fails or is cancelled
  };

  bool enabled = false;
  std::chrono::milliseconds interval{0};
  bool exactly_once = true;
  std::chrono::milliseconds timeout{10 * 60 * 1000};
  std::chrono::milliseconds min_pause{0};
  int max_concurrent = 1;
  int tolerable_failures = 0;
  int num_retained = 1;
  Retention retention = Retention::kNoExternalized;
  std::string dir = "checkpoints";
  std::string savepoint_dir = "savepoints";
  bool incremental = false;

  static Result<CheckpointOptions> FromConfiguration(const Configuration& config);
};

}  // namespace weir
