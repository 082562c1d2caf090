#include "state/timer_queue.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>

#include "base/hash.h"

namespace weir {

// ---- TimerKeys ------------------------------------------------------------------------------------

size_t TimerKeys::Probe(std::string_view key, uint64_t hash, bool* found) const {
  const size_t mask = index_.size() - 1;
  size_t free_slot = index_.size();
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t v = index_[i];
    if (v == kEmpty) {
      *found = false;
      return free_slot < index_.size() ? free_slot : i;
    }
    if (v == kGone) {
      if (free_slot == index_.size()) free_slot = i;
    } else if ((v & kFingerprint) == (hash & kFingerprint) && PositionIn(v) < keys_.size() &&
               keys_[PositionIn(v)] == key) {
      *found = true;
      return i;
    }
  }
}

size_t TimerKeys::FindPosition(std::string_view key) const {
  if (index_.empty()) {
    return std::find(keys_.begin(), keys_.end(), key) - keys_.begin();
  }
  bool found;
  size_t slot = Probe(key, Hash64(key), &found);
  return found ? PositionIn(index_[slot]) : keys_.size();
}

bool TimerKeys::Insert(std::string_view key) {
  size_t slot = 0;
  uint64_t hash = 0;
  if (index_.empty()) {
    if (FindPosition(key) != keys_.size()) return false;
  } else {
    bool found;
    hash = Hash64(key);
    slot = Probe(key, hash, &found);
    if (found) return false;
  }
  // Appending below the smallest keeps a due time's keys sorted; anything else re-sorts, and
  // the index loses the slots left by keys taken.
  const bool keeps_order = !descending_ || keys_.empty() || key < keys_.back();
  keys_.emplace_back(key);
  if (!keeps_order) {
    descending_ = false;
    if (!index_.empty()) Rebuild(index_.size());
  } else if (!index_.empty()) {
    if (index_[slot] == kGone) --gone_;
    index_[slot] = SlotValue(hash, keys_.size() - 1);
    // At most half full, tombstones included: probes stay short. Built again at four times
    // the keys: larger, or as large with the tombstones gone.
    if ((keys_.size() + gone_) * 2 > index_.size()) Rebuild(0);
  }
  if (index_.empty() && keys_.size() > kLinearMax) Rebuild(4 * kLinearMax);
  return true;
}

bool TimerKeys::Erase(std::string_view key) {
  size_t pos = FindPosition(key);
  if (pos == keys_.size()) return false;
  RemoveAt(pos);
  return true;
}

void TimerKeys::TakeSmallest(std::string* key) {
  if (!descending_) SortDescending();
  RemoveAt(keys_.size() - 1, key);
}

size_t TimerKeys::SlotOf(size_t pos) const {
  const size_t mask = index_.size() - 1;
  const uint64_t hash = Hash64(keys_[pos]);
  const uint64_t value = SlotValue(hash, pos);
  size_t i = hash & mask;
  while (index_[i] != value) i = (i + 1) & mask;
  return i;
}

void TimerKeys::RemoveAt(size_t pos, std::string* taken) {
  const size_t last = keys_.size() - 1;
  if (descending_) {
    // A due time's keys go from the back, smallest first. The index keeps the slot of a key
    // taken, which points past the end: Probe passes over it, as over a removed one, and no
    // hash or probe is spent to clear it. From the middle, the order is kept, and the index,
    // whose positions moved, is built again.
    if (taken != nullptr) *taken = std::move(keys_[pos]);
    keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(pos));
    if (!index_.empty()) {
      if (pos == last) {
        ++gone_;
      } else {
        Rebuild(index_.size());
      }
    }
    return;
  }
  if (!index_.empty()) {
    // Both slots first: once the last key's slot says pos, the probe for pos could land there.
    size_t slot = SlotOf(pos);
    if (pos != last) {
      size_t moved = SlotOf(last);
      index_[moved] = SlotValue(index_[moved], pos);
    }
    index_[slot] = kGone;
    ++gone_;
  }
  if (taken != nullptr) *taken = std::move(keys_[pos]);
  if (pos != last) {
    keys_[pos] = std::move(keys_[last]);
    descending_ = false;
  }
  keys_.pop_back();
}

