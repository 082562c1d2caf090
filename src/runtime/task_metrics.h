// TaskMetrics: the metrics of one task subtask and of its operators, in Flink's task and
// operator scopes, with Flink's names:
//
//   task      numRecordsIn, numRecordsOut (over the network), numRecordsInPerSecond,
//             numRecordsOutPerSecond, busyTimeMsPerSecond, idleTimeMsPerSecond,
//             backPressuredTimeMsPerSecond, accumulatedBusyTimeMs, accumulatedIdleTimeMs,
//             accumulatedBackPressuredTimeMs, checkpointStartDelayNanos (of the last
//             checkpoint: how long its trigger took to reach the task),
//             currentInputWatermark (its head operator's; kMinWatermark until one arrives)
//   operator  numRecordsIn, numRecordsOut, numRecordsInPerSecond, numRecordsOutPerSecond,
//             currentInputWatermark (kMinWatermark until one arrives), the
//             user's own (RuntimeContext::metric_group()), and on the RocksDB backend
//             rocksdb.block-cache-usage, rocksdb.cur-size-all-mem-tables,
//             rocksdb.estimate-num-keys, rocksdb.estimate-live-data-size,
//             rocksdb.total-sst-files-size, and weir's stateSnapshotBufferBytes
//
// Nothing is counted per record: the counts are the ones operators and record writers keep
// per batch, and the times come from TaskIoTimer, two relaxed stores per wait of the task.
// A task is idle while it waits with nothing to do and back-pressured while it waits for
// room in its output channels; busy the rest of the time.
//
// Thread-safety: built and closed on the task's threads (the control thread builds the task,
// its own thread closes it); the registry reads the functions on the metrics thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/metric_registry.h"
#include "runtime/job_graph.h"
#include "runtime/operator_chain.h"
#include "state/keyed_state_backend.h"

namespace weir {

// Where a task's time goes while it waits. The task thread calls Begin/End around each wait.
class TaskIoTimer {
 public:
  enum Kind : int { kNone = 0, kIdle = 1, kBackpressured = 2 };

  void BeginWait(Kind kind, int64_t now_nanos) {
    wait_start_.store(now_nanos, std::memory_order_relaxed);
    kind_.store(kind, std::memory_order_release);
  }
  void EndWait(int64_t now_nanos) {
    int kind = kind_.load(std::memory_order_relaxed);
    int64_t waited = now_nanos - wait_start_.load(std::memory_order_relaxed);
    std::atomic<int64_t>& total = kind == kIdle ? idle_ : backpressured_;
    if (kind != kNone) total.store(total.load(std::memory_order_relaxed) + waited,
                                   std::memory_order_relaxed);
    kind_.store(kNone, std::memory_order_release);
  }

  // Nanoseconds spent so far, the wait in progress included (any thread).
  int64_t IdleNanos(int64_t now_nanos) const { return Total(kIdle, idle_, now_nanos); }
  int64_t BackpressuredNanos(int64_t now_nanos) const {
    return Total(kBackpressured, backpressured_, now_nanos);
  }

 private:
  int64_t Total(Kind kind, const std::atomic<int64_t>& total, int64_t now) const {
    int64_t t = total.load(std::memory_order_relaxed);
    if (kind_.load(std::memory_order_acquire) == kind) {
      t += std::max<int64_t>(0, now - wait_start_.load(std::memory_order_relaxed));
    }
    return t;
  }

  std::atomic<int> kind_{kNone};
  std::atomic<int64_t> wait_start_{0};
  std::atomic<int64_t> idle_{0};
  std::atomic<int64_t> backpressured_{0};
};

// A task subtask's execution state and times, as the REST API shows them (Flink's
// ExecutionState). Written by the task thread, read by any.
struct TaskExecutionInfo {
  enum State : int { kCreated = 0, kInitializing, kRunning, kFinished, kCanceled, kFailed };
  std::atomic<int> state{kCreated};
  std::atomic<int64_t> start_wall_ms{0};
  std::atomic<int64_t> end_wall_ms{0};
  std::atomic<int64_t> checkpoint_start_delay_nanos{0};  // of the last checkpoint it took
};
std::string_view TaskStateName(int state);

// The 32-hex id of a job vertex, as Flink's JobVertexID: stable across runs of the same job
// (a hash of its head operator's uid).
std::string JobVertexId(const JobVertex& vertex);

class TaskMetrics {
 public:
  // Registers the task's and its operators' metrics (null registry: none) and gives each
  // operator context its group, so functions can add theirs in Open.
  TaskMetrics(MetricRegistry* registry, const MetricScope& job_scope, const JobVertex& vertex,
              int subtask, OperatorChain& chain, const TaskIoTimer* io,
              const TaskExecutionInfo* execution, Clock* clock);
  ~TaskMetrics();

  // After the keyed backend restored: its own figures, in the head operator's group.
  void AddBackendMetrics(KeyedStateBackend* backend);
  // Unregisters everything (before the operators and backend go). Idempotent.
  void Close();

 private:
  std::unique_ptr<MetricRegistry::Group> task_group_;
  std::vector<std::unique_ptr<MetricRegistry::Group>> operator_groups_;
  std::vector<OperatorContextImpl*> contexts_;
};

}  // namespace weir
