// Internal: StreamOperator, the unit the runtime chains into tasks, snapshots and restores.
//
// Each transformation of a job becomes one operator instance per parallel subtask. The task
// thread drives an operator through its whole life:
//
//   Setup -> InitializeState (restored or empty) -> Open -> records/watermarks/timers, with
//   checkpoints:
//     PrepareSnapshotPreBarrier -> (barrier forwarded) -> SnapshotState -> ...
//     NotifyCheckpointComplete / NotifyCheckpointAborted
//   -> Finish (end of input) -> Close
//
// An operator never sees another thread: state needs no locks. Keyed state lives in a backend
// the runtime owns and snapshots; operators snapshot only their own (operator) state, as
// named lists of opaque elements that are redistributed on rescale.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "weir/detail/batch.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/side_outputs.h"
#include "weir/metrics.h"
#include "weir/status.h"

namespace weir {
class Configuration;
class FileSystem;

// The clock a timer follows.
enum class TimeDomain : uint8_t { kProcessingTime = 0, kEventTime = 1 };
}  // namespace weir

namespace weir::detail {

class SourceCoordinatorBase;
class WatermarkAlignmentGroups;

// Records an operator processed, readable from other threads (metrics, progress). Written
// once per batch by the task thread only, so a plain load/store suffices.
class RecordCounter {
 public:
  void Add(size_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Operator (non-keyed) state: a named list of elements. On a restore with a different
// parallelism, kSplit lists are divided among the new subtasks (round robin), and every new
// subtask receives all elements of kUnion lists (Flink's getUnionListState).
struct OperatorStateList {
  enum class Mode : uint8_t { kSplit = 0, kUnion = 1 };
  std::string name;
  Mode mode = Mode::kSplit;
  std::vector<std::string> elements;
};
using OperatorState = std::vector<OperatorStateList>;

// What an operator contributes to a checkpoint.
struct OperatorSnapshot {
  OperatorState state;
  // Work that must finish before the checkpoint may complete, run off the task thread (for
  // example an fsync of the files the snapshot refers to). May be empty.
  std::function<Status()> async_part;
};

// Timers of a keyed operator, for the current key: processing-time ones fire when the clock
// reaches them, event-time ones when the operator's watermark does.
class TimerServiceAccess {
 public:
  virtual ~TimerServiceAccess() = default;
  virtual int64_t CurrentProcessingTime() const = 0;
  virtual void RegisterProcessingTimeTimer(int64_t timestamp) = 0;
  virtual void DeleteProcessingTimeTimer(int64_t timestamp) = 0;
  // The operator's watermark: kMinWatermark until the first one arrives.
  virtual int64_t CurrentWatermark() const = 0;
  virtual void RegisterEventTimeTimer(int64_t timestamp) = 0;
  virtual void DeleteEventTimeTimer(int64_t timestamp) = 0;
  // Event time reached `watermark`: removes the earliest event-time timer at or before it,
  // if any, and returns it.
  virtual bool PopDueEventTimer(int64_t watermark, int64_t* timestamp, std::string* key) = 0;
};

// What the runtime offers one operator instance.
class OperatorContext {
 public:
  virtual ~OperatorContext() = default;
  virtual const std::string& operator_name() const = 0;
  virtual int subtask_index() const = 0;
  virtual int parallelism() const = 0;
  virtual int max_parallelism() const = 0;
  // 0 for the first run, +1 on each restart.
  virtual int attempt_number() const = 0;
  // True when the job started from a checkpoint or savepoint (InitializeState got its state).
  virtual bool is_restored() const = 0;
  // Null unless the operator consumes a keyed stream.
  virtual KeyedStateAccess* keyed_state() = 0;
  virtual TimerServiceAccess* timer_service() = 0;
  virtual int64_t CurrentProcessingTime() const = 0;
  virtual bool checkpointing_enabled() const = 0;
  // Records per batch handed downstream.
  virtual size_t batch_size() const = 0;
  virtual const Configuration& configuration() const = 0;
  virtual FileSystem& file_system() = 0;
  // The operator's metrics (weir/metrics.h); outside a running job they are reported nowhere.
  virtual MetricGroup& metric_group() { return unreported_metrics_; }
  // A source's link to its enumerator on the coordinating side; null for other operators.
  virtual SourceCoordinatorBase* source_coordinator() { return nullptr; }
  // The job's watermark alignment groups (watermark_alignment.h); null outside a job.
  virtual WatermarkAlignmentGroups* watermark_alignment_groups() { return nullptr; }
  // How many times the operator's task has read (or tried to read) its input; null where
  // nothing counts. A periodic check tells a quiet input (read, nothing there) from a task its
  // outputs hold back (backpressure), which reads nothing.
  virtual const uint64_t* input_reads() const { return nullptr; }
  // Stop is requested when the run this operator belongs to is cancelled (the job cancelled,
  // or restarting after a failure): a wait on something outside (a broker, a disk) ends then.
  virtual std::stop_token cancellation() const { return {}; }

 private:
  UnreportedMetricGroup unreported_metrics_;
};

// A failure inside an operator, naming it. The task turns it into a task failure; the restart
// strategy decides what happens next.
class OperatorError : public std::runtime_error {
 public:
  // A user function's exception.
  OperatorError(const std::string& operator_name, int subtask, const std::string& cause)
      : std::runtime_error(Message(operator_name, subtask, cause)) {}
  // An engine error inside an operator (a sink's I/O, say): its code is kept, and whether a
  // restart can fix it.
  OperatorError(const std::string& operator_name, int subtask, const Status& cause)
      : std::runtime_error(Message(operator_name, subtask, cause.ToString())),
        code_(cause.code()),
        permanent_(cause.IsPermanent()) {}

  StatusCode code() const { return code_; }
  // The failure as a Status, naming the operator.
  Status status() const {
    Status s = Status::FromCode(code_, what());
    return permanent_ ? s.AsPermanent() : s;
  }

 private:
  static std::string Message(const std::string& name, int subtask, const std::string& cause) {
    return "operator '" + name + "' (subtask " + std::to_string(subtask) + ") failed: " + cause;
  }

  StatusCode code_ = StatusCode::kUserFunction;
  bool permanent_ = false;
};

// Rethrows the exception in flight: unchanged if it is already an OperatorError, otherwise
// wrapped in one that names the operator. Call only from a catch block.
[[noreturn]] void RethrowAsOperatorError(const OperatorContext& ctx);

class StreamOperator {
 public:
  virtual ~StreamOperator() = default;

  void Setup(OperatorContext* ctx) { ctx_ = ctx; }
  OperatorContext& context() const { return *ctx_; }

  // Restores operator state; `restored` is empty on a fresh start.
  virtual void InitializeState(const OperatorState& restored) {}
  virtual void Open() {}
  // End of input: emit anything still buffered.
  virtual void Finish() {}
  // Release resources. Called after Finish, or on failure/cancel without Finish.
  virtual void Close() {}

  // Called before the barrier goes downstream: emit records that belong to this checkpoint.
  virtual void PrepareSnapshotPreBarrier(int64_t checkpoint_id) {}
  // Synchronous part of a checkpoint: capture operator state into `out`. Must be quick; slow
  // I/O goes into out->async_part.
  virtual void SnapshotState(int64_t checkpoint_id, OperatorSnapshot* out) {}
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) {}
  virtual void NotifyCheckpointAborted(int64_t checkpoint_id) {}
  // After a restore: every task of the job restored its state and opened its operators. Work
  // that destroys data on a restore (a sink's rewind) waits for this.
  virtual void NotifyRestoreConfirmed() {}

  // A processing-time timer of `key_bytes` is due.
  virtual void OnProcessingTime(int64_t timestamp, std::string_view key_bytes) {}
  // Wall-clock work of no key (a periodic watermark, say): after Open, the task calls
  // OnPeriodicTime once its clock reaches NextPeriodicTime(); INT64_MAX for none.
  virtual int64_t NextPeriodicTime() const { return kMaxWatermark; }
  virtual void OnPeriodicTime(int64_t now_millis) {}

  // Event time on this operator's input advanced to `watermark` (the minimum over its input
  // channels, idle ones left out). Ignores a watermark that does not advance, then calls
  // ProcessWatermark.
  void HandleWatermark(int64_t watermark) {
    if (watermark <= current_watermark_.load(std::memory_order_relaxed)) return;
    current_watermark_.store(watermark, std::memory_order_relaxed);
    ProcessWatermark(watermark);
  }
  // The input became idle, or active again.
  virtual void ProcessWatermarkStatus(bool idle) {
    if (watermark_output_ != nullptr) watermark_output_->AcceptWatermarkStatus(idle);
    side_outputs_.EmitWatermarkStatus(idle);
  }
  // Any thread (metrics read it).
  int64_t current_watermark() const { return current_watermark_.load(std::memory_order_relaxed); }

  // Wiring, done once when the chain is built: the typed consumer this operator accepts
  // records through (a BatchConsumer<In>*, null for sources), and the typed consumer it emits
  // into (a BatchConsumer<Out>*; sinks ignore it).
  virtual void* typed_input() { return nullptr; }
  // Processes a batch whose element type is this operator's input type (for the runtime,
  // which holds batches type-erased).
  virtual void AcceptErased(BatchBase& batch) {}
  virtual const std::type_info* input_type() const { return nullptr; }
  virtual void SetTypedOutput(void* consumer) {}
  virtual const std::type_info* output_type() const { return nullptr; }
  // Where the operator's side outputs (GetSideOutput) are wired.
  SideOutputs& side_outputs() { return side_outputs_; }

  // Records this operator consumed (sources: emitted).
  uint64_t records_processed() const { return records_in_.Get(); }

 protected:
  // Fires what the watermark makes due (event-time timers, windows), then passes it on. The
  // default passes it on.
  virtual void ProcessWatermark(int64_t watermark) { EmitWatermark(watermark); }
  // Side outputs too: what they hold goes first.
  void EmitWatermark(int64_t watermark) {
    if (watermark_output_ != nullptr) watermark_output_->AcceptWatermark(watermark);
    if (!side_outputs_.empty()) [[unlikely]] {
      side_outputs_.Flush();
      side_outputs_.EmitWatermark(watermark);
    }
  }

  WatermarkConsumer* watermark_output_ = nullptr;  // the typed output's; null for sinks
  SideOutputs side_outputs_;
  std::atomic<int64_t> current_watermark_{kMinWatermark};  // written by the task thread only
  OperatorContext* ctx_ = nullptr;
  RecordCounter records_in_;
};

// What a source reports after emitting. kNothingAvailable: the task sleeps until the source
// (or anything else) wakes it, through the function given to SetWakeup.
enum class SourceStatus { kMoreAvailable, kNothingAvailable, kEndOfInput };

// A source emits records on its own task thread, a batch at a time, between mailbox actions
// (so checkpoint barriers are injected between batches, never inside one).
class SourceOperatorBase : public StreamOperator {
 public:
  // Emits at most `max_records` records downstream.
  virtual SourceStatus EmitNext(size_t max_records) = 0;
  // Set by the task before Open: wakes its thread (callable from any thread).
  void SetWakeup(std::function<void()> wakeup) { wakeup_ = std::move(wakeup); }

 protected:
  std::function<void()> wakeup_;
};

}  // namespace weir::detail
