// CheckpointOptions: the execution.checkpointing.* settings, parsed and validated once.
//
// Defaults are Flink's, except the directories, which default to checkpoints/ and
// savepoints/ under the working directory so an embedded job needs no configuration.
// Value type; thread-safe to copy.
#pragma once

#include <chrono>
#include <string>

#include "weir/configuration.h"

namespace weir {

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
