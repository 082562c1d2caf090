#include "checkpoint/checkpoint_options.h"

#include "base/file_system.h"

namespace weir {

Result<CheckpointOptions> CheckpointOptions::FromConfiguration(const Configuration& config) {
  CheckpointOptions o;
  if (auto raw = config.GetRaw("execution.checkpointing.interval"); raw && !raw->empty()) {
    WEIR_ASSIGN_OR_RETURN(o.interval,
                          config.GetDuration("execution.checkpointing.interval", o.interval));
    if (o.interval.count() > 0) {
      if (o.interval.count() < 10) {
        return Status::InvalidArgument("execution.checkpointing.interval = '" + *raw +
                                       "': must be at least 10 ms");
      }
      o.enabled = true;
    }
  }
  WEIR_ASSIGN_OR_RETURN(std::string mode,
                        config.GetEnum("execution.checkpointing.mode", "EXACTLY_ONCE",
                                       {"EXACTLY_ONCE", "AT_LEAST_ONCE"}));
  o.exactly_once = mode == "EXACTLY_ONCE";
  WEIR_ASSIGN_OR_RETURN(o.timeout,
                        config.GetDuration("execution.checkpointing.timeout", o.timeout));
  if (o.timeout.count() < 10) {
    return Status::InvalidArgument("execution.checkpointing.timeout must be at least 10 ms");
  }
  WEIR_ASSIGN_OR_RETURN(o.min_pause,
                        config.GetDuration("execution.checkpointing.min-pause", o.min_pause));
  WEIR_ASSIGN_OR_RETURN(int64_t concurrent,
                        config.GetInt("execution.checkpointing.max-concurrent-checkpoints", 1));
  if (concurrent < 1 || concurrent > 1000) {
    return Status::InvalidArgument(
        "execution.checkpointing.max-concurrent-checkpoints must be between 1 and 1000");
  }
  o.max_concurrent = static_cast<int>(concurrent);
  WEIR_ASSIGN_OR_RETURN(int64_t tolerable,
                        config.GetInt("execution.checkpointing.tolerable-failed-checkpoints", 0));
  if (tolerable < 0) {
    return Status::InvalidArgument(
        "execution.checkpointing.tolerable-failed-checkpoints must not be negative");
  }
  o.tolerable_failures = static_cast<int>(std::min<int64_t>(tolerable, 1 << 30));
  WEIR_ASSIGN_OR_RETURN(int64_t retained, config.GetInt("execution.checkpointing.num-retained", 1));
  if (retained < 1 || retained > 10000) {
    return Status::InvalidArgument(
        "execution.checkpointing.num-retained must be between 1 and 10000");
  }
  o.num_retained = static_cast<int>(retained);
  WEIR_ASSIGN_OR_RETURN(std::string retention,
                        config.GetEnum("execution.checkpointing.externalized-checkpoint-retention",
                                       "NO_EXTERNALIZED_CHECKPOINTS",
                                       {"NO_EXTERNALIZED_CHECKPOINTS", "DELETE_ON_CANCELLATION",
                                        "RETAIN_ON_CANCELLATION"}));
  o.retention = retention == "RETAIN_ON_CANCELLATION"   ? Retention::kRetainOnCancellation
                : retention == "DELETE_ON_CANCELLATION" ? Retention::kDeleteOnCancellation
                                                        : Retention::kNoExternalized;
  WEIR_ASSIGN_OR_RETURN(o.dir,
                        ResolvePath(config.GetString("execution.checkpointing.dir", "checkpoints"),
                                    "execution.checkpointing.dir"));
  WEIR_ASSIGN_OR_RETURN(
      o.savepoint_dir,
      ResolvePath(config.GetString("execution.checkpointing.savepoint-dir", "savepoints"),
                  "execution.checkpointing.savepoint-dir"));
  WEIR_ASSIGN_OR_RETURN(o.incremental,
                        config.GetBool("execution.checkpointing.incremental", false));
  return o;
}

}  // namespace weir
