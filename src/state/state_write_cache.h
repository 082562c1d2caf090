// StateWriteCache: the latest values of recently used keys of the RocksDB backend's value and
// reducing states, in memory, written back to RocksDB in batches.
//
// As Kafka Streams' record cache in front of its RocksDB stores: a key read and updated again
// and again (a hot key; the seed job has a single one) costs a hash lookup instead of a
// RocksDB Get and a Put, each a skip-list search in a memtable full of that key's versions;
// and RocksDB sees one write batch per eviction round instead of one write per update. A
// snapshot takes copies of the dirty entries (an incremental one of those changed since the
// last, after writing back the others), so a checkpoint holds exactly what the state holds;
// a failure discards the cache with the rest of the attempt's state, and a restore puts the
// values back, dirty, while the cache has room.
//
// The cache holds as many entries as fit in a memory budget: each entry's fixed part, its
// share of the hash table, and the keys and values too long for std::string's inline buffer
// (15 bytes). Entries are evicted by the CLOCK algorithm, an eighth of the budget at a time,
// so that the dirty ones among them go to RocksDB in one batch. An entry caches a value, or
// the absence of one. An evicted entry's inline buffers are reused (its long ones freed): a
// steady state with short keys and values allocates nothing.
// Thread-safety: the backend's task thread only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/huge_page_allocator.h"
#include "base/prefetch.h"

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
    bool changed = false;  // marked dirty since the caller last cleared this (ForEachDirty)
    bool referenced = false;
  };

  // Entries within `budget_bytes`; a budget too small for one entry disables the cache.
  explicit StateWriteCache(size_t budget_bytes);
  // The budget that holds `entries` entries of short keys and values.
  static size_t BytesForEntries(size_t entries);

  bool enabled() const { return capacity_ > 0; }
  size_t size() const { return entries_.size() - free_.size(); }
  // The most entries the budget holds (with short keys and values).
  size_t capacity() const { return capacity_; }
  // Memory of the live entries, as counted against the budget (less the hash table's, which
  // is reserved up front).
  size_t bytes() const { return size() * kEntryBytes + long_bytes_; }
  size_t dirty_count() const { return dirty_.size(); }

  // Sets an entry's value, keeping count of its memory.
  void SetValue(Entry* entry, std::string_view value) {
    const size_t before = LongBytes(entry->value);
    entry->value.assign(value.data(), value.size());
    long_bytes_ += LongBytes(entry->value) - before;
    entry->present = true;
  }

  // The entry of (state, key), or nullptr. `hash` is the key's hash.
  Entry* Find(int state, std::string_view key, uint64_t hash);

  // For a Find of `hash` soon: starts loading the hash table slot its search starts at; and,
  // once that slot is here, the entry it names (an enabled cache only).
  void PrefetchSlot(uint64_t hash) const { PrefetchLine(&slots_[hash & mask_]); }
  void PrefetchEntry(uint64_t hash) const {
    if (const uint32_t s = slots_[hash & mask_]; s != 0) {
      const char* entry = reinterpret_cast<const char*>(&entries_[s - 1]);
      PrefetchLine(entry);
      PrefetchLine(entry + sizeof(Entry) - 1);  // an entry spans two cache lines
    }
  }

  // A new entry for (state, key), which must not be cached, with its value to be set by the
  // caller. When the cache is full, first evicts an eighth of it: `write_back(entry)` is
  // called for each dirty one and then `commit()` once (it may throw; the evicted entries
  // are then gone from the cache, as the failed attempt's state is). An evicted entry keeps
  // its key, value and `present` until `commit()` returns, so `commit()` may write them.
  template <typename WriteBack, typename Commit>
  Entry* Insert(int state, std::string_view key, uint64_t hash, WriteBack&& write_back,
                Commit&& commit) {
    if (size() == capacity_ || bytes() + kEntryBytes + LongBytes(key) > budget_) {
      EvictRound(write_back, commit);
    }
    return Add(state, key, hash);
  }

  // Whether `entries` more entries fit without an eviction, their keys and values holding
  // `long_bytes` beyond their inline buffers (LongBytes).
  bool HasRoomFor(size_t entries, size_t long_bytes) const {
    return size() + entries <= capacity_ &&
           bytes() + entries * kEntryBytes + long_bytes <= budget_;
  }
  // A new entry for (state, key), which must not be cached, if it fits without an eviction
  // (a restore's, which has nowhere to write back to yet); nullptr otherwise.
  Entry* AddIfRoom(int state, std::string_view key, uint64_t hash) {
    if (size() == capacity_ || bytes() + kEntryBytes + LongBytes(key) > budget_) return nullptr;
    return Add(state, key, hash);
  }

  // The heap memory of a string too long for its inline buffer, as the budget counts it.
  static size_t LongBytes(std::string_view s) { return s.size() > kInline ? s.size() + 1 : 0; }

  // After a value grew: evicts as Insert does if the entries are over the budget. Any entry
  // may go, so the caller marks a changed entry dirty first and holds no pointer after.
  template <typename WriteBack, typename Commit>
  void EvictIfOverBudget(WriteBack&& write_back, Commit&& commit) {
    if (bytes() > budget_) [[unlikely]] EvictRound(write_back, commit);
  }

  // Calls `f(entry)` for every dirty entry. After the caller has written them, it marks them
  // clean with MarkClean or CleanIf.
  template <typename F>
  void ForEachDirty(F&& f) const {
    for (uint32_t i : dirty_) f(entries_[i]);
  }
  template <typename F>
  void ForEachDirty(F&& f) {
    for (uint32_t i : dirty_) f(entries_[i]);
  }
  bool has_dirty() const { return !dirty_.empty(); }
  void MarkClean();
  // Marks clean the dirty entries `pred` holds for.
  template <typename Pred>
  void CleanIf(Pred&& pred) {
    std::erase_if(dirty_, [&](uint32_t i) {
      Entry& e = entries_[i];
      if (!pred(static_cast<const Entry&>(e))) return false;
      e.dirty = false;
      return true;
    });
  }

  // Records that `entry` changed and must be written back.
  void MarkDirty(Entry* entry) {
    entry->changed = true;
    if (!entry->dirty) {
      entry->dirty = true;
      dirty_.push_back(static_cast<uint32_t>(entry - entries_.data()));
    }
  }

  // Forgets every entry, dirty or not.
  void Clear();

 private:
  // An entry's fixed part and its place in the dirty list.
  static constexpr size_t kEntryBytes = sizeof(Entry) + sizeof(uint32_t);
  // Hash table slots for `capacity` entries: at most three quarters full.
  static size_t SlotsFor(size_t capacity);
  static size_t LongBytes(const std::string& s) { return LongBytes(std::string_view(s)); }
  static constexpr size_t kInline = 15;  // libstdc++'s std::string holds 15 chars inline

  template <typename WriteBack, typename Commit>
  void EvictRound(WriteBack& write_back, Commit& commit) {
    const size_t first_freed = free_.size();
    bool any = false;
    EvictSome([&](const Entry& e) {
      write_back(e);
      any = true;
    });
    if (any) commit();
    ReleaseLongBuffers(first_freed);
  }

  // Evicts an eighth of the entries when they are as many as the budget holds (at least
  // one otherwise), and more while their memory is above seven eighths of the budget.
  template <typename WriteBack>
  void EvictSome(WriteBack&& write_back) {
    size_t target = size() == capacity_ ? std::max<size_t>(1, capacity_ / 8) : 1;
    size_t evicted = 0;
    while (size() > 0 && (evicted < target || bytes() > budget_ - budget_ / 8)) {
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
  // Frees the long keys and values of the entries evicted since free_ had `first` of them.
  void ReleaseLongBuffers(size_t first);
  // The slot holding (state, key), or the empty slot where it would go.
  size_t SlotOf(int state, std::string_view key, uint64_t hash) const;

  size_t budget_ = 0;  // for the entries, after the hash table's share
  size_t capacity_ = 0;
  size_t long_bytes_ = 0;  // LongBytes of live entries' keys and values
  // On huge pages: a million keys' entries are 80 MB and their slots 8 MB, both read at
  // random; with 4 KiB pages nearly every lookup also missed the TLB.
  std::vector<Entry, HugePageAllocator<Entry>> entries_;  // grows to capacity_, never moves
  std::vector<uint32_t> free_;  // indexes of evicted entries, reused first
  std::vector<uint32_t> dirty_;
  // Open addressing, linear probing: entry index + 1, 0 empty.
  std::vector<uint32_t, HugePageAllocator<uint32_t>> slots_;
  size_t mask_ = 0;
  size_t hand_ = 0;  // CLOCK
};

}  // namespace weir
