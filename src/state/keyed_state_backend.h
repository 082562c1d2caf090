// KeyedStateBackend: where one keyed operator subtask keeps its state, and how that state is
// checkpointed and restored.
//
// The task thread sets the current key per record (SetCurrentKey) and the typed state
// handles read and write through heap() or raw(). At a barrier, Snapshot() runs on the task
// thread and must be quick; the KeyedSnapshot it returns does the slow writing off the task
// thread. Restore() takes the handles of every old subtask whose key groups overlap this
// one's and keeps only this subtask's key groups, which is how rescaling works.
//
// Implementations: HeapKeyedStateBackend (state.backend.type: hashmap) and
// RocksDbKeyedStateBackend (rocksdb). Thread-safety: owned by one task thread, except
// KeyedSnapshot::Write, which runs on a snapshot thread and must not touch live state.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/file_system.h"
#include "state/key_group_range.h"
#include "state/snapshot_location.h"
#include "state/state_handles.h"
#include "state/timer_service.h"
#include "weir/configuration.h"
#include "weir/detail/keyed_state.h"

namespace weir {

struct KeyedBackendOptions {
  std::string job_id;
  std::string operator_uid;
  std::string operator_name;
  int subtask = 0;
  int max_parallelism = 128;
  KeyGroupRange key_groups;
  Clock* clock = nullptr;
  FileSystem* fs = nullptr;
  const Configuration* config = nullptr;
};

class KeyedSnapshot {
 public:
  virtual ~KeyedSnapshot() = default;
  // Writes the snapshot's files into `location` and returns their handle. Called once: a
  // snapshot may let go of what it has read as it goes.
  virtual Result<KeyedStateHandle> Write(const SnapshotLocation& location) = 0;
};

struct KeyedRestoreSource {
  const KeyedStateHandle* handle;
  const SnapshotLocation* location;
};

class KeyedStateBackend : public detail::KeyedStateAccess {
 public:
  explicit KeyedStateBackend(const KeyedBackendOptions& options)
      : options_(options), timers_(this, options.clock) {}
  ~KeyedStateBackend() override = default;

  virtual Status Restore(const std::vector<KeyedRestoreSource>& sources) = 0;
  // `savepoint`: write the self-contained canonical format, never incremental files.
  virtual Result<std::unique_ptr<KeyedSnapshot>> Snapshot(int64_t checkpoint_id,
                                                          bool savepoint) = 0;
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) {}
  virtual void NotifyCheckpointAborted(int64_t checkpoint_id) {}
  // Releases resources (RocksDB: closes the database, deletes its working directory).
  virtual void Close() {}
  // The backend's own figures as metrics, by Flink's names where Flink has them
  // ("rocksdb.estimate-num-keys"), each a function a metrics thread may call while the task
  // runs: between the end of Restore and Close, never after.
  using NativeMetric = std::pair<std::string, std::function<double()>>;
  virtual std::vector<NativeMetric> NativeMetrics() { return {}; }

  // KeyedStateAccess: the keys' codec, checked against what restored state recorded.
  void DeclareKeyCodec(const std::string& identity) override;

  HeapTimerService& timers() { return timers_; }
  const KeyGroupRange& key_groups() const { return options_.key_groups; }
  const KeyedBackendOptions& options() const { return options_; }

 protected:
  // "restoring keyed state of operator 'x' subtask 2"
  std::string RestoreContext() const;
  // "operator 'x' subtask 2"
  std::string Where() const;
  // Records the key codec a restored file or database names; files that disagree are corrupt.
  Status RestoredKeyCodec(const std::string& identity);
  // What snapshots record as the keys' codec: the declared one, else the restored one.
  const std::string& key_codec() const {
    return declared_key_codec_.empty() ? restored_key_codec_ : declared_key_codec_;
  }
  // Warns once per state that a checkpoint did not record its codec (an older weir wrote it).
  void WarnUnrecorded(std::string_view state);

  KeyedBackendOptions options_;
  HeapTimerService timers_;
  std::string restored_key_codec_;
  std::string declared_key_codec_;
};

// A file-name-safe form of an operator uid.
std::string SanitizeForFileName(std::string_view s);

// Checks the state.backend.* settings, so a bad value fails the job before any task starts.
Status ValidateStateBackendConfiguration(const Configuration& config);

// The backend state.backend.type selects.
Result<std::unique_ptr<KeyedStateBackend>> CreateKeyedStateBackend(
    const KeyedBackendOptions& options);

}  // namespace weir
