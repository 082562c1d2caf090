// Checkpoint messages: what the coordinator and the tasks tell each other about a checkpoint.
//
//   coordinator -> source tasks      CheckpointBarrier (injected into the streams, flows down)
//   task -> coordinator              CheckpointAcknowledgement, or CheckpointDecline
//   coordinator -> tasks             CheckpointCompleted (sinks commit), CheckpointAborted
//
// Plain values: ids, timestamps, paths and state descriptions, never pointers into the
// process (a barrier names where state goes by path; each process resolves it on its own
// file system), so the same messages can cross a process boundary once tasks run elsewhere.
// Model: Flink's CheckpointBarrier, AcknowledgeCheckpoint, DeclineCheckpoint and
// NotifyCheckpointComplete. Value types; thread-safe to copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_metadata.h"
#include "state/snapshot_location.h"
#include "weir/status.h"

namespace weir {

// A stop-with-savepoint is synchronous, as in Flink: a task that took it processes nothing
// more until the savepoint completes (then it stops) or fails (then it carries on), so the
// job's output ends exactly where the savepoint is.
enum class CheckpointType : uint8_t { kCheckpoint, kSavepoint, kStopWithSavepoint };

// Where the state files of one checkpoint go, by path: the checkpoint's base directory and
// its own directory relative to it ("chk-7"; empty for a savepoint, which is its own base).
struct CheckpointLocationRef {
  std::string base_dir;
  std::string exclusive_dir;

  static CheckpointLocationRef Of(const SnapshotLocation& location) {
    return {location.base_dir(), location.exclusive_dir()};
  }
  SnapshotLocation Resolve(FileSystem* fs) const {
    return SnapshotLocation(fs, base_dir, exclusive_dir);
  }
};

// Starts checkpoint `id` at the sources and travels in-band, after the records it follows.
struct CheckpointBarrier {
  int64_t id = 0;
  int64_t timestamp_ms = 0;  // wall-clock time of the trigger
  CheckpointType type = CheckpointType::kCheckpoint;
  CheckpointLocationRef location = {};
  // A stop that first ends event time (Flink's `stop --drain`): sources emit the maximum
  // watermark before the barrier, so every event-time timer and window fires into the output
  // the savepoint covers.
  bool drain = false;

  // A savepoint writes the self-contained canonical format, never incremental files.
  bool is_savepoint() const { return type != CheckpointType::kCheckpoint; }
  bool is_stop() const { return type == CheckpointType::kStopWithSavepoint; }
};

// The state one operator subtask contributed to a checkpoint.
struct OperatorSubtaskState {
  std::string uid;
  int subtask = 0;
  SubtaskState state;
};

// A task subtask's part of a checkpoint is written: the state of each operator in its chain.
struct CheckpointAcknowledgement {
  int64_t checkpoint_id = 0;
  int task_index = 0;  // index of the task subtask in the job (0 .. number of tasks - 1)
  std::vector<OperatorSubtaskState> states;
  int64_t start_delay_ms = 0;  // from the trigger to the first barrier reaching the task
  int64_t alignment_ms = 0;    // barrier alignment before the snapshot
  int64_t sync_ms = 0;         // the snapshot on the task thread
  int64_t async_ms = 0;        // writing it off the task thread
};

// A task subtask could not take its part of a checkpoint; the checkpoint fails.
struct CheckpointDecline {
  int64_t checkpoint_id = 0;
  int task_index = 0;
  Status reason;
};

// Checkpoint `checkpoint_id` is complete: tasks commit what it covers. `final`: the checkpoint
// taken after all data ended; the tasks may finish once notified.
struct CheckpointCompleted {
  int64_t checkpoint_id = 0;
  bool final = false;
};

// Checkpoint `checkpoint_id` will not complete: tasks drop what they prepared for it.
struct CheckpointAborted {
  int64_t checkpoint_id = 0;
};

}  // namespace weir
