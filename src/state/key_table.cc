#include "state/key_table.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>

#include "weir/detail/hash.h"

namespace weir {

static_assert(sizeof(KeyTable::Key) == 24);

KeyTable::Key& KeyTable::Key::operator=(const Key& other) {
  if (this != &other) {
    Release();
    std::memcpy(data_, other.data_, kInline);
    if (other.inline_size_ == kOnHeap) {  // a copy owns its bytes
      std::string_view b = other.bytes();
      char* p = new char[b.size()];
      std::memcpy(p, b.data(), b.size());
      std::memcpy(data_, &p, sizeof p);
    }
    inline_size_ = other.inline_size_;
    home_hash_ = other.home_hash_;
    key_group_ = other.key_group_;
    live_ = other.live_;
  }
  return *this;
}

void KeyTable::Key::Assign(std::string_view bytes, uint64_t hash, int key_group) {
  Release();
  if (bytes.size() > kInline) {
    char* p = new char[bytes.size()];
    std::memcpy(p, bytes.data(), bytes.size());
    auto n = static_cast<uint32_t>(bytes.size());  // FindOrInsert refused longer keys
    std::memcpy(data_, &p, sizeof p);
    std::memcpy(data_ + sizeof p, &n, sizeof n);
    inline_size_ = kOnHeap;
  } else {
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
    inline_size_ = static_cast<uint8_t>(bytes.size());
  }
  home_hash_ = static_cast<uint32_t>(hash);
  key_group_ = static_cast<uint16_t>(key_group);
  live_ = true;
}

void KeyTable::Key::Release() {
  if (inline_size_ == kOnHeap) delete[] bytes().data();
  inline_size_ = 0;
  live_ = false;
}

KeyTable::KeyTable() : slots_(16, kEmpty), mask_(15) {}

detail::KeyId KeyTable::Find(std::string_view bytes, uint64_t hash) const {
  const uint64_t tag = hash & 0xffffffff00000000ull;
  for (size_t i = Home(hash);; i = (i + 1) & mask_) {
    const uint64_t s = slots_[i];
    if (s == kEmpty) return detail::kNoKey;
    if (s != kTombstone && (s & 0xffffffff00000000ull) == tag) {
      auto id = static_cast<detail::KeyId>((s & 0xffffffffull) - 1);
      if (detail::BytesEqual(keys_[id].bytes(), bytes)) return id;
    }
  }
}

detail::KeyId KeyTable::Insert(std::string_view bytes, uint64_t hash, int key_group) {
  // What a Key has room for, checked before an id is taken.
  if (bytes.size() > std::numeric_limits<uint32_t>::max()) {
    throw detail::StateError("a key of " + std::to_string(bytes.size()) +
                             " bytes: the heap state backend keeps keys of at most 4 GiB");
  }
  if (key_group < 0 || key_group > std::numeric_limits<uint16_t>::max()) {
    throw detail::StateError("key group " + std::to_string(key_group) +
                             " is out of range: there are at most 65536");
  }
  size_t i = Home(hash);
  while (slots_[i] != kEmpty && slots_[i] != kTombstone) i = (i + 1) & mask_;
  detail::KeyId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<detail::KeyId>(keys_.size());
    keys_.Resize(keys_.size() + 1);
  }
  keys_.Mutable(id).Assign(bytes, hash, key_group);
  ++live_;
  // Grown by half at a time: a resize per new id is a call per insert.
  if (fresh_.size() <= id) fresh_.resize(std::max(keys_.size(), fresh_.size() * 3 / 2));
  if (!fresh_[id]) {
    fresh_[id] = true;
    inserted_.push_back(id);
  }
  if (slots_[i] == kEmpty) ++used_;
  slots_[i] = Slot(hash, id);
  if (used_ * 10 >= slots_.size() * 7) Rehash(std::bit_ceil(std::max<size_t>(16, live_ * 2)));
  return id;
}

void KeyTable::Erase(detail::KeyId id) {
  if (!keys_[id].live()) return;
  Key& k = keys_.Mutable(id);
  const uint64_t want = static_cast<uint64_t>(id) + 1;
  for (size_t i = Home(k.home_hash_); slots_[i] != kEmpty; i = (i + 1) & mask_) {
    if (slots_[i] != kTombstone && (slots_[i] & 0xffffffffull) == want) {
      slots_[i] = kTombstone;
      break;
    }
  }
  k.Release();
  free_ids_.push_back(id);
  --live_;
  if (!fresh_[id]) ++version_;  // the last Freeze saw it
}

KeyTable::Frozen KeyTable::Freeze() {
  bool changed = keys_.size() != frozen_ids_;
  for (detail::KeyId id : inserted_) {
    changed = changed || keys_[id].live();
    fresh_[id] = false;
  }
  inserted_.clear();
  if (changed) ++version_;
  frozen_ids_ = keys_.size();
  return keys_.Freeze();
}

void KeyTable::Reserve(size_t n) {
  // The table the keys grow into one by one (Insert rehashes at 70% full): twice the keys
  // would be up to twice that, and new memory costs a restore more than the probes save.
  size_t want = std::bit_ceil(std::max<size_t>(16, (live_ + n) * 10 / 7 + 1));
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
    size_t i = Home(keys_[id].home_hash_);
    while (slots_[i] != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
    ++used_;
  }
}

}  // namespace weir
