// The heap backend's checkpoint format: the keys in a file of their own, which incremental
// checkpoints share while the key set does not change, and each checkpoint's values by key
// id. (The name is older than full checkpoints in this format: the files and the handles'
// backend id "heap-incremental" keep it.)
//
// Both files are written in id order, as the backend holds its keys and values, with no
// scatter into key groups. An incremental checkpoint of a job whose keys stay the same writes
// only its values, about half of what the canonical format (keyed_snapshot_format.h) holds
// for small keys and values, and never reads the key table. Savepoints stay canonical; both
// backends read these.
//
//   key file    "WEIRHKY1", varint version (1), varint id count; per id: varint 0 (no key)
//               or key group + 1, then the key, length-prefixed; fixed64 XXH3 of all preceding
//               bytes, "WEIRHKY1"
//   value file  "WEIRHVL1", varint version (1), varint the canonical format version whose
//               values and timers these are (kKeyedSnapshotVersion), fixed64 the XXH3 of
//               the whole key file (as its handle records it), varint id count, the keys'
//               codec identity, varint first key group, varint key-group count, varint
//               #states, per state: name, kind, codec; per state, per id: varint 0 (no value)
//               or length + 1, then the canonical value; varint #timers, per timer: u8 time
//               domain, varint key group, fixed64 timestamp, key length-prefixed; fixed64
//               XXH3 of all preceding bytes, "WEIRHVL1"
//
// A value file names the key file it was written against by that file's checksum, so a pair
// that does not belong together is refused, as is any malformed byte.
// Thread-safety: the functions and reader are single-threaded; a reader is a value type.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_group_range.h"
#include "state/key_table.h"
#include "state/keyed_snapshot_format.h"
#include "state/snapshot_location.h"
#include "state/timer_service.h"

namespace weir {

// Writes every id below keys.size() to `file`.
Status WriteHeapKeyFile(const KeyTable::Frozen& keys, StateFileWriter* file);

// One state's column for a value file.
struct HeapValueColumn {
  StateMeta meta;
  // Appends the entries of ids [begin, end) (detail::HeapStateTable::Frozen::AppendValues).
  std::function<void(detail::KeyId begin, detail::KeyId end, detail::SnapshotSection* out)>
      append;
};

struct HeapValueFileHeader {
  uint64_t key_file_checksum = 0;  // StateFile::checksum of the key file
  size_t id_count = 0;
  std::string key_codec;
  KeyGroupRange range;
};

// Writes the value file: `columns` for ids below header.id_count, then the timers (their key
// groups from their keys' hashes and `max_parallelism`).
Status WriteHeapValueFile(const HeapValueFileHeader& header,
                          const std::vector<HeapValueColumn>& columns,
                          const std::vector<TimerEntry>& timers, int max_parallelism,
                          StateFileWriter* file);

// Reads a key file and a value file together, with the interface of KeyedSnapshotReader.
class HeapIncrementalReader {
 public:
  // Checks both files completely; `key_file_checksum` is the key file's XXH3 as its handle
  // records it (ReadVerified checked the bytes against it). The names are for errors.
  static Result<HeapIncrementalReader> Open(std::string key_file, std::string key_name,
                                            uint64_t key_file_checksum, std::string value_file,
                                            std::string value_name);

  const std::vector<StateMeta>& states() const { return states_; }
  const std::string& name() const { return value_name_; }
  const std::string& key_codec() const { return key_codec_; }
  KeyGroupRange key_groups() const { return range_; }
  // The value file's bytes; the values ForEach passes are views into them.
  std::shared_ptr<const std::string> data() const { return values_; }
  Result<std::vector<uint64_t>> CountEntries(KeyGroupRange wanted) const;
  // The keys in `wanted`, whatever states they have values in: what a restore's index holds.
  size_t CountKeys(KeyGroupRange wanted) const;
  Status ForEach(KeyGroupRange wanted, const KeyedSnapshotReader::EntryFn& on_entry,
                 const KeyedSnapshotReader::TimerFn& on_timer) const;

 private:
  struct Key {
    int key_group = -1;  // -1: the id holds no key
    std::string_view bytes;
  };

  std::shared_ptr<const std::string> key_data_;
  std::shared_ptr<const std::string> values_;
  std::string value_name_;
  std::vector<Key> keys_;
  std::vector<StateMeta> states_;
  std::string key_codec_;
  KeyGroupRange range_;
  std::vector<size_t> state_offsets_;  // where each state's entries start in values_
  size_t timers_offset_ = 0;
  size_t footer_offset_ = 0;
};

// Reads and checks both files of a handle whose backend_id is kHeapIncrementalBackendId.
Result<HeapIncrementalReader> OpenHeapIncremental(const KeyedStateHandle& handle,
                                                  const SnapshotLocation& location);

}  // namespace weir
