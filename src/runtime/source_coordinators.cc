#include "runtime/source_coordinators.h"

namespace weir {

Status SourceCoordinators::Start(const JobGraph& graph, const CompletedCheckpoint* checkpoint,
                                 const Configuration* config, FileSystem* fs) {
  Close();
  for (const auto& v : graph.vertices()) {
    for (const detail::Transformation* t : v.operators) {
      if (!t->create_source_coordinator) continue;
      auto c = t->create_source_coordinator(v.parallelism, config, fs);
      bool restored = false;
      const std::string* state = nullptr;
      if (checkpoint != nullptr) {
        if (const OperatorSnapshotMetadata* op = checkpoint->metadata.FindOperator(t->OperatorUid())) {
          restored = true;
          for (const auto& st : op->subtasks) {
            for (const auto& list : st.operator_state) {
              if (list.name == detail::kEnumeratorStateName && !list.elements.empty()) {
                state = &list.elements.front();
              }
            }
          }
        }
      }
      WEIR_RETURN_IF_ERROR(c->Start(restored, state));
      coordinators_[t->OperatorUid()] = std::move(c);
    }
  }
  return Status::OK();
}

void SourceCoordinators::Close() {
  for (auto& [uid, c] : coordinators_) c->Close();
  coordinators_.clear();
  pending_.clear();
}

detail::SourceCoordinatorBase* SourceCoordinators::Find(const std::string& uid) const {
  auto it = coordinators_.find(uid);
  return it == coordinators_.end() ? nullptr : it->second.get();
}

Status SourceCoordinators::Snapshot(int64_t checkpoint_id) {
  if (coordinators_.empty()) return Status::OK();
  std::map<std::string, std::string> states;
  for (auto& [uid, c] : coordinators_) {
    WEIR_ASSIGN_OR_RETURN(states[uid], c->Snapshot(checkpoint_id));
  }
  pending_[checkpoint_id] = std::move(states);
  return Status::OK();
}

void SourceCoordinators::AttachState(CheckpointAcknowledgement* ack) {
  auto it = pending_.find(ack->checkpoint_id);
  if (it == pending_.end()) return;
  for (auto& st : ack->states) {
    if (st.subtask != 0) continue;
    auto s = it->second.find(st.uid);
    if (s == it->second.end()) continue;
    st.state.operator_state.push_back(detail::OperatorStateList{
        detail::kEnumeratorStateName, detail::OperatorStateList::Mode::kUnion, {s->second}});
  }
}

void SourceCoordinators::NotifyComplete(int64_t checkpoint_id) {
  pending_.erase(pending_.begin(), pending_.upper_bound(checkpoint_id));
  for (auto& [uid, c] : coordinators_) c->NotifyCheckpointComplete(checkpoint_id);
}

void SourceCoordinators::NotifyAborted(int64_t checkpoint_id) { pending_.erase(checkpoint_id); }

Status SourceCoordinators::RunPeriodic(int64_t now_ms) {
  for (auto& [uid, c] : coordinators_) WEIR_RETURN_IF_ERROR(c->RunPeriodic(now_ms));
  return Status::OK();
}

}  // namespace weir
