// SharedStateFiles: which files of one backend are already in checkpoint storage (under
// shared/), so an incremental checkpoint writes only new ones and reuses the handles of the
// rest: RocksDB's SST files, the heap backend's key files. (The heap backend's full
// checkpoints note their key files here too, in their own directories, for the next one to
// hard-link.)
//
// A checkpoint reuses only the files of the last checkpoint the backend was told completed
// (or, for RocksDB, the one it was restored from: the heap backend numbers its keys anew at a
// restore, so its first checkpoint after one writes a new key file), and none at all while
// an earlier checkpoint of its own is still pending: a pending checkpoint that completes may
// subsume the base, after which the coordinator deletes the base's files that the completed
// one does not reference. This keeps every reused file referenced by a retained checkpoint
// until the checkpoint reusing it completes.
// Thread-safety: thread-safe (the task thread and a snapshot thread use it).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "state/state_handles.h"

namespace weir {

class SharedStateFiles {
 public:
  using FileMap = std::map<std::string, StateFile>;  // the backend's name -> its file in storage

  // Task thread, at a checkpoint's synchronous part: the files it may reuse. Marks it pending.
  FileMap BeginCheckpoint(int64_t checkpoint_id);
  // Task thread, at a savepoint's: a savepoint is self-contained and subsumes no checkpoint,
  // so its completion or abort leaves what may be reused unchanged.
  void BeginSavepoint(int64_t checkpoint_id);
  // Snapshot thread, when the checkpoint's files are written: the shared files it references,
  // new and reused.
  void Written(int64_t checkpoint_id, FileMap files);
  void Completed(int64_t checkpoint_id);
  void Aborted(int64_t checkpoint_id);
  // The shared files of the checkpoint a backend was restored from.
  void Seed(FileMap files);

 private:
  std::mutex mu_;
  FileMap confirmed_;                   // guarded by mu_
  std::set<int64_t> pending_;           // guarded by mu_
  std::set<int64_t> savepoints_;        // guarded by mu_; begun, not yet completed or aborted
  std::map<int64_t, FileMap> written_;  // guarded by mu_
  int64_t last_completed_ = 0;          // guarded by mu_
};

}  // namespace weir
