// RocksDbKeyedStateBackend: keyed state in an embedded RocksDB database (state.backend.type:
// rocksdb, Flink's EmbeddedRocksDBStateBackend).
//
// State lives on local disk, in a working directory of its own under
// state.backend.rocksdb.localdir (<localdir>/job-<job>-<operator>-<subtask>-<host>-<pid>-<rand>),
// deleted by Close(). Creating a backend also deletes the directories that processes no
// longer alive left behind (a kill -9 cannot clean up after itself). The layout of keys and
// values is described in rocksdb_instance.h. Value and reducing states are read and written
// through a StateWriteCache (state.backend.rocksdb.write-cache.size) of recently used
// keys, written back in batches when evicted; list and map states go to RocksDB on every
// access. The current key's prefix is built once per key change into a
// reused buffer and writes go through a reused WriteBatch, so a steady-state point access
// (get, put, merge, delete) allocates nothing; a map scan creates a RocksDB iterator.
//
// Snapshots (Snapshot runs on the task thread and is quick; the returned KeyedSnapshot
// writes on a snapshot thread):
//  - incremental (execution.checkpointing.incremental, not for savepoints): a RocksDB
//    checkpoint (memtables flushed, SST files hard-linked) into a local directory; the write
//    uploads the SST files no completed checkpoint uploaded yet to <job dir>/shared/, reuses
//    the handles of the others, and copies MANIFEST, CURRENT and OPTIONS into the checkpoint's
//    own directory. The write cache's values changed since the last incremental snapshot
//    are copied and written beside them, packed, in files of their own (the other dirty ones
//    are written to RocksDB first); a restore puts them back into the write cache, or has the
//    opened database ingest them. The native files restore only into a RocksDB backend.
//  - full (and every savepoint): a RocksDB snapshot, written in the canonical format of
//    keyed_snapshot_format.h with copies of the write cache's dirty values, which either
//    backend restores.
// Timers stay in memory (HeapTimerService) and go into every snapshot in the canonical format.
//
// Restore takes canonical handles of either backend, the heap backend's own files (read as
// canonical ones are), and native handles: one whose key groups are exactly this backend's
// is downloaded and opened as the database; otherwise (rescaling) each is opened as a
// temporary database and this backend's key groups are copied over.
//
// Errors: a failed RocksDB read or write throws detail::StateError naming the operator,
// subtask and RocksDB's message (the task fails and the restart strategy decides); failures
// to open or restore are returned as a Status naming the directory.
// Thread-safety: owned by one task thread, as every KeyedStateBackend.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "state/keyed_state_backend.h"
#include "state/rocksdb_instance.h"
#include "state/shared_state_files.h"
#include "state/snapshot_buffers.h"
#include "state/cached_write_list.h"
#include "state/state_write_cache.h"

namespace weir {

struct RestoredChangedValues;  // rocksdb_snapshot.h

class RocksDbKeyedStateBackend final : public KeyedStateBackend, public detail::RawStateAccess {
 public:
  // Parses the RocksDB settings, creates the working directory and opens an empty database.
  static Result<std::unique_ptr<RocksDbKeyedStateBackend>> Create(
      const KeyedBackendOptions& options);
  ~RocksDbKeyedStateBackend() override;

  // KeyedStateAccess. Throws StateError for a key outside this subtask's key groups.
  void SetCurrentKey(std::string_view key_bytes) override;
  void SetCurrentKey(std::string_view key_bytes, uint64_t hash) override;
  // Past 65,536 cached entries the cache's table no longer stays in the CPU's caches.
  bool wants_key_prefetch() const override { return cache_.size() > (size_t{1} << 16); }
  void PrefetchKeys(const uint64_t* hashes, size_t n) override;
  std::string_view current_key_bytes() const override {
    return std::string_view(key_prefix_).substr(key_offset_);
  }
  bool HoldsUndeclaredState(std::string_view name) override;
  detail::RawStateAccess* raw() override { return this; }

