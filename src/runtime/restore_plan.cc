#include "runtime/restore_plan.h"

#include <algorithm>

#include "base/file_system.h"

namespace weir {

Result<RestorePlan> PlanRestore(const CheckpointStorage& storage, const std::string& path,
                                const std::string& job_name, bool checkpointing, Clock* clock,
                                std::vector<std::string>* warnings) {
  RestorePlan plan;
  if (path.empty()) {
    plan.job_id = CheckpointStorage::NewJobId();
    if (checkpointing) plan.manifest = JobManifest::ForRun(plan.job_id, job_name, clock->WallMillis());
    return plan;
  }
  Result<CompletedCheckpoint> cp = Status::Internal("unresolved");
  if (path == "latest") {
    cp = storage.FindLatest(job_name, warnings);
    if (!cp.ok()) {
      return cp.status().WithContext("cannot restore from the latest checkpoint");
    }
  } else {
    WEIR_ASSIGN_OR_RETURN(std::string resolved, ResolvePath(path, "execution.state-recovery.path"));
    cp = storage.Load(resolved);
    if (!cp.ok()) return cp.status().WithContext("cannot restore from '" + path + "'");
  }
  auto restored = std::make_shared<CompletedCheckpoint>(std::move(*cp));
  if (restored->metadata.savepoint) {
    plan.job_id = CheckpointStorage::NewJobId();
    plan.next_checkpoint_id = restored->id() + 1;
    if (checkpointing) {
      plan.manifest =
          JobManifest::ForRun(plan.job_id, job_name, clock->WallMillis(), restored->dir);
    }
  } else {
    // A checkpoint is restored in its own job's directory, whose older checkpoints this run
    // then retires. Under another name that would take the directory from a job that may run
    // again (its lock is by name): its checkpoints deleted, its "latest" gone.
    if (!restored->metadata.job_name.empty() && restored->metadata.job_name != job_name) {
      return Status::InvalidArgument(
          "checkpoint '" + restored->dir + "' is of job '" + restored->metadata.job_name +
          "', not of '" + job_name + "': restored under another name, this job would take over "
          "that job's checkpoints and delete them. Give the job the name '" +
          restored->metadata.job_name + "', or start it from a savepoint of that job (a "
          "savepoint starts a run of its own)");
    }
    plan.job_id = restored->metadata.job_id;
    // Compared as directories, not strings: "./checkpoints/j", "/abs/checkpoints/j" and
    // "checkpoints/j/chk-3/_metadata" all name the same one.
    if (AbsolutePath(storage.JobDir(plan.job_id)) != AbsolutePath(restored->job_dir)) {
      return Status::InvalidArgument("checkpoint '" + restored->dir +
                                     "' is not in the configured checkpoint directory '" +
                                     storage.checkpoints_dir() +
                                     "'; set execution.checkpointing.dir to its parent's parent");
    }
    // Past every id in use on disk, also by files a failed checkpoint left in shared/.
    WEIR_ASSIGN_OR_RETURN(int64_t in_use, storage.MaxCheckpointIdInUse(restored->job_dir));
    plan.next_checkpoint_id = std::max(restored->id(), in_use) + 1;
    plan.retained.push_back(*restored);
    // The run becomes the most recently started one of the job, for later "latest" lookups.
    auto manifest = storage.ReadManifest(restored->job_dir);
    JobManifest m = manifest.ok() ? *manifest : JobManifest::ForRun(plan.job_id, job_name, 0);
    m.job_name = job_name;
    m.created_wall_ms = clock->WallMillis();
    // A run marked ended (a crash in the middle of deleting its checkpoints left this one)
    // lives again: "latest" finds it, and a fresh run does not clear it away.
    m.ended.clear();
    m.ended_wall_ms = 0;
    plan.manifest = m;
  }
  plan.checkpoint = std::move(restored);
  return plan;
}

Status StartRun(CheckpointStorage& storage, const RestorePlan& plan) {
  if (!plan.manifest) return Status::OK();
  return storage.CreateJobDir(*plan.manifest);
}

}  // namespace weir
