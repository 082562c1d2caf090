// Internal: MapEntries, the entries of one key's MapState on the heap.
//
// Most keys of a map state hold a few entries: a window operator's open windows of one key, the
// times of its timers. As an std::unordered_map each entry was a node of its own, allocated when
// a window opened and freed when it fired, and each access a hash, a division by the bucket
// count and a pointer chase. Here the entries sit side by side in one vector and a lookup
// compares them in turn; from kIndexFrom entries on, a hash index of their positions is kept
// beside them, so a large map stays O(1) per access. Erase moves the last entry into the hole:
// the order of entries is unspecified, as MapState says.
//
// A plain value (copies are deep); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace weir::detail {

// `Equal` says which keys are one key; `Hash` must agree with it.
template <typename K, typename V, typename Hash, typename Equal = std::equal_to<K>>
class MapEntries {
 public:
  using Entry = std::pair<K, V>;
  // Up to this many entries a lookup scans them; a few compares of a small key cost less than
  // hashing it. More, and the index answers.
  static constexpr size_t kIndexFrom = 16;

  MapEntries() = default;
  MapEntries(MapEntries&&) noexcept = default;
  MapEntries& operator=(MapEntries&&) noexcept = default;
  MapEntries(const MapEntries& other) : entries_(other.entries_) {
    if (other.index_) index_ = std::make_unique<Index>(*other.index_);
  }
  MapEntries& operator=(const MapEntries& other) {
    if (this != &other) *this = MapEntries(other);
    return *this;
  }

  const V* Find(const K& key) const {
    const size_t at = PositionOf(key);
    return at == kAbsent ? nullptr : &entries_[at].second;
  }
  V* Find(const K& key) {
    const size_t at = PositionOf(key);
    return at == kAbsent ? nullptr : &entries_[at].second;
  }
  bool Contains(const K& key) const { return PositionOf(key) != kAbsent; }

  template <typename Key>  // K, const K&
  void InsertOrAssign(Key&& key, V value) {
    if (V* v = Find(key)) {
      *v = std::move(value);
      return;
    }
    entries_.emplace_back(std::forward<Key>(key), std::move(value));
    try {
      Indexed();
    } catch (...) {  // a throwing hash or allocation: the entry goes, the index is whole
      entries_.pop_back();
      throw;
    }
  }

  // True if `key` was there.
  bool Erase(const K& key) {
    const size_t at = PositionOf(key);
    if (at == kAbsent) return false;
    const size_t last = entries_.size() - 1;
    if (index_) {
      // Every hash before anything changes: a throw leaves the map as it was.
      auto moved = index_->find(entries_[last].first);
      auto erased = index_->find(key);
      moved->second = at;
      index_->erase(erased);
    }
    if (at != last) entries_[at] = std::move(entries_[last]);
    entries_.pop_back();
    return true;
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  typename std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  typename std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  using Index = std::unordered_map<K, size_t, Hash, Equal>;
  static constexpr size_t kAbsent = ~size_t{0};

  size_t PositionOf(const K& key) const {
    if (index_) {
      auto it = index_->find(key);
      return it == index_->end() ? kAbsent : it->second;
    }
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (Equal{}(entries_[i].first, key)) return i;
    }
    return kAbsent;
  }

  // After an append: the index learns the new entry, or is built once the entries outgrow a
  // scan. It stays when they shrink again (a map that grew large tends to again).
  void Indexed() {
    const size_t last = entries_.size() - 1;
    if (index_) {
      index_->emplace(entries_[last].first, last);
    } else if (entries_.size() > kIndexFrom) {
      auto index = std::make_unique<Index>();  // kept only once whole
      index->reserve(entries_.size() * 2);
      for (size_t i = 0; i < entries_.size(); ++i) index->emplace(entries_[i].first, i);
      index_ = std::move(index);
    }
  }

  std::vector<Entry> entries_;
  std::unique_ptr<Index> index_;  // null until the entries outgrow kIndexFrom
};

}  // namespace weir::detail
