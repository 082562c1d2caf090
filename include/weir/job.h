// JobResult, JobMetrics and JobClient: what a running or finished job reports.
//
// JobClient is thread-safe: metrics() may be polled from any thread (the progress display
// does) while the job runs; Cancel() may be called from any thread, including a signal
// handler's helper thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weir/status.h"

namespace weir {

enum class JobStatus { kCreated, kRunning, kRestarting, kFinished, kFailed, kCanceled };
constexpr std::string_view JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kCreated:
      return "CREATED";
    case JobStatus::kRunning:
      return "RUNNING";
    case JobStatus::kRestarting:
      return "RESTARTING";
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kFailed:
      return "FAILED";
    case JobStatus::kCanceled:
      return "CANCELED";
  }
  return "UNKNOWN";
}

struct OperatorMetrics {
  std::string name;
  std::string uid;
  int parallelism = 0;
  uint64_t records = 0;  // consumed (sources: emitted), summed over subtasks
  bool source = false;   // reads the job's input
};

// One completed checkpoint.
struct CompletedCheckpointStats {
  int64_t id = 0;
  int64_t duration_ms = 0;  // trigger to completion
  uint64_t size_bytes = 0;   // all the state it holds
  int64_t alignment_ms = 0;  // longest barrier alignment in any task
  // What it wrote itself: less than size_bytes when an incremental checkpoint reuses files
  // earlier ones wrote (Flink's checkpointed size).
  uint64_t checkpointed_bytes = 0;
  // The longest in any task of its synchronous part (the task thread's, from the barrier to
  // the snapshot taken) and of its asynchronous part (writing the snapshot), as Flink's
  // checkpoint details report them.
  int64_t sync_ms = 0;
  int64_t async_ms = 0;
};

struct CheckpointMetrics {
  int64_t completed = 0;
  int64_t failed = 0;  // declined, expired or failed to write
  int64_t in_progress = 0;
  int64_t last_completed_id = 0;
  int64_t last_duration_ms = 0;
  uint64_t last_size_bytes = 0;
  uint64_t last_checkpointed_bytes = 0;  // see CompletedCheckpointStats
  int64_t last_alignment_ms = 0;  // longest barrier alignment of the last checkpoint
  int64_t last_completed_wall_ms = 0;
  int64_t restored_from_id = 0;  // 0: not restored
  std::string restored_from_path;
  bool restored_from_savepoint = false;
  // How the job's checkpoints ended up when it ended: the checkpoint kept for a later
  // --restore latest (empty: none), or deleted as the retention setting says.
  std::string kept_checkpoint;
  bool checkpoints_deleted = false;
  std::vector<CompletedCheckpointStats> history;  // the most recent ones, oldest first (<= 1000)
};

struct JobMetrics {
  JobStatus status = JobStatus::kCreated;
  int restarts = 0;
  std::vector<OperatorMetrics> operators;
  CheckpointMetrics checkpoints;
};

class JobResult {
 public:
  bool ok() const { return status.ok(); }
  // The job's error as text, or "" if it finished.
  std::string error() const { return status.ok() ? "" : status.ToString(); }

  Status status;  // OK when the job finished
  std::string job_id;
  std::string job_name;
  std::string savepoint_path;  // set when the job was stopped with a savepoint
  std::chrono::milliseconds duration{0};
  JobMetrics metrics;
};

class JobClient {
 public:
  virtual ~JobClient() = default;
  virtual const std::string& job_id() const = 0;
  virtual JobMetrics metrics() const = 0;
  // Stops the job: tasks are cancelled, no savepoint is taken; checkpoints are kept or
  // deleted as execution.checkpointing.externalized-checkpoint-retention says. Idempotent.
  virtual void Cancel() = 0;
  // Takes a savepoint of the running job (Flink's `flink savepoint`) into `target_dir`
  // (empty: execution.checkpointing.savepoint-dir) and returns its path. The job keeps
  // running; restore with execution.state-recovery.path = <path> (--restore <path>). Blocks
  // until the savepoint is complete.
  virtual Result<std::string> TriggerSavepoint(const std::string& target_dir = "") = 0;
  // Takes a savepoint, commits the output it covers and stops the job, which ends FINISHED
  // (Flink's `flink stop`). Returns the savepoint's path; on error the job keeps running.
  // `drain` (Flink's `stop --drain`): the sources first emit the maximum watermark, so every
  // event-time timer and window fires into the output the savepoint covers; meant for a job
  // that will not be resumed (a resumed one has fired every window already, and its event
  // time starts again from nothing: the maximum watermark is not restored).
  virtual Result<std::string> StopWithSavepoint(const std::string& target_dir = "",
                                                bool drain = false) = 0;
  // Blocks until the job ends and returns its result.
  virtual JobResult Wait() = 0;
};

}  // namespace weir
