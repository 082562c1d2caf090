// StreamTask: one parallel subtask of a chain of operators, running on its own thread.
//
// The thread runs a mailbox loop. Each turn it runs queued mail (checkpoint triggers for
// sources, completion notices, cancellation), fires due timers, and then, if its outputs have
// room, processes one batch: a source emits one, other tasks take one envelope from their
// input gate. With nothing to do it flushes partly filled output batches and sleeps until
// woken. Everything an operator touches is owned by this thread.
//
// Checkpoints: at a barrier (aligned across inputs in exactly-once mode) the task lets
// operators emit what belongs before the barrier, forwards the barrier, captures operator and
// keyed state, and hands the slow writing to the AsyncExecutor; the acknowledgement goes to
// the TaskHost when the state is durable.
//
// End of input (FLIP-147): a source at its end emits end-of-data; every task, once all its
// inputs ended their data, finishes its operators and passes end-of-data on. With
// checkpointing, tasks stay up until the final checkpoint (triggered after every task's data
// ended) completes, so sinks commit everything before the job reports success; then
// end-of-partition flows down and the tasks exit.
//
// Thread-safety: Start/Join/Cancel and the Post* methods may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint_coordinator.h"
#include "checkpoint/checkpoint_storage.h"
#include "runtime/async_executor.h"
#include "runtime/barrier_aligner.h"
#include "runtime/channel.h"
#include "runtime/input_gate.h"
#include "runtime/job_graph.h"
#include "runtime/mailbox.h"
#include "runtime/operator_chain.h"
#include "state/keyed_state_backend.h"

namespace weir {

// What a task reports to, implemented by the JobMaster. Called from task and snapshot threads.
class TaskHost {
 public:
  virtual ~TaskHost() = default;
  virtual void TaskDataFinished(int task_index) = 0;
  // The task thread ended: OK (finished), Cancelled, or the failure.
  virtual void TaskExited(int task_index, const Status& status) = 0;
  virtual void CheckpointAcknowledged(int64_t id, TaskAcknowledgement ack) = 0;
  virtual void CheckpointDeclined(int64_t id, int task_index, const Status& reason) = 0;
  virtual AsyncExecutor& snapshot_executor() = 0;
};

// State one operator subtask starts from.
struct OperatorRestore {
  detail::OperatorState operator_state;
  std::vector<KeyedStateHandle> keyed;  // handles whose key groups overlap this subtask's
};

struct TaskRestore {
  std::shared_ptr<const CompletedCheckpoint> checkpoint;
  std::map<std::string, OperatorRestore, std::less<>> operators;  // by uid
};

struct TaskSpec {
  int task_index = 0;
  const JobVertex* vertex = nullptr;
  int subtask = 0;
  std::vector<std::shared_ptr<Channel>> inputs;
  std::vector<std::vector<std::shared_ptr<Channel>>> outputs;  // per output edge
  std::shared_ptr<TaskWaker> waker;
  std::shared_ptr<const TaskRestore> restore;  // null: fresh start
};

class StreamTask {
 public:
  StreamTask(const JobGraph& graph, TaskSpec spec, const TaskEnvironment* env, TaskHost* host);
  ~StreamTask();

  void Start();
  void Join();
  // Stops the task at the next opportunity; its thread reports Cancelled. Idempotent.
  void Cancel();

  // Sources only: inject the barrier of a new checkpoint.
  void PostTriggerCheckpoint(const CheckpointBarrier& barrier);
  // `final`: the checkpoint taken after all data ended; the task may finish once notified.
  void PostCheckpointComplete(int64_t id, bool final);
  void PostCheckpointAborted(int64_t id);
  // Stops the task after the mail posted before this (stop-with-savepoint): it exits normally.
  void PostStop();

  const std::string& name() const { return name_; }
  int task_index() const { return spec_.task_index; }
  const JobVertex& vertex() const { return *spec_.vertex; }
  // Records each operator of the chain processed so far (any thread).
  std::vector<uint64_t> RecordCounts() const;

 private:
  void Run();
  Status RunInternal();
  Status InitializeState();
  Status MainLoop();
  Status ProcessInput(bool* did_work);
  Status EmitFromSource();
  void HandleEndOfData();
  void EmitEndOfPartition();
  Status PerformCheckpoint(const CheckpointBarrier& barrier);
  Status FireTimers();
  bool OutputsAvailable() const;
  void FlushOutputs();
  void MaybeFlushOnTimeout();
  // When the task must wake up even if nothing arrives: the next timer, and the buffer
  // timeout of partly filled output batches (only when they can be flushed at all).
  int64_t NextWakeupNanos(bool outputs_available) const;
  void CloseOperators();
  // Runs `fn` (an operator call); exceptions become the task's failure.
  Status Guard(const std::function<void()>& fn);

  const JobGraph& graph_;
  TaskSpec spec_;
  const TaskEnvironment* env_;
  TaskHost* host_;
  std::string name_;
  Mailbox mailbox_;
  OperatorChain chain_;
  std::unique_ptr<KeyedStateBackend> backend_;
  std::unique_ptr<InputGate> gate_;
  std::unique_ptr<BarrierAligner> aligner_;
  std::vector<Channel*> output_channels_;
  detail::SourceOperatorBase* source_ = nullptr;
  std::thread thread_;
  std::atomic<bool> cancelled_{false};
  int clock_subscription_ = -1;

  // Task-thread state.
  Status mail_failure_;          // an error raised by a mailbox action
  bool data_finished_ = false;   // this task's input data ended and operators finished
  bool partition_done_ = false;  // end-of-partition sent downstream: the task is done
  bool final_notified_ = false;  // the final checkpoint completed
  bool stop_requested_ = false;  // stop-with-savepoint
  int inputs_data_ended_ = 0;
  int inputs_finished_ = 0;
  std::vector<bool> input_data_ended_;
  int64_t pending_since_nanos_ = 0;
};

}  // namespace weir
