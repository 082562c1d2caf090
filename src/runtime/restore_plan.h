// RestorePlan: where a job starts from (execution.state-recovery.path) and in which job
// directory it runs, decided before anything on disk changes.
//
//   ""        a fresh run: a new job id and job directory
//   "latest"  the newest valid checkpoint of the last run of this job (skipping, with a
//             warning naming the file and why, any that is partial or corrupt)
//   a path    that checkpoint or savepoint (its directory or its _metadata)
//
// A restore from a checkpoint continues in the checkpoint's job directory: same job id,
// checkpoint ids past every id in use there, the restored checkpoint retained until subsumed.
// A savepoint starts a new run. PlanRestore only reads; StartRun then writes the run's
// manifest (which makes it the latest run of the job).
//
// Thread-safety: functions of their arguments; the storage is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "checkpoint/checkpoint_storage.h"

namespace weir {

struct RestorePlan {
  std::string job_id;
  std::shared_ptr<const CompletedCheckpoint> checkpoint;  // null: a fresh start
  std::vector<CompletedCheckpoint> retained;  // checkpoints the run owns from the start
  int64_t next_checkpoint_id = 1;
  std::optional<JobManifest> manifest;  // written by StartRun; none without checkpointing
};

// `warnings` receives what "latest" skipped and why.
Result<RestorePlan> PlanRestore(const CheckpointStorage& storage, const std::string& path,
                                const std::string& job_name, bool checkpointing, Clock* clock,
                                std::vector<std::string>* warnings);

// Writes the plan's manifest, making this run the latest of its job.
Status StartRun(CheckpointStorage& storage, const RestorePlan& plan);

}  // namespace weir
