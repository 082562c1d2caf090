// The asynchronous parts of RocksDbKeyedStateBackend's snapshots, and moving files between
// a backend's working directory and checkpoint storage.
//
// FullRocksDbSnapshot writes a RocksDB snapshot (taken in the synchronous part), with the
// write cache's values that RocksDB did not hold yet, in the canonical format;
// IncrementalRocksDbSnapshot uploads a RocksDB checkpoint (hard links taken in the
// synchronous part), and the write cache's values changed since the last one as files of
// their own. Both keep the database open (shared ownership) until written, and
// release what they hold (the RocksDB snapshot, the local checkpoint directory) when
// destroyed, whether or not Write ran; the copies of the write cache's values go back to the
// backend's SnapshotBuffers for the next snapshot.
// Thread-safety: each snapshot is used by one thread at a time.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state/cached_write_list.h"
#include "state/keyed_state_backend.h"
#include "state/rocksdb_instance.h"
#include "state/rocksdb_keyed_state_backend.h"
#include "state/snapshot_buffers.h"

namespace weir {

// Timers of one subtask, by key group (index = key group - range start).
using TimersByGroup = std::vector<std::vector<TimerEntry>>;

class FullRocksDbSnapshot final : public KeyedSnapshot {
 public:
  FullRocksDbSnapshot(std::shared_ptr<RocksDbInstance> db, const rocksdb::Snapshot* snapshot,
                      std::vector<RocksDbInstance::StateColumn> states, CachedWrites cached,
                      std::shared_ptr<SnapshotBuffers> buffers, TimersByGroup timers,
                      KeyGroupRange range, std::string file_name, std::string key_codec);
  ~FullRocksDbSnapshot() override;

  Result<KeyedStateHandle> Write(const SnapshotLocation& location) override;

 private:
  Status WriteTo(StateFileWriter& file);

  std::shared_ptr<RocksDbInstance> db_;
  const rocksdb::Snapshot* snapshot_;
  std::vector<RocksDbInstance::StateColumn> states_;
  CachedWrites cached_;
  std::shared_ptr<SnapshotBuffers> buffers_;  // where cached_ goes back to
  TimersByGroup timers_;
  KeyGroupRange range_;
  std::string file_name_;
  std::string key_codec_;
};

class IncrementalRocksDbSnapshot final : public KeyedSnapshot {
 public:
  struct Params {
    std::shared_ptr<RocksDbInstance> db;
    std::shared_ptr<SharedStateFiles> shared_files;
    int64_t checkpoint_id = 0;
    std::string local_dir;             // the RocksDB checkpoint; deleted when done
    SharedStateFiles::FileMap reusable;  // SSTs already in storage
    TimersByGroup timers;
    // The write cache's values changed since the last incremental snapshot, by column (index
    // into `columns`): written packed, as files of their own, which a restore puts back in
    // the write cache (or has RocksDB ingest).
    CachedWrites changed;
    std::shared_ptr<SnapshotBuffers> buffers;  // where `changed` goes back to, if set
    std::vector<RocksDbInstance::StateColumn> columns;
    KeyGroupRange range;
    std::string file_prefix;  // "<operator uid>-<subtask>"
    std::string backend_id;
  };

  explicit IncrementalRocksDbSnapshot(Params p) : p_(std::move(p)) {}
  ~IncrementalRocksDbSnapshot() override;

  Result<KeyedStateHandle> Write(const SnapshotLocation& location) override;

 private:
  // Writes p_.changed to `location`, one file per state, and adds them to `handle`.
  Status WriteChangedValues(const SnapshotLocation& location, KeyedStateHandle* handle);

  Params p_;
};

// The write cache's values that an incremental checkpoint holds beside RocksDB's files (see
// IncrementalRocksDbSnapshot), read back by a restore.
struct RestoredChangedValues {
  struct Packed {
    RocksDbInstance::StateColumn column;  // of the checkpoint's database
    CachedWriteList writes;
    std::string path;  // of the file they came from, for errors
  };
  struct Sst {  // as weir wrote them before it packed them
    RocksDbInstance::StateColumn column;
    std::string path;
  };
  std::vector<Packed> packed;
  std::vector<Sst> sst;
};

// After a native restore opened the checkpoint's database in `db_path`: the changed values
// the checkpoint holds, each file checked. The packed files are deleted once read.
Result<RestoredChangedValues> ReadChangedValues(RocksDbInstance& db, const std::string& db_path);

// Writes `changed` into `db`: the packed values as SST files, sorted, and RocksDB ingests
// them with the older SST files, whose files it takes.
Status IngestChangedValues(RocksDbInstance& db, const std::string& db_path,
                           RestoredChangedValues changed);

// Writes a canonical keyed-state file with no states, only timers.
Result<StateFile> WriteTimersFile(const SnapshotLocation& location, const std::string& name,
                                  const TimersByGroup& timers, KeyGroupRange range);

// Copies a state file from checkpoint storage to `local_path`, checking its size and
// checksum against the handle.
Status DownloadVerified(const SnapshotLocation& location, const StateFile& file,
                        const std::string& local_path);

}  // namespace weir
