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
#include <utility>
#include <vector>

#include "base/clock.h"
#include "state/timer_queue.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/operator.h"

namespace weir {

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
