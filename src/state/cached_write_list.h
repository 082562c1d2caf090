// CachedWriteList: copies of the RocksDB write cache's dirty entries of one state, taken on
// the task thread for a snapshot that the snapshot thread writes (a full snapshot merges them
// with RocksDB's, an incremental one writes their packed bytes as a file of their own).
// Thread-safety: none; made by one thread and handed to another with the snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/huge_page_allocator.h"
#include "base/prefetch.h"
#include "state/key_order.h"
#include "weir/status.h"

namespace weir {

// A dirty entry's copy: a snapshot writes it in place of what RocksDB holds under its key, or
// leaves that out when absent.
struct CachedWrite {
  std::string_view key;  // the RocksDB key
  std::string_view value;
  bool present = false;
};

// Copies of the dirty entries of one state, packed one after another in one buffer: a
// million of them are about 30 MB rather than the cache's 100, written on the task thread
// without an allocation or a string's copy each. In the order added, or by key.
class CachedWriteList {
 public:
  // Room for `writes` copies of `bytes` in all (headers included) before the list grows.
  void Reserve(size_t writes, size_t bytes = 0) {
    offsets_.reserve(writes);
    bytes_.reserve(bytes);
  }
  // The bytes a copy of `key` and `value` takes in the list.
  static size_t BytesOf(size_t key_size, size_t value_size) {
    return sizeof(Header) + key_size + value_size;
  }
  void Add(std::string_view key, bool present, std::string_view value);
  // Empties the list and keeps its memory, for copies added next.
  void Clear();

  // Orders the copies by key, as RocksDB does (bytewise), sorting in `scratch`.
  void SortByKey(KeyOrderScratch& scratch);
  // The same for a list sorted once: keeps no memory for another sort.
  void SortByKey() {
    KeyOrderScratch scratch;
    SortByKey(scratch);
    std::vector<size_t>().swap(spare_offsets_);
  }

  // The copies as one block of bytes, in the order added whatever SortByKey did: each is two
  // little-endian uint32 (the key's size; the value's, or 0xffffffff when absent), then the
  // key and the value. An incremental snapshot writes this block to its file as it is.
  std::string_view packed() const { return {bytes_.data(), bytes_.size()}; }
  // The list of a block packed() gave, from byte `start` of `bytes` on (what is before it is
  // the caller's), in that order, copied. Corruption when that is not such a block.
  static Result<CachedWriteList> FromPacked(std::string_view bytes, size_t start = 0);

  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }
  // How many copies fit before the offsets grow.
  size_t capacity() const { return offsets_.capacity(); }
  // The memory the list holds, and how much of it its copies fill, in bytes.
  size_t HeldBytes() const {
    return bytes_.capacity() + (offsets_.capacity() + spare_offsets_.capacity()) * sizeof(size_t);
  }
  size_t FilledBytes() const {
    return bytes_.size() + (offsets_.size() + spare_offsets_.size()) * sizeof(size_t);
  }
  // The bytes of the copies alone, headers included.
  size_t CopyBytes() const { return bytes_.size(); }
  CachedWrite operator[](size_t i) const {
    const char* p = bytes_.data() + offsets_[i];
    Header h;
    std::memcpy(&h, p, sizeof h);
    std::string_view key(p + sizeof h, h.key_size);
    if (h.value_size == kAbsent) return CachedWrite{key, {}, false};
    return CachedWrite{key, std::string_view(key.data() + key.size(), h.value_size), true};
  }

  // Reads the copies in order, each prefetching one a few ahead: after SortByKey a million
  // of them are read in an order that misses the CPU's caches.
  class Reader {
   public:
    explicit Reader(const CachedWriteList* list) : list_(list) {
      for (size_t i = 0; i < kAhead && i < list_->size(); ++i) list_->Prefetch(i);
    }
    bool empty() const { return next_ == list_->size(); }
    CachedWrite front() const { return (*list_)[next_]; }
    void pop_front() {
      if (++next_ + kAhead - 1 < list_->size()) list_->Prefetch(next_ + kAhead - 1);
    }

   private:
    static constexpr size_t kAhead = 8;
    const CachedWriteList* list_;
    size_t next_ = 0;
  };

 private:
  struct Header {
    uint32_t key_size;
    uint32_t value_size;  // kAbsent: no value
  };
  static constexpr uint32_t kAbsent = UINT32_MAX;

  void Prefetch(size_t i) const { PrefetchLine(bytes_.data() + offsets_[i]); }

  // Per copy: Header, key, value. On huge pages: a full snapshot reads a million copies in
  // key order, at random, and with 4 KiB pages nearly every read also missed the TLB.
  std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>> bytes_;
  std::vector<size_t> offsets_;  // of each copy's Header in bytes_
  std::vector<size_t> spare_offsets_;  // SortByKey's other array, kept for the next sort
};

// By state column (index into RocksDbInstance::states()), in any order.
using CachedWrites = std::vector<CachedWriteList>;

}  // namespace weir
