// The state.backend.* options: which keyed state backend a job uses, and RocksDB's tuning.
// Declared once here (see ConfigOption in weir/configuration.h); read where they are used.
#pragma once

#include <vector>

#include "weir/configuration.h"

namespace weir::state_backend_options {

inline constexpr auto kType =
    ConfigOption<std::string>("state.backend.type", "hashmap",
                              "Keyed state backend: hashmap (state as objects on the heap) or "
                              "rocksdb (an embedded RocksDB per operator subtask).")
        .WithAllowed({"hashmap", "rocksdb"})
        .WithFallbackKeys("state.backend");

inline constexpr auto kIncremental =
    ConfigOption<bool>("execution.checkpointing.incremental", "false",
                       "Incremental checkpoints: RocksDB uploads only the SST files no earlier "
                       "checkpoint uploaded; the hashmap backend writes its keys only when they "
                       "changed, and its values.")
        .WithFallbackKeys("state.backend.incremental");

inline constexpr auto kRocksDbLocalDir = ConfigOption<std::string>(
    "state.backend.rocksdb.localdir", "",
    "RocksDB working directory (a path or file:// URI); each operator subtask uses a "
    "subdirectory, deleted when the task ends. Default: $TMPDIR/weir-rocksdb (/tmp without "
    "TMPDIR).");

inline constexpr auto kRocksDbBlockCacheSize = ConfigOption<MemorySize>(
    "state.backend.rocksdb.block.cache-size", "16 mb",
    "RocksDB block cache of one operator subtask, shared by its states; index and filter "
    "blocks are in it, partitioned so that they fit. With the memtables and the write cache "
    "128 mb, the managed memory Flink gives RocksDB by default.");

inline constexpr auto kRocksDbWriteBufferSize =
    ConfigOption<MemorySize>("state.backend.rocksdb.writebuffer.size", "8 mb",
                             "Size of one RocksDB memtable; at least 64 kb.");

inline constexpr auto kRocksDbWriteBufferCount =
    ConfigOption<int64_t>("state.backend.rocksdb.writebuffer.count", "2",
                          "RocksDB memtables per state; all of a subtask's together are bounded "
                          "by size * count. RocksDB writes one while another is flushed.")
        .WithRange(2, 64);

inline constexpr auto kRocksDbWriteCacheSize = ConfigOption<MemorySize>(
    "state.backend.rocksdb.write-cache.size", "96 mb",
    "Memory of a RocksDB subtask for the latest values of recently used keys of value and "
    "reducing state, written back in batches (as Kafka Streams' record cache): about 88 "
    "bytes a key for keys and values of up to 15 bytes, so a million keys fit in the "
    "default. Checkpoints and savepoints copy the changed values (incremental checkpoints "
    "those changed since the last one, in files of their own beside RocksDB's, which a "
    "restore puts back in the cache when they fit). 0 turns the cache off.");

inline std::vector<const ConfigOptionInfo*> All() {
  return {&kType.info(),
          &kIncremental.info(),
          &kRocksDbLocalDir.info(),
          &kRocksDbBlockCacheSize.info(),
          &kRocksDbWriteBufferSize.info(),
          &kRocksDbWriteBufferCount.info(),
          &kRocksDbWriteCacheSize.info()};
}

}  // namespace weir::state_backend_options
