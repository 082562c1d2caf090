// SourceCoordinators: the enumerators of a job's sources (FLIP-27), on the JobMaster's side.
//
// One coordinator per source made with FromSource, created afresh for each run of the job and
// restored from the checkpoint that run restores. The JobMaster snapshots every enumerator when
// it triggers a checkpoint, before the barrier goes to the sources, and the state joins the
// checkpoint as a union list of the source operator (from subtask 0's acknowledgement), so the
// checkpoint format is unchanged. Periodic enumerator work (discovering new files) runs on the
// JobMaster's control thread.
//
// Thread-safety: Start, Close, Snapshot, AttachState, Notify* and RunPeriodic on the control
// thread; Find while no task of the run is running yet (when tasks are built). The coordinators
// themselves are called by tasks too and serialize their calls.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "checkpoint/checkpoint_messages.h"
#include "checkpoint/checkpoint_storage.h"
#include "runtime/job_graph.h"
#include "weir/detail/source_coordinator.h"

namespace weir {

class SourceCoordinators {
 public:
  SourceCoordinators() = default;
  ~SourceCoordinators() { Close(); }
  SourceCoordinators(const SourceCoordinators&) = delete;
  SourceCoordinators& operator=(const SourceCoordinators&) = delete;

  // Creates and starts the enumerator of each source of `graph` that has one, from
  // `checkpoint` (null: a fresh start). Closes those of the previous run first.
  Status Start(const JobGraph& graph, const CompletedCheckpoint* checkpoint,
               const Configuration* config, FileSystem* fs);
  void Close();
  detail::SourceCoordinatorBase* Find(const std::string& uid) const;

  // Checkpoint `checkpoint_id` is triggered: snapshots every enumerator.
  Status Snapshot(int64_t checkpoint_id);
  // Adds the enumerator state to subtask 0's part of the checkpoint.
  void AttachState(CheckpointAcknowledgement* ack);
  void NotifyComplete(int64_t checkpoint_id);
  void NotifyAborted(int64_t checkpoint_id);
  Status RunPeriodic(int64_t now_ms);

 private:
  std::map<std::string, std::unique_ptr<detail::SourceCoordinatorBase>> coordinators_;  // by uid
  // Enumerator states of checkpoints in progress: by checkpoint id, then operator uid.
  std::map<int64_t, std::map<std::string, std::string>> pending_;
};

}  // namespace weir
