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
// Several inputs (a union, a two-input operator): the channels of all inputs form one input
// gate, so barriers align across all of them, and the task ends its data when every channel
// did. A two-input head gets each batch on the input its channel feeds.
//
// Event time: each input's channels' watermarks and idleness go through a WatermarkValve, and
// the inputs' watermarks are combined (CombinedWatermarkValve); the head operator gets the
// combined watermark, handles it and passes it on through the
// chain, so it leaves the task after every record it covers. A source emits the maximum
// watermark when its input ends.
//
// Thread-safety: Start/Join/Cancel and the Post* methods may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint_messages.h"
#include "runtime/async_executor.h"
#include "runtime/barrier_aligner.h"
#include "runtime/channel.h"
#include "runtime/combined_watermark_valve.h"
#include "runtime/input_gate.h"
#include "runtime/job_graph.h"
#include "runtime/mailbox.h"
#include "runtime/operator_chain.h"
#include "runtime/state_assignment.h"
#include "runtime/task_gateway.h"
#include "runtime/task_metrics.h"
#include "runtime/watermark_valve.h"
#include "state/keyed_state_backend.h"
#include "weir/detail/two_input_operator.h"

namespace weir {

struct TaskSpec {
  int task_index = 0;
  const JobVertex* vertex = nullptr;
  int subtask = 0;
  std::vector<std::shared_ptr<Channel>> inputs;
  std::vector<int> channel_inputs;  // per input channel: the head operator's input it feeds
  std::vector<std::vector<std::shared_ptr<Channel>>> outputs;  // per output edge
  std::shared_ptr<TaskWaker> waker;
  std::shared_ptr<const TaskRestore> restore;  // null: fresh start
};

class StreamTask final : public TaskGateway {
 public:
  StreamTask(const JobGraph& graph, TaskSpec spec, const TaskEnvironment* env, TaskHost* host);
  ~StreamTask() override;

  void Start();
  void Join();

  // TaskGateway: each call becomes mail, handled by the task thread in order.
  void TriggerCheckpoint(const CheckpointBarrier& barrier) override;
  void NotifyCheckpointComplete(const CheckpointCompleted& notice) override;
  void NotifyCheckpointAborted(const CheckpointAborted& notice) override;
  void NotifyRestoreConfirmed() override;
  void Stop() override;
  void Cancel() override;

  const std::string& name() const { return name_; }
  int task_index() const { return spec_.task_index; }
  int subtask() const { return spec_.subtask; }
  const JobVertex& vertex() const { return *spec_.vertex; }
  size_t num_input_channels() const { return spec_.inputs.size(); }
  size_t num_output_channels() const { return output_channels_.size(); }
  // Records each operator of the chain processed so far (any thread).
  std::vector<uint64_t> RecordCounts() const;
  // State and times of this attempt of the subtask (any thread).
  const TaskExecutionInfo& execution() const { return execution_; }

 private:
  void Run();
  Status RunInternal();
  Status InitializeState();
  Status MainLoop();
  Status ProcessInput(bool* did_work);
  Status EmitFromSource(bool* did_work);
  // Hands what the input's watermark valve emitted to the head operator.
  Status ForwardWatermark(const WatermarkValve::Output& out);
  void HandleEndOfData();
  void EmitEndOfPartition();
  // `reached_wall_ms`: when the checkpoint reached this task (the trigger at a source, the
  // first barrier elsewhere), the end of its start delay.
  Status PerformCheckpoint(const CheckpointBarrier& barrier, int64_t reached_wall_ms);
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
  std::unique_ptr<CombinedWatermarkValve> valve_;
  // Operators with wall-clock work of their own (OnPeriodicTime), in chain order.
  std::vector<detail::StreamOperator*> periodic_;
  std::vector<Channel*> output_channels_;
  detail::SourceOperatorBase* source_ = nullptr;
  // The head when it has two inputs (batches go to the input their channel feeds), else null.
  detail::TwoInputStreamOperator* two_input_head_ = nullptr;
  std::thread thread_;
  std::atomic<bool> cancelled_{false};
  int clock_subscription_ = -1;
  TaskExecutionInfo execution_;
  TaskIoTimer io_;                         // idle and back-pressured time, for metrics
  std::unique_ptr<TaskMetrics> metrics_;   // registered while the task exists

  // Task-thread state.
  Status mail_failure_;          // an error raised by a mailbox action
  bool data_finished_ = false;   // this task's input data ended and operators finished
  bool partition_done_ = false;  // end-of-partition sent downstream: the task is done
  bool final_notified_ = false;  // the final checkpoint completed
  bool stop_requested_ = false;  // stop-with-savepoint
  // A stop-with-savepoint this task took and that has not failed: it processes nothing more
  // (-1: the attempt restarted from a stop's savepoint).
  int64_t stopping_at_savepoint_ = 0;
  uint64_t input_reads_ = 0;  // ProcessInput and EmitFromSource calls: for idleness checks
  int inputs_data_ended_ = 0;
  int inputs_finished_ = 0;
  std::vector<bool> input_data_ended_;
  int64_t pending_since_nanos_ = 0;
};

}  // namespace weir
