#include "state/key_table.h"

#include <bit>

#include "weir/detail/hash.h"

namespace weir {

KeyTable::KeyTable() : slots_(16, kEmpty), mask_(15) {}

detail::KeyId KeyTable::FindOrInsert(std::string_view bytes, uint64_t hash, int key_group,
                                     bool* inserted) {
  uint64_t tag = hash & 0xffffffff00000000ull;
  size_t i = static_cast<size_t>(hash) & mask_;
  size_t insert_at = SIZE_MAX;
  while (true) {
    uint64_t s = slots_[i];
    if (s == kEmpty) break;
    if (s == kTombstone) {
      if (insert_at == SIZE_MAX) insert_at = i;
    } else if ((s & 0xffffffff00000000ull) == tag) {
      auto id = static_cast<detail::KeyId>((s & 0xffffffffull) - 1);
      if (detail::BytesEqual(keys_[id].bytes, bytes)) return id;
    }
    i = (i + 1) & mask_;
  }
  detail::KeyId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<detail::KeyId>(keys_.size());
    keys_.Resize(keys_.size() + 1);
  }
  if (inserted != nullptr) *inserted = true;
  Key& k = keys_.Mutable(id);
  k.bytes.assign(bytes.data(), bytes.size());
  k.hash = hash;
  k.key_group = key_group;
  k.live = true;
  ++live_;
  if (insert_at == SIZE_MAX) {
    insert_at = i;
    ++used_;
  }
  slots_[insert_at] = Slot(hash, id);
  if (used_ * 10 >= slots_.size() * 7) Rehash(std::bit_ceil(std::max<size_t>(16, live_ * 2)));
  return id;
}

void KeyTable::Erase(detail::KeyId id) {
  if (!keys_[id].live) return;
  Key& k = keys_.Mutable(id);
  uint64_t want = Slot(k.hash, id);
  size_t i = static_cast<size_t>(k.hash) & mask_;
  while (slots_[i] != kEmpty) {
    if (slots_[i] == want) {
      slots_[i] = kTombstone;
      break;
    }
    i = (i + 1) & mask_;
  }
  k.live = false;
  std::string().swap(k.bytes);
  free_ids_.push_back(id);
  --live_;
}

void KeyTable::Reserve(size_t n) {
  size_t want = std::bit_ceil(std::max<size_t>(16, (live_ + n) * 2));
  if (want > slots_.size()) Rehash(want);
}

void KeyTable::Rehash(size_t capacity) {
  std::vector<uint64_t, HugePageAllocator<uint64_t>> old;
  old.swap(slots_);
  slots_.assign(capacity, kEmpty);
  mask_ = capacity - 1;
  used_ = 0;
  for (uint64_t s : old) {
    if (s == kEmpty || s == kTombstone) continue;
    auto id = static_cast<detail::KeyId>((s & 0xffffffffull) - 1);
    size_t i = static_cast<size_t>(keys_[id].hash) & mask_;
    while (slots_[i] != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
    ++used_;
  }
}

}  // namespace weir
