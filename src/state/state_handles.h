// State handles: what a checkpoint's metadata records about the files holding state.
//
// Paths are relative to the checkpoint's base directory (the job's checkpoint directory or
// the savepoint directory), so a checkpoint can be moved as a whole. Every file is recorded
// with its size and checksum, and is verified against them when read back.
// Value types; thread-safe to copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_group_range.h"

namespace weir {

struct StateFile {
  std::string path;  // relative to the checkpoint's base directory
  uint64_t size = 0;
  uint64_t checksum = 0;   // XXH3-64 of the whole file
  std::string local_name;  // the name a backend gives the file when restoring (RocksDB SSTs)

  friend bool operator==(const StateFile&, const StateFile&) = default;
};

// The backend_id of the heap backend's checkpoints, full and incremental, in its own format
// (heap_incremental_format.h; the name is older than full ones in it): native_files are a
// key file (local_name "keys-...") and a value file ("values").
inline constexpr std::string_view kHeapIncrementalBackendId = "heap-incremental";

// The keyed state of one operator subtask.
struct KeyedStateHandle {
  KeyGroupRange key_groups;
  // Canonical format (keyed_snapshot_format.h): all of a heap backend's state in a savepoint
  // (and in checkpoints before its own format), or a RocksDB backend's timers (and all its
  // state in a full snapshot or savepoint).
  std::optional<StateFile> canonical;
  // RocksDB native incremental snapshot: SST files (usually under shared/) and the private
  // files (MANIFEST, CURRENT, OPTIONS) that make them a database, and the write cache's
  // values changed since the last snapshot (private files of packed copies; SST files
  // before weir packed them). Or the heap backend's key file and value file.
  std::vector<StateFile> native_files;
  // Which RocksDB backend instance wrote native_files (incremental base), or
  // kHeapIncrementalBackendId.
  std::string backend_id;

  friend bool operator==(const KeyedStateHandle&, const KeyedStateHandle&) = default;
};

}  // namespace weir