  // RawStateAccess
  int RegisterState(std::string_view name, detail::StateKind kind,
                    const detail::StateSchema& schema) override;
  void DeclareKeyCodec(const std::string& identity) override;
  bool Get(int state, std::string* value) override;
  void Put(int state, std::string_view value) override;
  void Delete(int state) override;
  void Append(int state, std::string_view length_prefixed_element) override;
  bool GetEntry(int state, std::string_view user_key, std::string* value) override;
  void PutEntry(int state, std::string_view user_key, std::string_view value) override;
  void DeleteEntry(int state, std::string_view user_key) override;
  void ForEachEntry(int state,
                    const std::function<void(std::string_view, std::string_view)>& fn) override;
  void DeleteAllEntries(int state) override;

  // KeyedStateBackend
  Status Restore(const std::vector<KeyedRestoreSource>& sources) override;
  Result<std::unique_ptr<KeyedSnapshot>> Snapshot(int64_t checkpoint_id, bool savepoint) override;
  void NotifyCheckpointComplete(int64_t checkpoint_id) override;
  void NotifyCheckpointAborted(int64_t checkpoint_id) override;
  void Close() override;
  // Block cache usage, memtable size, estimated keys, live data and SST file sizes.
  std::vector<NativeMetric> NativeMetrics() override;

  // The working directory (deleted by Close once no snapshot still uses it).
  const std::string& working_dir() const { return working_dir_; }
  const std::string& backend_id() const { return backend_id_; }
  const RocksDbTuning& tuning() const { return resources_->tuning; }

 private:
  struct StateInfo {
    std::string name;
    detail::StateKind kind;
    rocksdb::ColumnFamilyHandle* cf;
    bool declared;      // registered by this run's functions (not only restored)
    std::string codec;  // as recorded; empty: not recorded
  };

  explicit RocksDbKeyedStateBackend(const KeyedBackendOptions& options);

  // A fresh database directory inside the working directory.
  std::string NextDbPath();
  // The state `name`, created if missing; Corruption if it exists with another kind.
  Result<int> StateForRestore(const std::string& name, detail::StateKind kind,
                              const std::string& codec);
  // Copies a native handle's files into `db_path`, verifying each.
  Status Download(const KeyedRestoreSource& source, const std::string& db_path) const;
  Status RestoreNativeInPlace(const KeyedRestoreSource& source);
  Status RestoreNativeRescaled(const KeyedRestoreSource& source, int index);
  Status RestoreCanonical(const KeyedRestoreSource& source);
  // The hashmap backend's own checkpoint files (heap_incremental_format.h), read as a
  // canonical file is: a checkpoint of either backend restores into RocksDB.
  Status RestoreHeapNative(const KeyedRestoreSource& source);
  // Every entry and timer of `reader` (a KeyedSnapshotReader or a HeapIncrementalReader) in
  // this subtask's key groups. `file` names the state file in errors.
  template <typename Reader>
  Status RestoreEntries(const Reader& reader, const std::string& file);
  Status CheckMaxParallelism(int recorded) const;
  // An incremental checkpoint's changed values (ReadChangedValues) go back into the write
  // cache, as the task that took it held them, when the cache has room for all of them:
  // dirty and changed, so that the next checkpoint holds them again. Building an SST file of
  // them for RocksDB instead costs about half a second per million (BM_RocksDbRestore), and
  // the job then reads each from RocksDB. Returns what is for RocksDB to ingest instead: the
  // older SST files, and the packed values if the cache has no room for those of `range`.
  RestoredChangedValues TakeUncached(RestoredChangedValues& changed, KeyGroupRange range) const;
  // Adds the packed values of key groups `range` to the cache, which has room for them.
  Status CacheRestoredValues(const RestoredChangedValues& changed, KeyGroupRange range);
  // A full snapshot's value of `state` (value or reducing) under the stored `key` (its cache
  // hash `hash`) goes into the cache the same way, if it has room; false: it has not, and the
  // value is for RocksDB. The job then starts with the values in memory rather than reading
  // each back from RocksDB, and the restore writes none there. For a cached state only (the
  // caller checks Cached()).
  bool CacheRestoredValue(int state, std::string_view key, uint64_t hash, std::string_view value);