void TimerKeys::Rebuild(size_t capacity) {
  capacity = std::bit_ceil(std::max(capacity, 4 * keys_.size()));
  index_.assign(capacity, kEmpty);
  gone_ = 0;
  const size_t mask = capacity - 1;
  for (size_t pos = 0; pos < keys_.size(); ++pos) {
    uint64_t hash = Hash64(keys_[pos]);
    size_t i = hash & mask;
    while (index_[i] != kEmpty) i = (i + 1) & mask;
    index_[i] = SlotValue(hash, pos);
  }
}

namespace {

// The first 8 bytes of `key` as a big-endian integer, zero-padded: keys whose prefixes differ
// compare as their prefixes do (std::string compares bytes unsigned, as memcmp).
uint64_t LeadingBytes(std::string_view key) {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, key.data(), std::min<size_t>(key.size(), 8));
  uint64_t v = 0;
  for (unsigned char b : bytes) v = (v << 8) | b;
  return v;
}

}  // namespace

void TimerKeys::SortDescending() {
  // Keys mostly differ in their first 8 bytes (integer keys, big-endian, always): sorting
  // those as integers, and comparing whole keys only on a tie, is several times faster than
  // comparing the strings. Once per due time, so the buffers are not kept.
  std::vector<std::pair<uint64_t, uint32_t>> order(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) {
    order[i] = {LeadingBytes(keys_[i]), static_cast<uint32_t>(i)};
  }
  std::sort(order.begin(), order.end(), [this](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return keys_[a.second] > keys_[b.second];
  });
  std::vector<std::string> sorted(keys_.size());
  for (size_t i = 0; i < order.size(); ++i) sorted[i] = std::move(keys_[order[i].second]);
  keys_.swap(sorted);
  if (!index_.empty()) Rebuild(index_.size());
  descending_ = true;
}

void TimerKeys::AppendTo(std::vector<std::string_view>* out) const {
  out->insert(out->end(), keys_.begin(), keys_.end());
}

// ---- TimerQueue -----------------------------------------------------------------------------------

TimerKeys* TimerQueue::At(int64_t timestamp) {
  if (last_ != nullptr && last_time_ == timestamp) return last_;
  last_ = &by_time_.try_emplace(timestamp).first->second;
  last_time_ = timestamp;
  return last_;
}

void TimerQueue::Drop(std::map<int64_t, TimerKeys>::iterator it) {
  if (&it->second == last_) last_ = nullptr;
  by_time_.erase(it);
}

void TimerQueue::Add(int64_t timestamp, std::string_view key) {
  // A new timestamp's set is filled at once, so no set stays empty.
  if (At(timestamp)->Insert(key)) ++size_;
}

void TimerQueue::Remove(int64_t timestamp, std::string_view key) {
  auto it = by_time_.find(timestamp);
  if (it == by_time_.end() || !it->second.Erase(key)) return;
  --size_;
  if (it->second.empty()) Drop(it);
}

bool TimerQueue::PopDue(int64_t due, int64_t* timestamp, std::string* key) {
  if (size_ == 0) return false;
  auto it = by_time_.begin();
  if (it->first > due) return false;
  *timestamp = it->first;
  it->second.TakeSmallest(key);
  --size_;
  if (it->second.empty()) Drop(it);
  return true;
}

std::vector<std::pair<int64_t, std::string_view>> TimerQueue::Sorted() const {
  std::vector<std::pair<int64_t, std::string_view>> out;
  out.reserve(size_);
  std::vector<std::string_view> keys;
  for (const auto& [timestamp, set] : by_time_) {
    keys.clear();
    set.AppendTo(&keys);
    std::sort(keys.begin(), keys.end());
    for (std::string_view k : keys) out.emplace_back(timestamp, k);
  }
  return out;
}

}  // namespace weir
