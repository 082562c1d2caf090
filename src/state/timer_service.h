// HeapTimerService: processing-time timers of one keyed operator subtask, kept in memory.
//
// A timer is (timestamp, key); registering the same pair twice keeps one. The task's mailbox
// loop asks for the next due time and fires due timers between batches. Timers belong to
// key groups like keyed state and are written to and restored from the canonical snapshot,
// for both state backends.
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "base/clock.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/operator.h"

namespace weir {

class HeapTimerService final : public detail::TimerServiceAccess {
 public:
  HeapTimerService(detail::KeyedStateAccess* keys, Clock* clock) : keys_(keys), clock_(clock) {}

  int64_t CurrentProcessingTime() const override { return clock_->WallMillis(); }
  void RegisterProcessingTimeTimer(int64_t timestamp) override {
    timers_.emplace(timestamp, std::string(keys_->current_key_bytes()));
  }
  void DeleteProcessingTimeTimer(int64_t timestamp) override {
    timers_.erase({timestamp, std::string(keys_->current_key_bytes())});
  }

  // The earliest timestamp, or INT64_MAX when there is no timer.
  int64_t NextTimestamp() const {
    return timers_.empty() ? std::numeric_limits<int64_t>::max() : timers_.begin()->first;
  }
  // Removes the earliest timer if it is due at `now`.
  bool PopDue(int64_t now, int64_t* timestamp, std::string* key) {
    if (timers_.empty() || timers_.begin()->first > now) return false;
    auto node = timers_.extract(timers_.begin());
    *timestamp = node.value().first;
    *key = std::move(node.value().second);
    return true;
  }

  void Add(int64_t timestamp, std::string_view key) {
    timers_.emplace(timestamp, std::string(key));
  }
  void ForEach(const std::function<void(int64_t, const std::string&)>& fn) const {
    for (const auto& [ts, key] : timers_) fn(ts, key);
  }
  size_t size() const { return timers_.size(); }

 private:
  detail::KeyedStateAccess* keys_;
  Clock* clock_;
  std::set<std::pair<int64_t, std::string>> timers_;
};

}  // namespace weir
