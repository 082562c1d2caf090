// State assignment: which part of a checkpoint each task subtask of a job starts from.
//
// Keyed state goes by key group: a subtask gets the handle of every old subtask whose key
// groups overlap its own (its backend keeps only its groups), so a job restores at another
// parallelism. Operator state goes by list: at unchanged parallelism each subtask keeps its
// own lists; otherwise split lists are dealt round robin and union lists go to every subtask
// (Flink's getListState / getUnionListState). The checkpoint must not hold state of an
// operator the job no longer has, unless execution.state-recovery.ignore-unclaimed-state.
//
// Pure functions of the job graph and the checkpoint's metadata; thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_storage.h"
#include "runtime/job_graph.h"
#include "state/state_handles.h"
#include "weir/detail/operator.h"

namespace weir {

// State one operator subtask starts from.
struct OperatorRestore {
  detail::OperatorState operator_state;
  std::vector<KeyedStateHandle> keyed;  // handles whose key groups overlap this subtask's
};

// State one task subtask starts from: its operators' by uid.
struct TaskRestore {
  std::shared_ptr<const CompletedCheckpoint> checkpoint;
  std::map<std::string, OperatorRestore, std::less<>> operators;
};

// One TaskRestore per task subtask, in task order (vertices in order, subtasks within). An
// error when the checkpoint does not fit the job (unclaimed state, another max parallelism).
// `dropped`, if given, names each operator whose state is left out (ignored unclaimed state).
Result<std::vector<std::shared_ptr<const TaskRestore>>> AssignState(
    const JobGraph& graph, const std::shared_ptr<const CompletedCheckpoint>& checkpoint,
    bool ignore_unclaimed_state, std::vector<std::string>* dropped = nullptr);

}  // namespace weir
