// The canonical keyed-state snapshot format: every savepoint, and RocksDB's full checkpoints.
//
// One file holds the keyed state of one operator subtask, grouped by key group so that a
// restore with another parallelism reads only the groups it now owns:
//
//   header   "WEIRKSS1", varint version (4), the keys' codec identity, varint #states, per
//            state: name, kind, codec identity (detail::StateSchema), then varint first key
//            group, varint key-group count. Version 1, without the identities, still reads.
//   groups   per key group: per state: varint #entries, then (key, value) length-prefixed;
//            then varint #timers, then (u8 time domain, fixed64 timestamp, key
//            length-prefixed). Versions 1 and 2, without the domain, had processing time only.
//            Version 3 is version 4 without windows named by their timers (window_timers.h).
//   footer   fixed64 offset of each group, fixed64 footer offset, fixed64 XXH3 of all
//            preceding bytes, "WEIRKSS1"
//
// Values use the canonical per-kind encoding of weir/detail/keyed_state.h.
// Thread-safety: writer and reader are single-threaded value types.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "state/key_group_range.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/operator.h"
#include "weir/status.h"

namespace weir {

// The format's version. 2: codec identities of the keys and of each state. 3: a time domain
// per timer. 4: nothing new in the bytes, but a window's event-time timer may stand for the
// window it names with nothing recorded beside it, which a weir that reads at most 3 would
// never fire: it refuses the file instead. 5: nothing new in the bytes either, but session
// windows are listed in "window-sessions", where a weir that reads at most 4 would not look
// for them. The heap backend's incremental files record it too, for what their entries mean.
inline constexpr uint64_t kKeyedSnapshotVersion = 5;

struct StateMeta {
  std::string name;
  detail::StateKind kind;
  std::string codec = {};  // detail::StateSchema::codec; empty: not recorded (format version 1)
};

class KeyedSnapshotWriter {
 public:
  // `key_codec`: the CodecIdentity of the keys (empty if no key type was declared).
  // `written`: the running checksum of the file the caller writes the flushed bytes to, from
  // its first byte (a StateFileWriter's). The embedded checksum is then taken from it, not
  // computed over every byte a second time; the caller must feed it exactly those bytes.
  KeyedSnapshotWriter(std::string* out, const std::vector<StateMeta>& states, KeyGroupRange range,
                      std::string_view key_codec = {}, const Checksum* written = nullptr);

  // Key groups must be written in order, each exactly once, every state of each group in
  // order (even with zero entries), then its timers.
  void BeginKeyGroup(int key_group);
  void BeginState(size_t count);
  void AddEntry(std::string_view key, std::string_view value);
  // BeginState(count), then `entries`: `count` (key, value) pairs, each length-prefixed.
  void AddEncodedState(size_t count, std::string_view entries);
  void BeginTimers(size_t count);
  void AddTimer(TimeDomain domain, int64_t timestamp, std::string_view key);
  // Writes the footer; the buffer then holds the complete file (or, after MarkFlushed, the
  // rest of it).
  void Finish();
  // For writing a large file in pieces: the caller has written the buffer out, then
  // `also_written` (a state's encoded entries, spared a copy into the buffer); the buffer is
  // cleared, and offsets and the checksum account for all those bytes.
  void MarkFlushed(std::string_view also_written = {});

 private:
  std::string* out_;
  BufferWriter w_;
  KeyGroupRange range_;
  std::vector<uint64_t> offsets_;
  int next_group_;
  uint64_t flushed_ = 0;
  const Checksum* written_;  // null: checksum_ covers the flushed bytes
  Checksum checksum_;
};

// Corruption unless `key`, found in key group `key_group` of `file`, hashes to that group: a
// key or timer restored into another group than its key's lands on a subtask that never sees
// the key. `what` names the entry: "a key of state 's'", "a timer".
Status CheckKeyGroupOfKey(std::string_view key, int key_group, int max_parallelism,
                          std::string_view file, std::string_view what);

class KeyedSnapshotReader {
 public:
  using EntryFn = std::function<Status(size_t state, int key_group, std::string_view key,
                                       std::string_view value)>;
  using TimerFn = std::function<Status(int key_group, TimeDomain domain, int64_t timestamp,
                                       std::string_view key)>;

  // Parses the header and footer and checks the embedded checksum. `name` is for errors.
  static Result<KeyedSnapshotReader> Open(std::string data, std::string name);

  const std::vector<StateMeta>& states() const { return states_; }
  const std::string& name() const { return name_; }
  // The keys' codec identity; empty if not recorded.
  const std::string& key_codec() const { return key_codec_; }
  KeyGroupRange key_groups() const { return range_; }
  // The file's bytes; the keys and values ForEach passes are views into them.
  std::shared_ptr<const std::string> data() const { return data_; }
  // Entries of each state in the key groups of `wanted` (a cheap pass: nothing is decoded).
  Result<std::vector<uint64_t>> CountEntries(KeyGroupRange wanted) const;
  // Calls the functions for every entry and timer in key groups of `wanted`.
  Status ForEach(KeyGroupRange wanted, const EntryFn& on_entry, const TimerFn& on_timer) const;

 private:
  Status Malformed(std::string_view what) const;

  std::shared_ptr<const std::string> data_;
  std::string name_;
  std::vector<StateMeta> states_;
  std::string key_codec_;
  uint64_t version_ = 0;
  KeyGroupRange range_;
  std::vector<uint64_t> offsets_;
  uint64_t footer_offset_ = 0;
};

}  // namespace weir
