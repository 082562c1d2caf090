// ExecutionGraph: one attempt of a job, deployed in this process: a StreamTask per parallel
// subtask of each JobGraph vertex, and the channels between them.
//
// Each job edge becomes a channel per (producer subtask, consumer subtask) pair; a channel
// wakes its consumer when data arrives and its producer when room frees up. Tasks are numbered
// vertices in order, subtasks within (the task index the checkpoint coordinator counts
// acknowledgements by). A new attempt after a failure is a new ExecutionGraph.
//
// Thread-safety: built and driven (Start, Cancel, Join) by the JobMaster's control thread;
// tasks() may be read from any thread that holds the JobMaster's lock.
#pragma once

#include <memory>
#include <vector>

#include "runtime/channel.h"
#include "runtime/job_graph.h"
#include "runtime/operator_context.h"
#include "runtime/state_assignment.h"
#include "runtime/stream_task.h"
#include "runtime/task_gateway.h"

namespace weir {

class ExecutionGraph {
 public:
  // `restores`: one per task (AssignState), or empty for a fresh start. Channels start at
  // `initial_channel_capacity` records (debloating grows them up to env->channel_capacity).
  ExecutionGraph(const JobGraph& graph, const TaskEnvironment* env,
                 const std::vector<std::shared_ptr<const TaskRestore>>& restores, TaskHost* host,
                 size_t initial_channel_capacity);

  void StartAll();
  void CancelAll();
  void JoinAll();

  int num_tasks() const { return static_cast<int>(tasks_.size()); }
  TaskGateway& task(int index) { return *tasks_[static_cast<size_t>(index)]; }
  const std::vector<std::unique_ptr<StreamTask>>& tasks() const { return tasks_; }
  // The task indexes of the sources, where checkpoint barriers are injected.
  const std::vector<int>& source_tasks() const { return source_tasks_; }

 private:
  std::vector<std::shared_ptr<TaskWaker>> wakers_;
  std::vector<std::unique_ptr<StreamTask>> tasks_;
  std::vector<int> source_tasks_;
};

}  // namespace weir
