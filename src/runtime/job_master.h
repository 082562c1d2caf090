// JobMaster: runs one job inside this process, from deployment to its final status.
//
// It owns the control thread. Tasks, snapshot threads and the user (Cancel) only post events
// to it; the control thread alone drives the CheckpointCoordinator, deploys and cancels task
// attempts and applies the restart strategy, so none of that needs locks beyond the event
// queue. On a task failure (or too many failed checkpoints) it cancels every task, waits for
// them and for in-flight snapshot writes, and, if the restart strategy allows, redeploys all
// tasks restored from the latest completed checkpoint.
//
// Restore at start (execution.state-recovery.path): "latest" resumes the newest valid
// checkpoint of the last run of this job, skipping (with a warning naming the file and
// reason) any that is partial or corrupt; a path restores that checkpoint or savepoint. A
// restore from a checkpoint continues in its job directory; state is redistributed by key
// group (keyed state) and by list (operator state) when parallelism changed.
//
// Thread-safety: Start/Wait/Cancel/metrics from any thread; TaskHost methods from task and
// snapshot threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint_coordinator.h"
#include "checkpoint/checkpoint_stats.h"
#include "checkpoint/checkpoint_storage.h"
#include "metrics/metric_registry.h"
#include "runtime/async_executor.h"
#include "runtime/execution_graph.h"
#include "runtime/job_graph.h"
#include "runtime/restart_strategy.h"
#include "runtime/source_coordinators.h"
#include "runtime/task_gateway.h"
#include "weir/configuration.h"
#include "weir/detail/watermark_alignment.h"
#include "weir/job.h"

namespace weir {

// What the REST API shows of a job beyond JobMetrics (job_master_info.cc).
struct JobStatusInfo {
  JobStatus status = JobStatus::kCreated;
  int restarts = 0;
  int64_t start_wall_ms = 0;
  int64_t end_wall_ms = 0;  // 0 while it runs
  // When the job last entered each status (indexed by JobStatus); 0: never.
  std::array<int64_t, 6> timestamps = {};
};

struct JobFailure {
  int64_t wall_ms = 0;
  Status cause;
  bool restarted = false;  // the restart strategy restarted the job after it
};

// One task subtask of the current attempt, as the REST API shows it.
struct TaskExecutionSnapshot {
  int vertex = 0;  // index into JobGraph::vertices()
  int subtask = 0;
  int attempt = 0;
  int state = 0;  // TaskExecutionInfo::State
  int64_t start_wall_ms = 0;
  int64_t end_wall_ms = 0;
};

class JobMaster final : public TaskHost {
 public:
  JobMaster(const detail::GraphBuilder* graph, std::string job_name, Configuration config,
            FileSystem* fs, Clock* clock);
  ~JobMaster() override;

  // Validates the job and configuration, resolves the restore, and starts running. An error
  // here means the job never started.
  Status Start();
  JobResult Wait();
  void Cancel();
  // Takes a savepoint into `target_dir` (empty: the configured savepoint directory) and
  // returns its path; with `stop`, then commits it and stops the job (status FINISHED, as
  // Flink's stop-with-savepoint). Blocks until done; an error leaves the job running.
  Result<std::string> TriggerSavepoint(const std::string& target_dir, bool stop,
                                       bool drain = false);
  JobMetrics metrics() const;
  const std::string& job_id() const { return job_id_; }

  // For the REST API and the metrics (job_master_info.cc). Any thread, once Start succeeded.
  // As TriggerSavepoint, without waiting.
  std::future<Result<std::string>> TriggerSavepointAsync(const std::string& target_dir,
                                                         bool stop, bool drain = false);
  // Triggers a checkpoint now (Flink's POST /jobs/:jobid/checkpoints), or as soon as the
  // checkpoints in progress allow; the future gets its id once it completes, or why it failed.
  std::future<Result<int64_t>> TriggerCheckpointAsync();
  JobStatusInfo status_info() const;
  std::vector<JobFailure> failures() const;
  std::vector<TaskExecutionSnapshot> task_executions() const;
  const JobGraph& graph() const { return *graph_; }
  const std::string& job_name() const { return job_name_; }
  const Configuration& config() const { return config_; }
  const CheckpointOptions& checkpointing() const { return checkpointing_; }
  CheckpointStatsTracker& checkpoint_stats() { return *checkpoint_stats_; }
  MetricRegistry& metric_registry() { return *metric_registry_; }

  // TaskHost
  void TaskRunning(int task_index) override;
  void TaskDataFinished(int task_index) override;
  void TaskExited(int task_index, const Status& status) override;
  void CheckpointAcknowledged(CheckpointAcknowledgement ack) override;
  void CheckpointDeclined(const CheckpointDecline& decline) override;
  AsyncExecutor& snapshot_executor() override { return *executor_; }

 private:
  struct Event {
    enum class Kind { kRunning, kDataFinished, kExited, kAck, kDecline } kind;
    int task = 0;
    int64_t checkpoint_id = 0;
    Status status;
    std::shared_ptr<CheckpointAcknowledgement> ack;
  };

