// StateWriteCache: the latest values of recently used keys of the RocksDB backend's value and
// reducing states, in memory, written back to RocksDB in batches.
//
// As Kafka Streams' record cache in front of its RocksDB stores: a key read and updated again
// and again (a hot key; the seed job has a single one) costs a hash lookup instead of a
// RocksDB Get and a Put, each a skip-list search in a memtable full of that key's versions;
// and RocksDB sees one write batch per eviction round instead of one write per update. The
// backend writes every dirty entry before each incremental snapshot (a full one takes copies
// of them instead), so a checkpoint holds exactly what the state holds; a failure discards the
// cache with the rest of the attempt's state.
//
// Entries are evicted by the CLOCK algorithm, an eighth of the capacity at a time, so that
// the dirty ones among them go to RocksDB in one batch. An entry caches a value, or the
// absence of one. Keys and values of up to 15 bytes live inside the entry (std::string's
// small buffer), and an evicted entry's buffers are reused: a steady state allocates nothing.
// Thread-safety: the backend's task thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weir {

class StateWriteCache {
 public:
  struct Entry {
    std::string key;  // the RocksDB key: [key group][varint length][key]
    std::string value;
    uint64_t hash = 0;
    int state = -1;
    bool present = false;  // false: the key has no value
    bool dirty = false;    // not yet written to RocksDB
    bool referenced = false;
  };

  // Up to `capacity` entries; 0 disables the cache.
  explicit StateWriteCache(size_t capacity);

  bool enabled() const { return capacity_ > 0; }
  size_t size() const { return entries_.size() - free_.size(); }

  // The entry of (state, key), or nullptr. `hash` is the key's hash.
  Entry* Find(int state, std::string_view key, uint64_t hash);

  // A new entry for (state, key), which must not be cached, with its value to be set by the
  // caller. When the cache is full, first evicts an eighth of it: `write_back(entry)` is
  // called for each dirty one and then `commit()` once (it may throw; the evicted entries
  // are then gone from the cache, as the failed attempt's state is). An evicted entry keeps
  // its key, value and `present` until `commit()` returns, so `commit()` may write them.
  template <typename WriteBack, typename Commit>
  Entry* Insert(int state, std::string_view key, uint64_t hash, WriteBack&& write_back,
                Commit&& commit) {
    if (size() == capacity_) {
      bool any = false;
      EvictSome([&](const Entry& e) {
        write_back(e);
        any = true;
      });
      if (any) commit();
    }
    return Add(state, key, hash);
  }

  // Calls `write_back(entry)` for every dirty entry. After the caller has written them, it
  // marks them clean with MarkClean.
  template <typename WriteBack>
  void ForEachDirty(WriteBack&& write_back) const {
    for (uint32_t i : dirty_) write_back(entries_[i]);
  }
  bool has_dirty() const { return !dirty_.empty(); }
  void MarkClean();

  // Records that `entry` changed and must be written back.
  void MarkDirty(Entry* entry) {
    if (!entry->dirty) {
      entry->dirty = true;
      dirty_.push_back(static_cast<uint32_t>(entry - entries_.data()));
    }
  }

  // Forgets every entry, dirty or not.
  void Clear();

 private:
  template <typename WriteBack>
  void EvictSome(WriteBack&& write_back) {
    size_t target = capacity_ / 8 == 0 ? 1 : capacity_ / 8;
    size_t evicted = 0;
    while (evicted < target) {
      Entry& e = entries_[hand_];
      uint32_t index = static_cast<uint32_t>(hand_);
      hand_ = hand_ + 1 == entries_.size() ? 0 : hand_ + 1;
      if (e.state < 0) continue;  // free
      if (e.referenced) {
        e.referenced = false;
        continue;
      }
      if (e.dirty) write_back(e);
      Remove(index);
      ++evicted;
    }
    // Evicted entries were written back (or the attempt fails): none stays dirty.
    std::erase_if(dirty_, [&](uint32_t i) { return entries_[i].state < 0; });
  }

  Entry* Add(int state, std::string_view key, uint64_t hash);
  void Remove(uint32_t index);
  // The slot holding (state, key), or the empty slot where it would go.
  size_t SlotOf(int state, std::string_view key, uint64_t hash) const;

  size_t capacity_;
  std::vector<Entry> entries_;  // grows to capacity_, never moves after that
  std::vector<uint32_t> free_;  // indexes of evicted entries, reused first
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> slots_;  // open addressing, linear probing: entry index + 1, 0 empty
  size_t mask_ = 0;
  size_t hand_ = 0;  // CLOCK
};

// A dirty entry's copy: a full snapshot writes it in place of what the RocksDB snapshot holds
// under its key, or leaves that out when absent.
struct CachedWrite {
  std::string key;  // the RocksDB key
  std::string value;
  bool present = false;
};
// By state column (index into RocksDbInstance::states()), in any order.
using CachedWrites = std::vector<std::vector<CachedWrite>>;

}  // namespace weir
