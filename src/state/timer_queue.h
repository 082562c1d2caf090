// TimerQueue: the timers of one domain of one keyed operator subtask, earliest first.
//
// A timer is (timestamp, key); registering one that exists keeps one. Timers fire in
// (timestamp, key) order, whatever order they were registered or restored in, so a job that
// restores its timers emits what the uninterrupted run emitted.
//
// Timers are grouped by timestamp: event-time windows put every key's timer at a few window
// ends, and a job registers the timer it already has on most records. So the queue is an
// ordered map of timestamps, each with a flat hash set of keys: registering an existing timer
// is one probe, a new one an append, and a timestamp's keys are sorted once, when it becomes
// due, instead of each climbing a heap of (timestamp, string) pairs.
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir {

// The keys with a timer at one timestamp. Keys sit densely in a vector (removal moves the
// last one into the hole); above a handful an open-addressing index finds them. While the
// timestamp is due they are kept sorted descending, so the smallest is taken from the back
// (its index slot left behind, pointing past the end, until the index is next built).
class TimerKeys {
 public:
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // False when the key is already here.
  bool Insert(std::string_view key);
  // False when the key is not here.
  bool Erase(std::string_view key);
  // Moves the smallest key out into *key and removes it; the set must not be empty.
  void TakeSmallest(std::string* key);
  // Appends every key, in no particular order.
  void AppendTo(std::vector<std::string_view>* out) const;

 private:
  static constexpr size_t kLinearMax = 8;  // up to this many keys, no index: a scan
  // An index slot: the high half of the key's hash (compared before the key), and its
  // position + 1 in keys_ in the low half; 0 is an empty slot, kGone a removed one.
  static constexpr uint64_t kFingerprint = 0xFFFFFFFF00000000ULL;
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kGone = 0xFFFFFFFFULL;
  static uint64_t SlotValue(uint64_t hash, size_t pos) { return (hash & kFingerprint) | (pos + 1); }
  static size_t PositionIn(uint64_t slot) { return (slot & ~kFingerprint) - 1; }

  // The index slot holding `key` or, if absent, the first free slot of its probe sequence.
  size_t Probe(std::string_view key, uint64_t hash, bool* found) const;
  size_t FindPosition(std::string_view key) const;  // keys_.size() when absent
  size_t SlotOf(size_t pos) const;                   // the index slot of keys_[pos]
  // Removes keys_[pos], moving it into *taken if given; the last key fills the hole.
  void RemoveAt(size_t pos, std::string* taken = nullptr);
  void Rebuild(size_t capacity);
  void SortDescending();

  std::vector<std::string> keys_;
  std::vector<uint64_t> index_;  // empty while keys_.size() <= kLinearMax
  size_t gone_ = 0;              // tombstones in index_, and slots of keys taken
  bool descending_ = false;      // keys_ sorted descending (kept once the time is due)
};

class TimerQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // The earliest timestamp; the queue must not be empty.
  int64_t Earliest() const { return by_time_.begin()->first; }

  void Add(int64_t timestamp, std::string_view key);
  void Remove(int64_t timestamp, std::string_view key);
  // Removes the earliest timer if it is due at `due`.
  bool PopDue(int64_t due, int64_t* timestamp, std::string* key);
  // Every timer, in (timestamp, key) order.
  std::vector<std::pair<int64_t, std::string_view>> Sorted() const;

 private:
  TimerKeys* At(int64_t timestamp);  // creates the timestamp's set
  void Drop(std::map<int64_t, TimerKeys>::iterator it);

  std::map<int64_t, TimerKeys> by_time_;  // never holds an empty set
  // The set Add used last: a record's timers mostly come at the time the previous one used.
  int64_t last_time_ = 0;
  TimerKeys* last_ = nullptr;
  size_t size_ = 0;
};

}  // namespace weir
