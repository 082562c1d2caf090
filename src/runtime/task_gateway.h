// TaskGateway and TaskHost: the two directions between the JobMaster and a task subtask.
//
//   JobMaster --TaskGateway--> task   trigger a checkpoint (sources), notify completion or
//                                     abort, confirm a restore, stop (stop-with-savepoint),
//                                     cancel
//   task --TaskHost--> JobMaster      running, data finished, exited, checkpoint
//                                     acknowledged/declined
//
// Every call carries plain values (checkpoint/checkpoint_messages.h, Status), so either side
// could be replaced by a proxy that forwards the calls to another process. Calls return at
// once: a task acts on gateway calls in its own thread, in the order they were made.
//
// Thread-safety: TaskGateway methods from any thread. TaskHost methods are called from task
// and snapshot threads.
#pragma once

#include "checkpoint/checkpoint_messages.h"
#include "runtime/async_executor.h"
#include "weir/status.h"

namespace weir {

class TaskGateway {
 public:
  virtual ~TaskGateway() = default;
  // Sources only: inject the barrier of a new checkpoint or savepoint.
  virtual void TriggerCheckpoint(const CheckpointBarrier& barrier) = 0;
  virtual void NotifyCheckpointComplete(const CheckpointCompleted& notice) = 0;
  virtual void NotifyCheckpointAborted(const CheckpointAborted& notice) = 0;
  // Every task of the job restored its state and opened its operators: the restore is good,
  // and recovery work that destroys data (a sink's rewind) may run.
  virtual void NotifyRestoreConfirmed() = 0;
  // Exit normally once the calls made before this are handled (stop-with-savepoint).
  virtual void Stop() = 0;
  // Stop at the next opportunity; the task reports Cancelled. Idempotent.
  virtual void Cancel() = 0;
};

class TaskHost {
 public:
  virtual ~TaskHost() = default;
  // The task restored its state and opened its operators.
  virtual void TaskRunning(int task_index) = 0;
  virtual void TaskDataFinished(int task_index) = 0;
  // The task thread ended: OK (finished), Cancelled, or the failure.
  virtual void TaskExited(int task_index, const Status& status) = 0;
  virtual void CheckpointAcknowledged(CheckpointAcknowledgement ack) = 0;
  virtual void CheckpointDeclined(const CheckpointDecline& decline) = 0;
  // Where tasks write their checkpoint state off their own threads.
  virtual AsyncExecutor& snapshot_executor() = 0;
};

}  // namespace weir