  // The state, after checking there is a current key.
  const StateInfo& Access(int state) const;
  [[noreturn]] void ThrowAccessError(int state, std::string_view op,
                                     const rocksdb::Status& s) const;
  // Writes batch_, throwing StateError on failure.
  void Write(int state, std::string_view op);
  // Value and reducing states go through cache_.
  bool Cached(const StateInfo& st) const {
    return cache_.enabled() &&
           (st.kind == detail::StateKind::kValue || st.kind == detail::StateKind::kReducing);
  }
  // The write cache's hash of (key, state): states of one key spread over its table.
  static uint64_t CacheHash(uint64_t key_hash, int state) {
    return key_hash ^ (static_cast<uint64_t>(state + 1) * 0x9e3779b97f4a7c15ull);
  }
  uint64_t CacheHash(int state) const { return CacheHash(key_hash_, state); }
  // A new cache entry for (state, current key), clean and without a value; may evict.
  StateWriteCache::Entry* AddCacheEntry(int state);
  // The cache entry of (state, current key), added if missing.
  StateWriteCache::Entry* CacheEntry(int state);
  // Marks a changed entry dirty, then keeps the cache within its budget. `e` may be evicted.
  void MarkDirty(StateWriteCache::Entry* e);
  auto CollectWriteBack();
  auto CommitWriteBack();
  // Writes write_back_ into RocksDB as SST files, one per state.
  rocksdb::Status IngestSorted();
  // Writes the dirty entries that did not change since the last incremental snapshot to
  // RocksDB (before RocksDB's files are checkpointed), and marks them clean.
  Status WriteBackUnchanged();
  // Copies of the cache's dirty entries, for a full snapshot to write with RocksDB's.
  Result<CachedWrites> DirtyCacheEntries() const;
  // Sorts write_back_ by state, then key.
  void SortWriteBack();
  // Writes the entries collected in write_back_ to RocksDB in one batch, in key order.
  rocksdb::Status WriteBackSorted();
  // Rewrites every stored value of state `index` from `old_version` of its codec.
  Status MigrateState(int index, const detail::StateSchema& schema, int old_version);

  std::shared_ptr<const RocksDbResources> resources_;
  std::shared_ptr<ScopedDirectory> dir_;  // the working directory
  std::shared_ptr<RocksDbInstance> db_;
  std::shared_ptr<SharedStateFiles> shared_files_;
  // What snapshots copy the cache's dirty values into, kept for the next snapshot's copies.
  std::shared_ptr<SnapshotBuffers> snapshot_buffers_ = std::make_shared<SnapshotBuffers>();
  std::string working_dir_;
  int next_db_ = 0;
  std::string backend_id_;
  std::vector<StateInfo> states_;

  // The current key's prefix ([key group][varint length][key]), and where the key starts.
  std::string key_prefix_;
  size_t key_offset_ = 0;
  bool has_current_ = false;
  // Reused for map entries' keys and scan bounds.
  std::string entry_key_;
  std::string upper_bound_;
  rocksdb::ReadOptions read_options_;
  rocksdb::WriteBatch batch_;  // reused by every write
  uint64_t key_hash_ = 0;      // the current key's KeyHash
  StateWriteCache cache_{0};
  // From this many entries on, a write-back before an incremental snapshot is an SST file
  // RocksDB ingests.
  static constexpr size_t kIngestAtLeast = 4096;
  int64_t next_ingest_ = 0;
  // Dirty entries being written back, with their state (an evicted entry's is cleared).
  struct WriteBack {
    int state;
    const StateWriteCache::Entry* entry;
  };
  std::vector<WriteBack> write_back_;
  std::vector<uint64_t> prefetched_;  // the keys of the last PrefetchKeys, by KeyHash
};

}  // namespace weir
