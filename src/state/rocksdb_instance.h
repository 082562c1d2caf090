// RocksDbInstance: one open RocksDB database that holds the keyed state of one operator
// subtask, with a column family per state.
//
// Key layout, the same in every column family:
//
//   [key group: 2 bytes big-endian][varint length of the key bytes][key bytes]
//
// for value, list and reducing state; a map entry appends the encoded user key after that
// prefix. Keys sort by key group first, so a key-group range is one contiguous scan (restore
// with rescaling, full snapshots), and one key's map entries are one prefix. List state is
// stored as its length-prefixed elements one after another; Append is a RocksDB Merge with a
// concatenating merge operator. The default column family holds metadata: the kind of each
// state and the max parallelism the key groups were computed with.
//
// RocksDB's write-ahead log is off: checkpoints are what makes state durable, and a database
// is never reopened after a crash (its working directory is deleted and the state restored
// from a checkpoint).
//
// An instance is shared (std::shared_ptr) by its backend and the backend's snapshots that are
// still being written: the last owner closes the database and deletes its directory, so an
// asynchronous snapshot write can outlive the task that took it.
//
// Thread-safety: RocksDB calls are thread-safe. AddState is called by the owning task thread
// only; other threads use the column family handles they captured, which live as long as the
// instance.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_buffer_manager.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weir/configuration.h"
#include "weir/detail/keyed_state.h"
#include "weir/status.h"

namespace weir {

// The RocksDB settings of the state backend, from the configuration.
struct RocksDbTuning {
  // state.backend.rocksdb.localdir; default $TMPDIR (or /tmp) + "/weir-rocksdb".
  std::string local_dir;
  // Defaults: 16 MiB of block cache, 2 x 8 MiB of memtables and 96 MiB of write cache make
  // 128 MiB, the managed memory Flink's RocksDB backend gets by default. Most of it goes to
  // the write cache: a key found there costs a hash lookup, one found in RocksDB's caches a
  // search through its memtables and blocks.
  // state.backend.rocksdb.block.cache-size; default 16 MiB. One LRU cache shared by every
  // column family of a backend; index and filter blocks are charged to it too.
  uint64_t block_cache_bytes = 16ull << 20;
  // state.backend.rocksdb.writebuffer.size; default 8 MiB. Size of one memtable.
  uint64_t write_buffer_bytes = 8ull << 20;
  // state.backend.rocksdb.writebuffer.count; default 2. Memtables per column family; all
  // memtables of a backend together are also bounded by size * count.
  int write_buffer_count = 2;
  // state.backend.rocksdb.write-cache.size; default 96 MiB; 0: no StateWriteCache.
  size_t write_cache_bytes = 96ull << 20;
  // execution.checkpointing.incremental; default false.
  bool incremental = false;

  static std::string DefaultLocalDir();
  // InvalidArgument naming the key and the value when a setting is malformed or out of range.
  static Result<RocksDbTuning> FromConfiguration(const Configuration& config);
};

// What the databases of one backend share: the block cache and the memtable budget.
struct RocksDbResources {
  RocksDbTuning tuning;
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;

  static std::shared_ptr<const RocksDbResources> Create(const RocksDbTuning& tuning);
};

// The RocksDB environment every weir database uses: the default one, with fault points on
// file creation ("rocksdb.create-sst" for table files, "rocksdb.create-file" for the others),
// so tests can make RocksDB's own writes fail.
rocksdb::Env* WeirRocksDbEnv();

// A RocksDB status as a weir Status: "<context>: <RocksDB's message>".
Status FromRocksDb(const rocksdb::Status& s, std::string_view context);

// ---- Key layout -------------------------------------------------------------------------------

inline void AppendStateKeyPrefix(int key_group, std::string_view key, std::string* out) {
  out->push_back(static_cast<char>((key_group >> 8) & 0xff));
  out->push_back(static_cast<char>(key_group & 0xff));
  BufferWriter(out).PutLengthPrefixed(key);
}

// Splits a stored key into key group, key bytes and the rest (a map entry's user key).
// False if it is not a key of this layout.
inline bool ParseStateKey(std::string_view stored, int* key_group, std::string_view* key,
                          std::string_view* rest) {
  if (stored.size() < 3) return false;
  *key_group = (static_cast<unsigned char>(stored[0]) << 8) | static_cast<unsigned char>(stored[1]);
  BufferReader r(stored.substr(2));
  if (!r.GetLengthPrefixed(key)) return false;
  *rest = r.rest();
  return true;
}

// The first key group's first key: the start of a key-group scan.
inline std::string KeyGroupStart(int key_group) {
  return std::string{static_cast<char>((key_group >> 8) & 0xff),
                     static_cast<char>(key_group & 0xff)};
}

// Sets `out` to the smallest string greater than every string that starts with `prefix` (an
// exclusive upper bound for a prefix scan). `prefix` must contain a byte other than 0xff.
void PrefixSuccessor(std::string_view prefix, std::string* out);

// Number of length-prefixed elements in a stored list, or -1 if malformed.
int64_t CountListElements(std::string_view stored);

// A directory that is deleted, with everything in it, when its last owner lets go.
class ScopedDirectory {
 public:
  explicit ScopedDirectory(std::string path) : path_(std::move(path)) {}
  ~ScopedDirectory();
  ScopedDirectory(const ScopedDirectory&) = delete;
  ScopedDirectory& operator=(const ScopedDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class RocksDbInstance {
 public:
  struct StateColumn {
    std::string name;
    detail::StateKind kind;
    rocksdb::ColumnFamilyHandle* cf;
    std::string codec;  // detail::StateSchema::codec; empty: not recorded (an older weir)
  };

  // Opens the database in `db_path`, creating it if it does not exist, with every column
  // family it has. `dir` (may be null) is kept until the database is closed: the directory
  // the database lives in, deleted once nothing uses it.
  static Result<std::shared_ptr<RocksDbInstance>> Open(
      const std::string& db_path, std::shared_ptr<const RocksDbResources> resources,
      std::shared_ptr<ScopedDirectory> dir);

  ~RocksDbInstance();
  RocksDbInstance(const RocksDbInstance&) = delete;
  RocksDbInstance& operator=(const RocksDbInstance&) = delete;

  rocksdb::DB* db() const { return db_; }
  const std::string& path() const { return path_; }
  const rocksdb::WriteOptions& write_options() const { return write_options_; }

  const std::vector<StateColumn>& states() const { return states_; }
  // Index into states(), or -1.
  int FindState(std::string_view name) const;
  // Creates the column family of a new state and records its kind and codec.
  Result<int> AddState(std::string_view name, detail::StateKind kind, std::string_view codec);
  // Records the codec of state `index` (after a migration, or for an unrecorded one).
  Status SetStateCodec(int index, std::string_view codec);
  // The keys' codec identity recorded in the database; empty when none is.
  const std::string& key_codec() const { return key_codec_; }
  Status SetKeyCodec(std::string_view codec);

  // The max parallelism recorded in the database; 0 when none is (a new database).
  int max_parallelism() const { return max_parallelism_; }
  Status SetMaxParallelism(int max_parallelism);

 private:
  RocksDbInstance() = default;

  rocksdb::DB* db_ = nullptr;
  std::string path_;
  std::shared_ptr<ScopedDirectory> dir_;
  std::shared_ptr<const RocksDbResources> resources_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::vector<StateColumn> states_;
  rocksdb::ColumnFamilyOptions cf_options_;
  rocksdb::WriteOptions write_options_;
  int max_parallelism_ = 0;
  std::string key_codec_;
};

}  // namespace weir
