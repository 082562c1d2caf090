// HeapTimerService: the timers of one keyed operator subtask, kept in memory.
//
// A timer is (domain, timestamp, key); registering the same one twice keeps one. The task's
// mailbox loop asks for the next due processing time and fires due timers between batches;
// event-time timers fire when the operator's watermark passes them, in (timestamp, key) order.
// Timers belong to key groups like keyed state and are written to and restored from the
// canonical snapshot, for both state backends.
// Thread-safety: owned by one task thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/hash.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/operator.h"

namespace weir {

// The timers of one domain, earliest first: a binary min-heap on (timestamp, key) for the
// order and a hash set for membership, as Flink's HeapPriorityQueueSet. Registering a timer
// that exists is one hash lookup and allocates nothing; a new one is a push that rarely climbs
// (timers mostly come in time order). A deleted timer leaves the set at once and the heap
// when it reaches the top: the set says which heap entries are live.
class TimerQueue {
 public:
  bool empty() const { return live_.empty(); }
  size_t size() const { return live_.size(); }
  // The earliest live timestamp; the queue must not be empty.
  int64_t Earliest() const { return heap_.front().first; }

  void Add(int64_t timestamp, std::string_view key) {
    if (live_.find(View{timestamp, key}) != live_.end()) return;
    live_.emplace(timestamp, std::string(key));
    heap_.emplace_back(timestamp, std::string(key));
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }
  void Remove(int64_t timestamp, std::string_view key) {
    auto it = live_.find(View{timestamp, key});
    if (it == live_.end()) return;
    live_.erase(it);
    if (heap_.size() > 2 * live_.size() + 64) {
      Rebuild();
    } else {
      DropDeadTop();
    }
  }
  // Removes the earliest timer if it is due at `due`.
  bool PopDue(int64_t due, int64_t* timestamp, std::string* key) {
    if (live_.empty() || heap_.front().first > due) return false;
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    Timer& t = heap_.back();
    live_.erase(live_.find(View{t.first, t.second}));
    *timestamp = t.first;
    *key = std::move(t.second);
    heap_.pop_back();
    DropDeadTop();
    return true;
  }
  // Every live timer, in (timestamp, key) order.
  std::vector<std::pair<int64_t, std::string_view>> Sorted() const {
    std::vector<std::pair<int64_t, std::string_view>> out(live_.begin(), live_.end());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  using Timer = std::pair<int64_t, std::string>;
  using View = std::pair<int64_t, std::string_view>;
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const { return a > b; }
  };
  struct TimerHash {
    using is_transparent = void;
    size_t operator()(const View& t) const {
      return Hash64(t.second) ^ (static_cast<uint64_t>(t.first) * 0x9E3779B97F4A7C15ULL);
    }
    size_t operator()(const Timer& t) const { return (*this)(View{t.first, t.second}); }
  };
  struct TimerEqual {
    using is_transparent = void;
    bool operator()(const View& a, const View& b) const { return a == b; }
    bool operator()(const Timer& a, const View& b) const { return View{a.first, a.second} == b; }
    bool operator()(const View& a, const Timer& b) const { return a == View{b.first, b.second}; }
    bool operator()(const Timer& a, const Timer& b) const { return a == b; }
  };

  // Keeps the top live, so that Earliest() needs no cleaning. The heap holds each live timer
  // once, so as long as it is no bigger than the set there is nothing dead to look up.
  void DropDeadTop() {
    while (heap_.size() > live_.size() &&
           live_.find(View{heap_.front().first, heap_.front().second}) == live_.end()) {
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      heap_.pop_back();
    }
  }
  // Too many dead entries: the heap again from the live ones only.
  void Rebuild() {
    heap_.assign(live_.begin(), live_.end());
    std::make_heap(heap_.begin(), heap_.end(), Later());
  }

  std::vector<Timer> heap_;  // may hold dead entries, and a timer twice (deleted, then added)
  std::unordered_set<Timer, TimerHash, TimerEqual> live_;
};

class HeapTimerService final : public detail::TimerServiceAccess {
 public:
  HeapTimerService(detail::KeyedStateAccess* keys, Clock* clock) : keys_(keys), clock_(clock) {}

  int64_t CurrentProcessingTime() const override { return clock_->WallMillis(); }
  void RegisterProcessingTimeTimer(int64_t timestamp) override {
    processing_.Add(timestamp, keys_->current_key_bytes());
  }
  void DeleteProcessingTimeTimer(int64_t timestamp) override {
    processing_.Remove(timestamp, keys_->current_key_bytes());
  }

  int64_t CurrentWatermark() const override { return watermark_; }
  void RegisterEventTimeTimer(int64_t timestamp) override {
    event_.Add(timestamp, keys_->current_key_bytes());
  }
  void DeleteEventTimeTimer(int64_t timestamp) override {
    event_.Remove(timestamp, keys_->current_key_bytes());
  }
  bool PopDueEventTimer(int64_t watermark, int64_t* timestamp, std::string* key) override {
    watermark_ = std::max(watermark_, watermark);
    return event_.PopDue(watermark_, timestamp, key);
  }

  // The earliest processing-time timer, or INT64_MAX when there is none.
  int64_t NextTimestamp() const {
    return processing_.empty() ? std::numeric_limits<int64_t>::max() : processing_.Earliest();
  }
  // Removes the earliest processing-time timer if it is due at `now`.
  bool PopDue(int64_t now, int64_t* timestamp, std::string* key) {
    return processing_.PopDue(now, timestamp, key);
  }

  // For snapshots and restores: every timer of both domains, in (timestamp, key) order.
  void Add(TimeDomain domain, int64_t timestamp, std::string_view key) {
    Of(domain).Add(timestamp, key);
  }
  void ForEach(const std::function<void(TimeDomain, int64_t, const std::string&)>& fn) const {
    std::string key;
    for (TimeDomain d : {TimeDomain::kProcessingTime, TimeDomain::kEventTime}) {
      for (const auto& [ts, k] : Of(d).Sorted()) {
        key.assign(k);
        fn(d, ts, key);
      }
    }
  }
  size_t size() const { return processing_.size() + event_.size(); }

 private:
  TimerQueue& Of(TimeDomain domain) {
    return domain == TimeDomain::kEventTime ? event_ : processing_;
  }
  const TimerQueue& Of(TimeDomain domain) const {
    return domain == TimeDomain::kEventTime ? event_ : processing_;
  }

  detail::KeyedStateAccess* keys_;
  Clock* clock_;
  TimerQueue processing_;
  TimerQueue event_;
  int64_t watermark_ = detail::kMinWatermark;
};

// A timer as snapshots carry it.
struct TimerEntry {
  TimeDomain domain;
  int64_t timestamp;
  std::string key;
};

}  // namespace weir
