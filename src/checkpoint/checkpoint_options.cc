#include "checkpoint/checkpoint_options.h"

#include "base/file_system.h"
#include "state/state_backend_options.h"

namespace weir {

Result<CheckpointOptions> CheckpointOptions::FromConfiguration(const Configuration& config) {
  namespace co = checkpointing_options;
  CheckpointOptions o;
  // Unset: no checkpoints (and no exactly-once output). A value that looks like "off" (empty,
  // 0) is an error rather than a quiet switch from exactly-once to nothing.
  std::optional<std::string> raw = config.GetRaw(co::kInterval.key());
  bool empty = raw && raw->find_first_not_of(" \t") == std::string::npos;
  std::optional<std::chrono::milliseconds> interval;
  if (!empty) {
    WEIR_ASSIGN_OR_RETURN(interval, config.GetOptional(co::kInterval));
  }
  if (empty || interval) {
    if (empty || interval->count() < 10) {
      return Status::InvalidArgument(
          "configuration execution.checkpointing.interval = '" +
          config.GetRaw(co::kInterval.key()).value_or("") + "' (from " +
          config.SourceOf(co::kInterval) +
          "): must be at least 10 ms; to run without checkpoints (and without exactly-once "
          "output), leave it unset");
    }
    o.interval = *interval;
    o.enabled = true;
  }
  WEIR_ASSIGN_OR_RETURN(std::string mode, config.Get(co::kMode));
  o.exactly_once = mode == "EXACTLY_ONCE";
  // Flink's users set it for back-pressured jobs: running aligned instead would not be what
  // they asked for, so say so rather than warn of an unknown key.
  WEIR_ASSIGN_OR_RETURN(bool unaligned, config.Get(co::kUnaligned));
  if (unaligned) {
    return Status::InvalidArgument(
        "configuration execution.checkpointing.unaligned.enabled = true (from " +
        config.SourceOf(co::kUnaligned) +
        "): weir takes aligned checkpoints only; leave it unset or false. Behind a slow "
        "operator a barrier waits for the records queued ahead of it, which a lower "
        "taskmanager.network.memory.buffer-debloat.target shortens");
  }
  WEIR_ASSIGN_OR_RETURN(o.timeout, config.Get(co::kTimeout));
  if (o.timeout.count() < 10) {
    return Status::InvalidArgument("execution.checkpointing.timeout must be at least 10 ms");
  }
  WEIR_ASSIGN_OR_RETURN(o.min_pause, config.Get(co::kMinPause));
  WEIR_ASSIGN_OR_RETURN(int64_t concurrent, config.Get(co::kMaxConcurrent));
  o.max_concurrent = static_cast<int>(concurrent);
  WEIR_ASSIGN_OR_RETURN(int64_t tolerable, config.Get(co::kTolerableFailures));
  o.tolerable_failures = static_cast<int>(std::min<int64_t>(tolerable, 1 << 30));
  WEIR_ASSIGN_OR_RETURN(int64_t retained, config.Get(co::kNumRetained));
  o.num_retained = static_cast<int>(retained);
  WEIR_ASSIGN_OR_RETURN(std::string retention, config.Get(co::kRetention));
  o.retention = retention == "RETAIN_ON_CANCELLATION"   ? Retention::kRetainOnCancellation
                : retention == "DELETE_ON_CANCELLATION" ? Retention::kDeleteOnCancellation
                                                        : Retention::kNoExternalized;
  WEIR_ASSIGN_OR_RETURN(std::string dir, config.Get(co::kDir));
  WEIR_ASSIGN_OR_RETURN(o.dir, ResolvePath(dir, co::kDir.key()));
  WEIR_ASSIGN_OR_RETURN(std::string savepoint_dir, config.Get(co::kSavepointDir));
  WEIR_ASSIGN_OR_RETURN(o.savepoint_dir, ResolvePath(savepoint_dir, co::kSavepointDir.key()));
  WEIR_ASSIGN_OR_RETURN(o.incremental, config.Get(state_backend_options::kIncremental));
  return o;
}

}  // namespace weir