  struct SavepointRequest {
    std::string target_dir;
    bool stop = false;
    bool drain = false;
    std::promise<Result<std::string>> done;
  };

  void StartNextSavepoint();
  void OnSavepointCompleted(const CheckpointCoordinator::Completion& c);
  void FailSavepoints();
  void FailAllSavepointRequests(const Status& why);

  Status Prepare();
  void Run();
  Status DeployAttempt();
  void CancelAttempt(std::string_view reason);
  // Handles a failure: restarts (returns true) or decides the job failed (false).
  bool HandleFailure(Status cause);
  // Picks the checkpoint to restore and waits out the restart delay; false if the job was
  // cancelled meanwhile.
  bool WaitToRestart(std::chrono::milliseconds delay);
  void TriggerCheckpointIfDue();
  // Whether every task of the current attempt restored its state and opened.
  bool AllTasksRunning() const;
  void NotifyCompleted(int64_t id);
  // Every task of a restored attempt runs: newer checkpoints of the restored run are a dead
  // end now, and tasks may do their destructive recovery work.
  void ConfirmRestore();
  // The settings in force, for the start-up log: state backend, checkpoints, retention.
  std::string DescribeSettings() const;
  void InjectBarrier(const CheckpointBarrier& barrier);
  void NotifyAborted();
  void Post(Event e);
  void SetStatus(JobStatus s);
  void SetStatusLocked(JobStatus s);  // with mu_ held
  // Requested checkpoints (TriggerCheckpointAsync), on the control thread.
  void StartRequestedCheckpoints();
  void ResolveCheckpointRequests(int64_t id, const Status& failure);
  void FailCheckpointRequests(const Status& why);
  void RecordFailure(const Status& cause, bool restarted);
  void RegisterJobMetrics();

  const detail::GraphBuilder* graph_builder_;
  std::string job_name_;
  Configuration config_;
  FileSystem* fs_;
  Clock* clock_;

  // Set up by Prepare().
  std::unique_ptr<JobGraph> graph_;
  CheckpointOptions checkpointing_;
  std::unique_ptr<CheckpointStorage> storage_;
  std::unique_ptr<FileLock> job_lock_;  // this process runs the job on the checkpoint dir
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::unique_ptr<RestartStrategy> restart_strategy_;
  std::unique_ptr<AsyncExecutor> executor_;
  std::unique_ptr<CheckpointStatsTracker> checkpoint_stats_;
  SourceCoordinators sources_;  // the sources' enumerators, for the current attempt
  // Outlives every task: a task's source leaves its group when the source is destroyed.
  detail::WatermarkAlignmentGroups alignment_groups_;
  std::unique_ptr<MetricRegistry> metric_registry_;
  std::unique_ptr<MetricRegistry::Group> job_metrics_;
  TaskEnvironment env_;
  bool debloat_ = true;  // taskmanager.network.memory.buffer-debloat.enabled
  bool ignore_unclaimed_state_ = false;
  std::string job_id_;
  // What the current attempt restores from; null for a fresh start.
  std::shared_ptr<const CompletedCheckpoint> restore_from_;

  // Control-thread state.
  std::unique_ptr<ExecutionGraph> attempt_;  // written under mu_ (metrics read it)
  int running_ = 0;  // tasks of the current attempt that restored and opened
  bool restore_confirmed_ = false;  // of the current attempt
  bool abandoned_recorded_ = false;
  bool restore_found_corruption_ = false;  // a restore failed on a corrupt checkpoint
  int64_t first_own_checkpoint_id_ = 0;  // ids below it (and above the restored one) are older
  int data_finished_ = 0;
  int exited_ok_ = 0;
  int64_t final_checkpoint_id_ = 0;
  int64_t start_nanos_ = 0;
  std::unique_ptr<SavepointRequest> active_savepoint_;
  int64_t active_savepoint_id_ = 0;
  // Stop-with-savepoint succeeded: tasks are stopping (after a failure, a restart restores
  // that savepoint and stops again).
  bool stopping_ = false;
  std::string stopped_with_savepoint_;
  // Checkpoints requested by TriggerCheckpointAsync, by the id that answers them.
  std::map<int64_t, std::vector<std::promise<Result<int64_t>>>> awaited_checkpoints_;

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;                                          // guarded by mu_
  std::deque<std::unique_ptr<SavepointRequest>> savepoint_requests_;  // guarded by mu_
  std::vector<std::promise<Result<int64_t>>> checkpoint_requests_;    // guarded by mu_
  JobStatus status_ = JobStatus::kCreated;                            // guarded by mu_
  JobStatusInfo status_info_;                                         // guarded by mu_
  std::deque<JobFailure> failures_;                                   // guarded by mu_
  int restarts_ = 0;                                                  // guarded by mu_
  CheckpointMetrics checkpoint_metrics_;                              // guarded by mu_
  std::atomic<bool> cancel_requested_{false};
  bool done_ = false;  // guarded by mu_
  JobResult result_;   // guarded by mu_, valid once done_
};

}  // namespace weir
