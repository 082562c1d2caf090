#include "state/state_write_cache.h"

#include <algorithm>
#include <bit>

namespace weir {

size_t StateWriteCache::SlotsFor(size_t capacity) {
  return std::bit_ceil(capacity + capacity / 3 + 1);
}

size_t StateWriteCache::BytesForEntries(size_t entries) {
  if (entries == 0) return 0;
  return entries * kEntryBytes + SlotsFor(entries) * sizeof(uint32_t);
}

StateWriteCache::StateWriteCache(size_t budget_bytes) {
  // The most entries whose fixed parts and hash table fit (BytesForEntries grows with them).
  size_t low = 0;
  size_t high = budget_bytes / kEntryBytes;
  while (low < high) {
    size_t mid = low + (high - low + 1) / 2;
    if (BytesForEntries(mid) <= budget_bytes) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  capacity_ = low;
  if (capacity_ == 0) return;
  // Entries never move: pointers to them stay valid until they are evicted.
  entries_.reserve(capacity_);
  slots_.assign(SlotsFor(capacity_), 0);
  mask_ = slots_.size() - 1;
  budget_ = budget_bytes - slots_.size() * sizeof(uint32_t);
}

size_t StateWriteCache::SlotOf(int state, std::string_view key, uint64_t hash) const {
  size_t i = hash & mask_;
  for (;;) {
    uint32_t s = slots_[i];
    if (s == 0) return i;
    const Entry& e = entries_[s - 1];
    if (e.hash == hash && e.state == state && e.key == key) return i;
    i = (i + 1) & mask_;
  }
}

StateWriteCache::Entry* StateWriteCache::Find(int state, std::string_view key, uint64_t hash) {
  uint32_t s = slots_[SlotOf(state, key, hash)];
  if (s == 0) return nullptr;
  Entry* e = &entries_[s - 1];
  e->referenced = true;
  return e;
}

StateWriteCache::Entry* StateWriteCache::Add(int state, std::string_view key, uint64_t hash) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[index];
  e.key.assign(key.data(), key.size());
  e.value.clear();
  long_bytes_ += LongBytes(e.key);
  e.hash = hash;
  e.state = state;
  e.present = false;
  e.dirty = false;
  e.changed = false;
  e.referenced = true;
  slots_[SlotOf(state, key, hash)] = index + 1;
  return &e;
}

void StateWriteCache::Remove(uint32_t index) {
  Entry& e = entries_[index];
  size_t i = SlotOf(e.state, e.key, e.hash);
  // Backward-shift deletion: moves later entries of the probe run into the gap, so lookups
  // never need tombstones.
  for (size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    size_t home = entries_[slots_[j] - 1].hash & mask_;
    // The entry at j may move to i unless its home lies cyclically in (i, j].
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = 0;
  long_bytes_ -= LongBytes(e.key) + LongBytes(e.value);
  e.state = -1;
  e.dirty = false;
  e.changed = false;
  e.referenced = false;
  free_.push_back(index);
}

void StateWriteCache::ReleaseLongBuffers(size_t first) {
  for (size_t i = first; i < free_.size(); ++i) {
    Entry& e = entries_[free_[i]];
    if (e.key.capacity() > kInline) std::string().swap(e.key);
    if (e.value.capacity() > kInline) std::string().swap(e.value);
  }
}

void StateWriteCache::MarkClean() {
  for (uint32_t i : dirty_) entries_[i].dirty = false;
  dirty_.clear();
}

void StateWriteCache::Clear() {
  entries_.clear();
  free_.clear();
  long_bytes_ = 0;
  dirty_.clear();
  std::fill(slots_.begin(), slots_.end(), 0);
  hand_ = 0;
}

}  // namespace weir
