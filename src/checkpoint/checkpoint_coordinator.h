// CheckpointCoordinator: triggers checkpoints, collects acknowledgements, completes them.
//
// Flink's asynchronous barrier snapshots: the coordinator picks an id and tells the source
// tasks, which inject a barrier into their output; every task snapshots when the barrier
// passes (after aligning its inputs in exactly-once mode) and acknowledges once its state is
// written. When every task subtask has acknowledged, the coordinator writes _metadata and the
// checkpoint exists; tasks are then notified (sinks commit). Checkpoints that are declined,
// expire or fail to write are counted; more consecutive failures than
// tolerable-failed-checkpoints fail the job. Completed checkpoints beyond num-retained are
// deleted, and so is every directory or shared file no retained checkpoint needs.
//
// Thread-safety: not thread-safe; the JobMaster calls it from its own thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "checkpoint/checkpoint_messages.h"
#include "checkpoint/checkpoint_metadata.h"
#include "checkpoint/checkpoint_options.h"
#include "checkpoint/checkpoint_stats.h"
#include "checkpoint/checkpoint_storage.h"
#include "weir/job.h"

namespace weir {

struct CheckpointOperatorInfo {
  std::string uid;
  std::string name;
  int parallelism = 0;
  int max_parallelism = 0;
};

class CheckpointCoordinator {
 public:
  struct Options {
    CheckpointOptions checkpointing;
    std::string job_id;
    std::string job_name;
    std::vector<CheckpointOperatorInfo> operators;
    int num_tasks = 0;  // task subtasks that must acknowledge
    CheckpointStatsTracker* stats = nullptr;  // told of every checkpoint; may be null
  };

  struct Trigger {
    int64_t id;
    int64_t wall_ms;
    SnapshotLocation location;
    CheckpointType type = CheckpointType::kCheckpoint;
    bool drain = false;

    // The barrier that starts it at the sources.
    CheckpointBarrier Barrier() const {
      return CheckpointBarrier{id, wall_ms, type, CheckpointLocationRef::Of(location), drain};
    }
  };

  CheckpointCoordinator(Options options, CheckpointStorage* storage, Clock* clock);

  // Checkpoints already on disk that this run owns (after a restore from its job directory),
  // oldest first, and the first id to use.
  void Initialize(std::vector<CompletedCheckpoint> retained, int64_t next_id);

  // Starts a checkpoint if one is due. `force` ignores the interval and min-pause (the final
  // checkpoint at end of input) but not max-concurrent-checkpoints. Returns nothing when no
  // checkpoint starts; an error when one could not be started (counted as a failure).
  Result<std::optional<Trigger>> MaybeTrigger(bool force);
  // Monotonic time (Clock::NowNanos) at which a periodic trigger is next due.
  int64_t NextTriggerNanos() const;
  // Whether checkpoints in progress hold the next trigger back (max-concurrent-checkpoints
  // reached, or a min pause with one pending): only an acknowledgement, decline or timeout
  // can then let one start, however late it is due.
  bool TriggerHeldBack() const;

  // Starts a savepoint: a checkpoint in the self-contained canonical format, written to
  // `target_dir` (empty: the configured savepoint directory). It is not retained or subsumed
  // like checkpoints, and its failure does not count towards tolerable-failed-checkpoints.
  // Allowed with checkpointing disabled.
  // `stop`: a stop-with-savepoint (tasks wait after it; see CheckpointType).
  // `drain` (with `stop`): end event time first (CheckpointBarrier::drain).
  Result<Trigger> TriggerSavepoint(const std::string& target_dir, bool stop = false,
                                   bool drain = false);

