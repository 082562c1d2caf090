// TwoPhaseCommitSink: the contract of a sink whose output is exactly-once end to end.
//
// Output goes into transactions. A checkpoint barrier seals (prepares) the open transaction;
// its data becomes visible (is committed) only when that checkpoint completes. So nothing a
// recovery would take back is ever visible, and nothing committed is ever lost. Model: Flink's
// TwoPhaseCommitSinkFunction, with the sink's own state kept apart from its transactions as in
// Flink's Sink V2 (committables).
//
// The engine calls, on the sink subtask's thread:
//
//   Open(context)                 once per start, first
//   Commit(txn) ...               recovery: every transaction the restored checkpoint prepared
//   Initialize(restored outputs)  set outputs up and check them; destroy nothing yet
//   Write(records) ...            into the open transaction (the sink opens one when needed)
//   Prepare(checkpoint id)        at each barrier: seal the open transaction (nullopt if empty)
//   SnapshotOutputs()             right after Prepare: the sink's own state
//   OnRestoreConfirmed()          restored jobs only: once every task of the job restored and
//                                 opened (before any checkpoint of the job completes)
//   Commit(txn) ...               when the checkpoint that prepared txn completes, in order
//   Finish()                      at the end of input (the final checkpoint then commits)
//   Close()                       always, last; also after a failure
//
// and, on a snapshot thread, before a checkpoint may complete: PersistCommitted() (make the
// commits made so far durable) and Persist(txn) for every prepared, uncommitted transaction
// (make its data durable: fsync). Without checkpointing the engine prepares, persists and
// commits one last transaction at Finish.
//
// A restore must never destroy committed output or data a checkpoint refers to on a bad input
// (a wrong flag, an incompatible job): Initialize only checks and prepares, and whatever
// recovery must remove (staged data no transaction refers to, output a rewind cuts) waits for
// OnRestoreConfirmed, which comes only once every task of the job restored and ran.
//
// A transaction is opaque bytes of the sink's choosing. Commit must be idempotent: after a
// crash a transaction may be committed again, and after a rescale by another subtask.
// The sink's own state is a list of outputs (say, files), each owned by the subtask that writes
// it. On a restore each subtask receives the outputs it owns; outputs of subtasks that a
// rescale removed go to subtask 0.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "weir/status.h"

namespace weir {

class Configuration;
class FileSystem;

struct SinkContext {
  int subtask_index = 0;
  int parallelism = 1;
  int attempt_number = 0;             // 0, then +1 on each restart
  bool restored = false;              // the job started from a checkpoint or savepoint
  bool checkpointing = false;         // transactions are committed per checkpoint
  FileSystem* file_system = nullptr;  // the engine's file system (tests inject faults into it)
  const Configuration* configuration = nullptr;  // the job's configuration
  // Stop is requested when the job is cancelled or restarts after a failure: a sink that waits
  // for something outside (a broker's acknowledgement, say) gives up then, from any thread.
  std::stop_token cancellation;
};

// One output of a sink and its state, opaque to the engine.
struct SinkOutput {
  int owner = 0;  // the subtask that writes it
  std::string state;
};

template <typename T>
class TwoPhaseCommitSink {
 public:
  virtual ~TwoPhaseCommitSink() = default;

  virtual Status Open(const SinkContext& context) { return Status::OK(); }
  // Makes a prepared transaction visible. Idempotent.
  virtual Status Commit(std::string_view transaction) = 0;
  // After recovery: `restored` are the outputs this subtask now owns (empty on a fresh start).
  virtual Status Initialize(const std::vector<SinkOutput>& restored) { return Status::OK(); }
  // The restored job proved itself: recovery work that destroys data may run now.
  virtual Status OnRestoreConfirmed() { return Status::OK(); }
  virtual Status Write(const std::vector<T>& records) = 0;
  virtual Result<std::optional<std::string>> Prepare(int64_t checkpoint_id) = 0;
  // Off the task thread, possibly while the task writes the next transaction or commits an
  // earlier one (a transaction already committed may be gone: that is fine).
  virtual Status Persist(std::string_view transaction) { return Status::OK(); }
  // Off the task thread, in every checkpoint before it may complete: makes durable what the
  // commits made so far wrote, since SnapshotOutputs may count them. So Commit, on the task
  // thread, need not wait for an fsync. Nothing to do for a sink whose Commit is durable.
  virtual Status PersistCommitted() { return Status::OK(); }
  virtual std::vector<SinkOutput> SnapshotOutputs() { return {}; }
  virtual Status Finish() { return Status::OK(); }
  virtual void Close() {}
};

}  // namespace weir
