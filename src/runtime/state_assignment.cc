#include "runtime/state_assignment.h"

#include <algorithm>

namespace weir {
namespace {

using detail::OperatorStateList;

Status CheckEveryStateIsClaimed(const JobGraph& graph, const CheckpointMetadata& m,
                                bool ignore_unclaimed_state, std::vector<std::string>* dropped) {
  for (const auto& op : m.operators) {
    bool claimed = false;
    for (const auto& v : graph.vertices()) {
      for (const detail::Transformation* t : v.operators) claimed |= t->OperatorUid() == op.uid;
    }
    bool has_state = std::any_of(op.subtasks.begin(), op.subtasks.end(), [](const auto& s) {
      return s.keyed.has_value() || !s.operator_state.empty();
    });
    if (claimed || !has_state) continue;
    if (!ignore_unclaimed_state) {
      return Status::InvalidArgument(
          "the checkpoint has state for operator '" + op.name + "' (uid '" + op.uid +
          "') which the job no longer has; set execution.state-recovery.ignore-unclaimed-state "
          "to true to drop it");
    }
    if (dropped) dropped->push_back("operator '" + op.name + "' (uid '" + op.uid + "')");
  }
  return Status::OK();
}

// The operator state lists subtask `i` of `parallelism` gets from `op`.
detail::OperatorState AssignOperatorState(const OperatorSnapshotMetadata& op, int parallelism,
                                          int i) {
  std::map<std::string, OperatorStateList> lists;
  for (size_t s = 0; s < op.subtasks.size(); ++s) {
    for (const auto& list : op.subtasks[s].operator_state) {
      auto& out = lists[list.name];
      out.name = list.name;
      out.mode = list.mode;
      bool unchanged = op.parallelism == parallelism;
      bool take = list.mode == OperatorStateList::Mode::kUnion ||
                  (unchanged && static_cast<int>(s) == i);
      if (take) out.elements.insert(out.elements.end(), list.elements.begin(), list.elements.end());
    }
  }
  if (op.parallelism != parallelism) {
    size_t index = 0;
    for (const auto& st : op.subtasks) {
      for (const auto& list : st.operator_state) {
        if (list.mode != OperatorStateList::Mode::kSplit) continue;
        for (const auto& e : list.elements) {
          if (static_cast<int>(index++ % static_cast<size_t>(parallelism)) == i) {
            lists[list.name].elements.push_back(e);
          }
        }
      }
    }
  }
  detail::OperatorState out;
  for (auto& [name, list] : lists) out.push_back(std::move(list));
  return out;
}

}  // namespace

Result<std::vector<std::shared_ptr<const TaskRestore>>> AssignState(
    const JobGraph& graph, const std::shared_ptr<const CompletedCheckpoint>& checkpoint,
    bool ignore_unclaimed_state, std::vector<std::string>* dropped) {
  const CheckpointMetadata& m = checkpoint->metadata;
  WEIR_RETURN_IF_ERROR(CheckEveryStateIsClaimed(graph, m, ignore_unclaimed_state, dropped));
  std::vector<std::shared_ptr<const TaskRestore>> out;
  for (const auto& v : graph.vertices()) {
    for (int i = 0; i < v.parallelism; ++i) {
      auto restore = std::make_shared<TaskRestore>();
      restore->checkpoint = checkpoint;
      for (const detail::Transformation* t : v.operators) {
        const OperatorSnapshotMetadata* op = m.FindOperator(t->OperatorUid());
        if (op == nullptr) continue;
        bool has_keyed = std::any_of(op->subtasks.begin(), op->subtasks.end(),
                                     [](const auto& s) { return s.keyed.has_value(); });
        if (has_keyed && op->max_parallelism != graph.max_parallelism()) {
          return Status::InvalidArgument(
              "operator '" + t->name + "': the checkpoint was taken with max parallelism " +
              std::to_string(op->max_parallelism) + ", the job has " +
              std::to_string(graph.max_parallelism()) +
              "; pipeline.max-parallelism cannot change for keyed state");
        }
        OperatorRestore r;
        r.operator_state = AssignOperatorState(*op, v.parallelism, i);
        KeyGroupRange range = KeyGroupRange::ForSubtask(graph.max_parallelism(), v.parallelism, i);
        for (const auto& st : op->subtasks) {
          if (st.keyed && !st.keyed->key_groups.Intersect(range).empty()) {
            r.keyed.push_back(*st.keyed);
          }
        }
        restore->operators.emplace(t->OperatorUid(), std::move(r));
      }
      out.push_back(std::move(restore));
    }
  }
  return out;
}

}  // namespace weir