  struct Completion {
    int64_t id;
    bool savepoint;
    std::string path;  // the savepoint's directory
  };
  // Returns the completion when this acknowledgement completed checkpoint or savepoint `id`
  // (tasks must then be notified of a checkpoint). Acknowledgements for unknown or aborted
  // ones are ignored.
  std::optional<Completion> Acknowledge(int64_t id, CheckpointAcknowledgement ack);
  // Savepoints that failed since the last call, with why; clears the list.
  std::vector<std::pair<int64_t, Status>> TakeFailedSavepoints();
  void Decline(int64_t id, const Status& reason);
  // Expires checkpoints older than the timeout.
  void CheckTimeouts();
  // Aborts every pending checkpoint without counting failures (failover, cancel, end).
  void AbortAll(std::string_view reason);

  // The checkpoints that failed and should be reported to tasks as aborted; clears the list.
  std::vector<int64_t> TakeAborted();
  // Set when more consecutive checkpoints failed than tolerated.
  const Status& failure() const { return failure_; }
  void ClearFailure() {
    failure_ = Status::OK();
    consecutive_failures_ = 0;
  }

  const CompletedCheckpoint* latest() const {
    return completed_.empty() ? nullptr : &completed_.back();
  }
  int pending_count() const { return static_cast<int>(pending_.size()); }
  bool IsPending(int64_t id) const { return pending_.contains(id); }

  // When the job ends: deletes its checkpoints unless the retention policy keeps them, or the
  // job failed after a restore found a checkpoint corrupt (`restore_found_corruption`): then
  // all stay, whatever the policy, for an older one to restore.
  void Shutdown(JobStatus final_status, bool restore_found_corruption = false);

  CheckpointMetrics metrics() const { return metrics_; }
  void SetRestoredFrom(int64_t id, const std::string& path, bool savepoint = false) {
    metrics_.restored_from_id = id;
    metrics_.restored_from_path = path;
    metrics_.restored_from_savepoint = savepoint;
    if (options_.stats != nullptr) {
      options_.stats->ReportRestored(id, clock_->WallMillis(), path, savepoint);
    }
  }

 private:
  struct Pending {
    int64_t id;
    int64_t trigger_nanos;
    int64_t trigger_wall_ms;
    SnapshotLocation location;
    std::map<int, CheckpointAcknowledgement> acks;  // by task index
    int64_t max_start_delay_ms = 0;
    int64_t max_alignment_ms = 0;
    int64_t max_sync_ms = 0;
    int64_t max_async_ms = 0;
    bool savepoint = false;
  };

  // Writes the metadata; returns false (after failing the checkpoint) if that did not work.
  bool Complete(Pending& p);
  std::optional<Completion> CompleteSavepoint(Pending& p, CheckpointMetadata m);
  CheckpointMetadata BuildMetadata(Pending& p, Status* error);
  // Ends checkpoint `id` as failed (counted towards tolerable-failed-checkpoints if
  // `counts`), deleting its directory unless `discard_dir` is false.
  void Fail(int64_t id, const Status& reason, bool counts, bool discard_dir = true);
  void DiscardFailedSavepointAgain(int64_t id);
  void CleanUpAfterCompletion(int64_t completed_id);

  Options options_;
  CheckpointStorage* storage_;
  Clock* clock_;
  std::string job_dir_;
  int64_t next_id_ = 1;
  int64_t last_trigger_nanos_;
  // When the last checkpoint completed; nullopt before the first (a manual clock starts at 0,
  // so 0 cannot mean "never").
  std::optional<int64_t> last_completion_nanos_;
  std::map<int64_t, Pending> pending_;
  std::deque<CompletedCheckpoint> completed_;
  std::vector<int64_t> aborted_;
  std::vector<std::pair<int64_t, Status>> failed_savepoints_;
  // The directories of failed savepoints, discarded again when a task reports on one late and
  // when the job ends: a task's write in flight at the failure can land after the first discard.
  std::map<int64_t, std::string> failed_savepoint_dirs_;
  int consecutive_failures_ = 0;
  Status failure_;
  CheckpointMetrics metrics_;
};

}  // namespace weir
