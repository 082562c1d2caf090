// KeyTable: the heap backend's index from a key's bytes to a dense key id.
//
// Open addressing with linear probing over 8-byte slots (32 bits of hash, 32 bits of id), so
// a lookup usually touches one cache line of slots plus the key itself. Ids of erased keys
// are reused. Per-state tables are plain arrays indexed by key id.
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/huge_page_allocator.h"
#include "base/prefetch.h"
#include "weir/detail/cow_vector.h"
#include "weir/detail/keyed_state.h"

namespace weir {

class KeyTable {
 public:
  // A key: its bytes (inline up to kInline, else on the heap), the low half of its hash (where
  // its lookups start), its key group, and whether the id holds a key. 24 bytes: a lookup
  // reads one, and a snapshot reads every one. 16 inline bytes hold any integer key, a pair
  // of them, a UUID or a short string id.
  class Key {
   public:
    static constexpr size_t kInline = 16;

    Key() = default;
    Key(const Key& other) { *this = other; }
    Key& operator=(const Key& other);
    ~Key() { Release(); }

    std::string_view bytes() const {
      if (inline_size_ != kOnHeap) [[likely]] return {data_, inline_size_};
      const char* p;
      uint32_t n;
      std::memcpy(&p, data_, sizeof p);
      std::memcpy(&n, data_ + sizeof p, sizeof n);
      return {p, n};
    }
    int key_group() const { return key_group_; }
    bool live() const { return live_; }
    // Whether bytes() are the first inline_size() of inline_bytes(), which always holds
    // kInline bytes: a snapshot copies them in one fixed-size move.
    bool is_inline() const { return inline_size_ != kOnHeap; }
    size_t inline_size() const { return inline_size_; }
    const char* inline_bytes() const { return data_; }

   private:
    friend class KeyTable;
    static constexpr uint8_t kOnHeap = 0xff;

    void Assign(std::string_view bytes, uint64_t hash, int key_group);
    void Release();

    // The bytes, or (kOnHeap) a pointer to them and their 32-bit length.
    char data_[kInline] = {};
    uint32_t home_hash_ = 0;
    uint16_t key_group_ = 0;
    bool live_ = false;
    uint8_t inline_size_ = 0;  // the length of the inline bytes, or kOnHeap
  };

  KeyTable();

  using Frozen = detail::CowVector<Key>::Frozen;

  // The id of the key, or detail::kNoKey. `hash` must be KeyHash(bytes).
  detail::KeyId Find(std::string_view bytes, uint64_t hash) const;
  // Adds a key Find did not find, in `key_group`. Keys are at most 4 GiB and key groups below
  // 65536 (else StateError).
  detail::KeyId Insert(std::string_view bytes, uint64_t hash, int key_group);
  detail::KeyId FindOrInsert(std::string_view bytes, uint64_t hash, int key_group) {
    detail::KeyId id = Find(bytes, hash);
    return id != detail::kNoKey ? id : Insert(bytes, hash, key_group);
  }
  // Starts loading the index slots where keys with these hashes are looked up first.
  void Prefetch(const uint64_t* hashes, size_t n) const {
    for (size_t i = 0; i < n; ++i) PrefetchLine(&slots_[Home(hashes[i])]);
  }
  void Erase(detail::KeyId id);
  // Makes room for `n` more keys without rehashing as they come (a restore knows its count).
  void Reserve(size_t n);

  const Key& key(detail::KeyId id) const { return keys_[id]; }
  // Every live id is below this.
  size_t id_limit() const { return keys_.size(); }
  size_t live_count() const { return live_; }
  // What the last Freeze saw changes when a key it held is erased, or, at the next Freeze,
  // when a key inserted since is still there or the ids grew: while the version stays the
  // same, every id below id_limit() names the same key (an incremental snapshot reuses its
  // key file as long as it does). A key inserted and erased between two freezes, as when a
  // record's key has no state and gets none, changes nothing if it took a free id.
  uint64_t version() const { return version_; }
  // The keys as they are now, for a snapshot thread (see CowVector).
  Frozen Freeze();

 private:
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = ~uint64_t{0};

  static uint64_t Slot(uint64_t hash, detail::KeyId id) {
    return (hash & 0xffffffff00000000ull) | (static_cast<uint64_t>(id) + 1);
  }
  // Where a key's lookup starts: from the low half of its hash only, the half a Key keeps.
  size_t Home(uint64_t hash) const { return static_cast<uint32_t>(hash) & mask_; }
  void Rehash(size_t capacity);

  std::vector<uint64_t, HugePageAllocator<uint64_t>> slots_;
  size_t mask_;
  size_t used_ = 0;  // occupied slots plus tombstones
  size_t live_ = 0;
  uint64_t version_ = 0;
  // Ids inserted since the last Freeze (flag by id, and the list to clear it).
  std::vector<bool> fresh_;
  std::vector<detail::KeyId> inserted_;
  size_t frozen_ids_ = 0;  // id_limit() at the last Freeze
  detail::CowVector<Key> keys_;
  std::vector<detail::KeyId> free_ids_;
};

}  // namespace weir
