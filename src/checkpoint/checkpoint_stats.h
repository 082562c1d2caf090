// CheckpointStatsTracker: what the REST API and the metrics tell about a job's checkpoints,
// as Flink's CheckpointStatsTracker: counts, the recent history (in progress, completed and
// failed, savepoints among them, with each task's acknowledgements), the latest of each
// kind, what the job was restored from, and a summary (min, max, average and percentiles)
// of the completed ones.
//
// The CheckpointCoordinator reports to it as checkpoints are triggered, acknowledged,
// completed and failed; readers take a snapshot.
//
// Thread-safety: thread-safe (one mutex); reports come from the job master's thread,
// snapshots from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_messages.h"
#include "checkpoint/checkpoint_metadata.h"

namespace weir {

struct SubtaskCheckpointStats {
  int64_t ack_wall_ms = 0;
  uint64_t state_size = 0;
  uint64_t checkpointed_size = 0;  // what this checkpoint wrote (see StateSizes)
  int64_t sync_ms = 0;
  int64_t async_ms = 0;
  int64_t alignment_ms = 0;
  int64_t start_delay_ms = 0;  // from the trigger to the first barrier at the task
};

struct CheckpointStats {
  enum class Status { kInProgress, kCompleted, kFailed };
  int64_t id = 0;
  Status status = Status::kInProgress;
  CheckpointType type = CheckpointType::kCheckpoint;
  int64_t trigger_wall_ms = 0;
  int64_t latest_ack_wall_ms = 0;  // 0 before the first acknowledgement
  int64_t end_wall_ms = 0;         // completed or failed
  uint64_t state_size = 0;         // acknowledged so far; the whole when completed
  uint64_t checkpointed_size = 0;  // the same, of what this checkpoint wrote (StateSizes)
  int64_t alignment_ms = 0;        // longest of any task
  int num_subtasks = 0;
  std::map<int, SubtaskCheckpointStats> acks;  // by task index
  std::string external_path;                   // completed: its directory
  std::string failure_message;                 // failed

  bool savepoint() const { return type != CheckpointType::kCheckpoint; }
  // Trigger to completion (or to the latest acknowledgement while in progress), in ms.
  int64_t end_to_end_ms() const;
};

struct RestoredCheckpointStats {
  int64_t id = 0;
  int64_t restore_wall_ms = 0;
  bool savepoint = false;
  std::string external_path;
};

// min, max, average and percentiles of a series.
struct StatsSummary {
  int64_t count = 0;
  int64_t min = 0, max = 0, avg = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0;
};
StatsSummary Summarize(std::vector<int64_t> values);

struct CheckpointStatsSnapshot {
  int64_t restored = 0;  // restores, the first start from a checkpoint included
  int64_t total = 0;     // triggered
  int64_t in_progress = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  std::vector<CheckpointStats> history;  // newest first
  std::optional<CheckpointStats> latest_completed;
  std::optional<CheckpointStats> latest_savepoint;
  std::optional<CheckpointStats> latest_failed;
  std::optional<RestoredCheckpointStats> latest_restored;
  StatsSummary state_size;
  StatsSummary checkpointed_size;
  StatsSummary end_to_end_duration;
  StatsSummary alignment;
};

class CheckpointStatsTracker {
 public:
  // `num_subtasks`: task subtasks that acknowledge each checkpoint; `history_size`: how many
  // recent checkpoints the history keeps (Flink's web.checkpoints.history is 10).
  explicit CheckpointStatsTracker(int num_subtasks, size_t history_size = 100);

  void ReportTriggered(int64_t id, CheckpointType type, int64_t trigger_wall_ms);
  void ReportAcknowledged(int64_t id, int task_index, int64_t wall_ms,
                          const SubtaskCheckpointStats& stats);
  void ReportCompleted(int64_t id, int64_t wall_ms, StateSizes sizes, std::string path);
  void ReportFailed(int64_t id, int64_t wall_ms, std::string message);
  void ReportRestored(int64_t id, int64_t wall_ms, std::string path, bool savepoint);

  CheckpointStatsSnapshot Snapshot() const;
  // One checkpoint of the history, or nullopt if it is not (or no longer) there.
  std::optional<CheckpointStats> Find(int64_t id) const;
  // Why checkpoint `id` failed; empty if it did not, or is forgotten.
  std::string FailureOf(int64_t id) const;

 private:
  CheckpointStats* FindLocked(int64_t id);
  void RecordSummaryLocked(const CheckpointStats& c);

  const int num_subtasks_;
  const size_t history_size_;
  mutable std::mutex mu_;
  std::deque<CheckpointStats> history_;  // oldest first; guarded by mu_
  int64_t restored_ = 0, total_ = 0, completed_ = 0, failed_ = 0;
  std::optional<CheckpointStats> latest_completed_, latest_savepoint_, latest_failed_;
  std::optional<RestoredCheckpointStats> latest_restored_;
  // The last completed checkpoints' figures, for the summary (at most kSummaryWindow).
  std::deque<int64_t> sizes_, checkpointed_sizes_, durations_, alignments_;
};

}  // namespace weir
