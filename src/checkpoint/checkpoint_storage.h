// CheckpointStorage: checkpoints and savepoints on a file system, laid out like Flink's.
//
//   <checkpoint dir>/<job id>/_job            manifest: job name, creation time, restored from
//   <checkpoint dir>/<job id>/chk-<n>/        one checkpoint: state files, then _metadata
//   <checkpoint dir>/<job id>/shared/         files shared by incremental checkpoints
//   <savepoint dir>/savepoint-<job6>-<rand>/  a self-contained savepoint
//
// _metadata is written last and atomically (temp file, fsync, rename, fsync of the
// directory); a directory without a complete, valid one is not a checkpoint. Loading a
// checkpoint verifies the metadata checksum and every referenced file's size and checksum.
//
// A fresh run gets a new job id; a run restored from a checkpoint continues in that
// checkpoint's job directory. "latest" means: the newest valid checkpoint of the most
// recently started run of the job (by its manifest), never one of an older run.
//
// Thread-safety: stateless apart from the FileSystem; safe to share.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "checkpoint/checkpoint_metadata.h"
#include "state/snapshot_location.h"

namespace weir {

struct JobManifest {
  std::string job_id;
  std::string job_name;
  int64_t created_wall_ms = 0;
  std::string restored_from;  // the checkpoint or savepoint this run started from, if any
  // Set when the run ended and deleted its checkpoints (FINISHED, CANCELED, FAILED).
  std::string ended;
  int64_t ended_wall_ms = 0;
  // Checkpoints of an earlier run in this directory, newer than the one this run restored:
  // a dead end once the restored run started ("latest" passes them over).
  std::vector<int64_t> abandoned;

  static JobManifest ForRun(std::string job_id, std::string job_name, int64_t created_wall_ms,
                            std::string restored_from = "") {
    JobManifest m;
    m.job_id = std::move(job_id);
    m.job_name = std::move(job_name);
    m.created_wall_ms = created_wall_ms;
    m.restored_from = std::move(restored_from);
    return m;
  }
};

// A valid checkpoint or savepoint on disk.
struct CompletedCheckpoint {
  CheckpointMetadata metadata;
  std::string dir;       // the chk-<n> or savepoint directory
  std::string base_dir;  // state handles are relative to this
  std::string job_dir;   // the job directory; empty for a savepoint

  int64_t id() const { return metadata.checkpoint_id; }
  SnapshotLocation location(FileSystem* fs) const;
};

class CheckpointStorage {
 public:
  CheckpointStorage(FileSystem* fs, std::string checkpoints_dir, std::string savepoints_dir)
      : fs_(fs),
        checkpoints_dir_(std::move(checkpoints_dir)),
        savepoints_dir_(std::move(savepoints_dir)) {}

  static std::string NewJobId();
  std::string JobDir(const std::string& job_id) const { return JoinPath(checkpoints_dir_, job_id); }
  static std::string CheckpointDirName(int64_t id) { return "chk-" + std::to_string(id); }

  // Keeps every other process from running job `job_name` on this checkpoint directory while
  // the lock lives (a lock file in it, released when the process ends, even by kill -9).
  // Taken before anything is read or written, so a second process fails at once, naming the
  // first.
  Result<std::unique_ptr<FileLock>> LockJob(const std::string& job_name) const;

  // Creates the job directory of a run with its manifest. The directories of ended runs of
  // the same job (see RetireJobDir) are deleted: the new run is now the latest.
  Status CreateJobDir(const JobManifest& manifest);
  Result<JobManifest> ReadManifest(const std::string& job_dir) const;
  // Records in the run's manifest that checkpoints `ids` are abandoned (see JobManifest).
  Status AbandonCheckpoints(const std::string& job_dir, const std::vector<int64_t>& ids) const;
  // Marks the run ended (`how`: FINISHED, CANCELED, FAILED), then deletes its checkpoints,
  // leaving only the manifest. A later "latest" lookup then reports that the last run ended,
  // instead of taking an older run's checkpoint or, after a crash during the deletion, a
  // half-deleted one.
  Status RetireJobDir(const std::string& job_dir, std::string_view how, int64_t wall_ms) const;

  // Creates <job dir>/chk-<id>/ and returns where its files go.
  Result<SnapshotLocation> InitCheckpoint(const std::string& job_id, int64_t id) const;
  // Creates a new savepoint directory under `target_dir` (empty: the default savepoint dir).
  Result<SnapshotLocation> InitSavepoint(const std::string& job_id,
                                         const std::string& target_dir) const;
  // Writes _metadata atomically; after this the checkpoint exists.
  Status WriteMetadata(const SnapshotLocation& location, const CheckpointMetadata& m) const;
  // Deletes a checkpoint's own directory (not shared files).
  Status Discard(const std::string& dir) const;

  // A checkpoint or savepoint by path (its directory or its _metadata file), fully verified.
  Result<CompletedCheckpoint> Load(const std::string& path) const;
  // The newest valid checkpoint of the latest run of `job_name`. Skipped checkpoints are
  // described in `warnings` (file and reason).
  Result<CompletedCheckpoint> FindLatest(const std::string& job_name,
                                         std::vector<std::string>* warnings) const;
  // Every valid checkpoint in a job directory with id <= max_id, oldest first.
  std::vector<CompletedCheckpoint> LoadAll(const std::string& job_dir, int64_t max_id,
                                           std::vector<std::string>* warnings) const;
  // Ids of all chk-<n> directories, valid or not.
  Result<std::vector<int64_t>> ListCheckpointIds(const std::string& job_dir) const;

  // Deletes files under shared/ that no retained checkpoint refers to and that were written
  // by checkpoints up to `max_checkpoint_id` (later ones may still be in progress).
  Status SweepSharedFiles(const std::string& job_dir, const std::set<std::string>& referenced,
                          int64_t max_checkpoint_id) const;
  // The highest checkpoint id a job directory uses: in chk-<n> directories or in the names of
  // shared files (SharedStateFileName). A new id must be above it.
  Result<int64_t> MaxCheckpointIdInUse(const std::string& job_dir) const;

  FileSystem* fs() const { return fs_; }
  const std::string& checkpoints_dir() const { return checkpoints_dir_; }
  const std::string& savepoints_dir() const { return savepoints_dir_; }

 private:
  Status WriteManifest(const std::string& job_dir, const JobManifest& m) const;

  FileSystem* fs_;
  std::string checkpoints_dir_;
  std::string savepoints_dir_;
};

}  // namespace weir
