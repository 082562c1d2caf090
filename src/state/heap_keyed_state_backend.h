// HeapKeyedStateBackend: keyed state as typed C++ objects in memory (state.backend.type:
// hashmap, Flink's HashMapStateBackend).
//
// Each key gets a dense id from a KeyTable; each state is a column indexed by that id, so a
// state access is an array index and nothing is encoded until a snapshot. The current key is
// looked up once per record, and not at all when it repeats. Keys whose state became empty
// are dropped at the next snapshot (only such keys are looked at, not all of them).
//
// Snapshots are copy-on-write (weir/detail/cow_vector.h): at the barrier the task thread only
// freezes the key table and each state's column, in O(chunks); a snapshot thread encodes the
// frozen view and writes it, while the task keeps processing and copies a chunk the first
// time it writes to it after the freeze, while the snapshot still holds the view.
//
// Checkpoints use the backend's own format (heap_incremental_format.h): a key file, and the
// values by key id, both in id order. A full checkpoint keeps both among its own files, so
// it stands alone; while the keys stay the same it hard-links the last completed one's key
// file rather than writing it again.
// An incremental one (execution.checkpointing.incremental) writes its key file under shared/
// and reuses it while the key set does not change, once the checkpoint that wrote it
// completed and while none of this backend's is pending (SharedStateFiles): a job whose keys
// stay the same writes only its values. Either backend restores them. Savepoints are in the
// canonical format (keyed_snapshot_format.h), grouped by key group.
//
// Restored state is kept as bytes until the function declares the state (in Open), then
// decoded with the declared type; state never declared again is carried into later
// snapshots unchanged. Thread-safety: owned by one task thread; a snapshot's Write reads only
// frozen chunks, which the task never changes.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/hash.h"
#include "state/key_table.h"
#include "state/keyed_state_backend.h"
#include "state/shared_state_files.h"

namespace weir {

class HeapKeyedStateBackend final : public KeyedStateBackend, public detail::HeapStateRegistry {
 public:
  explicit HeapKeyedStateBackend(const KeyedBackendOptions& options);

  // KeyedStateAccess. Throws StateError for a key outside this subtask's key groups (a key
  // selector that is not deterministic), which would otherwise be silently mis-stored.
  void SetCurrentKey(std::string_view key_bytes) override {
    if (has_current_ && detail::BytesEqual(key_bytes, current_key_bytes())) return;
    SetNewKey(key_bytes, detail::KeyHash(key_bytes));
  }
  void SetCurrentKey(std::string_view key_bytes, uint64_t hash) override {
    if (has_current_ && hash == current_hash_ &&
        detail::BytesEqual(key_bytes, current_key_bytes())) {
      return;
    }
    SetNewKey(key_bytes, hash);
  }
  // Beyond this many keys the index (16 bytes a key) outgrows the L2 cache.
  bool wants_key_prefetch() const override { return keys_.id_limit() > (size_t{1} << 16); }
  void PrefetchKeys(const uint64_t* hashes, size_t n) override { keys_.Prefetch(hashes, n); }
  // Read from the key table each time, not copied per key (a copy-on-write chunk copy may
  // move the entry; the id stays until a snapshot's garbage collection, which resets it).
  std::string_view current_key_bytes() const override {
    return has_current_ ? keys_.key(current_id_).bytes() : std::string_view();
  }
  bool HoldsUndeclaredState(std::string_view name) override;
  detail::HeapStateRegistry* heap() override { return this; }

  // HeapStateRegistry
  const detail::KeyId* current_key_id() const override { return &current_id_; }
  detail::HeapStateTable* FindTable(std::string_view name) override;
  detail::HeapStateTable* AddTable(std::unique_ptr<detail::HeapStateTable> table) override;

  // KeyedStateBackend
  Status Restore(const std::vector<KeyedRestoreSource>& sources) override;
  Result<std::unique_ptr<KeyedSnapshot>> Snapshot(int64_t checkpoint_id, bool savepoint) override;
  void NotifyCheckpointComplete(int64_t checkpoint_id) override;
  void NotifyCheckpointAborted(int64_t checkpoint_id) override;

  size_t live_keys() const { return keys_.live_count(); }

 private:
  // Restored values of a state not declared (yet): views into restored_data_, sorted by
  // key id, decoded when the function declares the state.
  struct PendingState {
    detail::StateKind kind;
    std::string codec;  // as the checkpoint recorded it; empty: not recorded
    std::vector<std::pair<detail::KeyId, std::string_view>> values;
    const std::string_view* Find(detail::KeyId id) const;
  };

  // Restores one file's entries and timers into pending_ (for each reader type: the canonical
  // format, the incremental one).
  template <typename Reader>
  Status RestoreFrom(const Reader& reader);
  Status RestoreIncremental(const KeyedRestoreSource& source);
  void SetNewKey(std::string_view key_bytes, uint64_t hash);
  detail::KeyId InsertKey(std::string_view key_bytes, uint64_t hash);
  void EnsureCapacity(size_t n);
  // Drops keys that hold no state any more, among the candidates in emptied_.
  void CollectGarbage();

  KeyTable keys_;
  detail::KeyId current_id_ = detail::kNoKey;
  uint64_t current_hash_ = 0;
  bool has_current_ = false;
  size_t capacity_ = 0;
  std::vector<std::unique_ptr<detail::HeapStateTable>> tables_;
  std::map<std::string, PendingState, std::less<>> pending_;
  // The restored files pending_ points into; released when nothing is pending any more.
  std::vector<std::shared_ptr<const std::string>> restored_data_;
  // Keys created, or emptied by a table, since the last garbage collection.
  std::vector<detail::KeyId> emptied_;
  // The size of the last savepoint's file, which its snapshot thread sets: the next one sizes
  // its buffers from it.
  std::shared_ptr<std::atomic<size_t>> snapshot_bytes_ = std::make_shared<std::atomic<size_t>>(0);
  bool incremental_ = false;
  std::string instance_;  // names this backend's key files apart from any other's
  // The key files in storage that a checkpoint may reuse (incremental) or link (full).
  std::shared_ptr<SharedStateFiles> shared_files_ = std::make_shared<SharedStateFiles>();
};

}  // namespace weir
