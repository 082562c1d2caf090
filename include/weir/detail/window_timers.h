// Internal: the timers and trigger state of one window operator, per key and window.
//
// The engine's timers belong to a key and a time. A window's trigger needs them per window
// too, so the windows with a timer at each (time, clock) are kept in keyed map state beside
// them; when a key's timer fires, the windows registered at that time are the ones told. When
// the last window at a time deletes its timer, the engine's timer goes too (a session that
// grows with each record would otherwise leave one dead timer per record). Both live in keyed
// state: checkpointed with the key and redistributed with its key group. Task thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operator.h"
#include "weir/functions.h"
#include "weir/state.h"

namespace weir::detail {

template <typename W>
class WindowTimers {
 public:
  void Open(RuntimeContext& rc, TimerServiceAccess* timers) {
    timers_ = timers;
    by_time_ = rc.GetMapState(
        MapStateDescriptor<std::pair<int64_t, uint8_t>, std::vector<W>>("window-timers-by-time"));
    trigger_state_ =
        rc.GetMapState(MapStateDescriptor<std::string, std::string>("window-trigger-state"));
  }

  int64_t CurrentWatermark() const { return timers_->CurrentWatermark(); }
  int64_t CurrentProcessingTime() const { return timers_->CurrentProcessingTime(); }

  void Register(TimeDomain domain, int64_t time, const W& window) {
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    // The common case, per record and window: one read, no copy.
    const std::vector<W>* windows = by_time_.Find(at);
    if (Holds(windows, window)) return;
    std::vector<W> updated = windows != nullptr ? *windows : std::vector<W>{};
    updated.push_back(window);
    by_time_.Put(at, std::move(updated));
    if (domain == TimeDomain::kEventTime) {
      timers_->RegisterEventTimeTimer(time);
    } else {
      timers_->RegisterProcessingTimeTimer(time);
    }
  }
  void Delete(TimeDomain domain, int64_t time, const W& window) {
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    const std::vector<W>* windows = by_time_.Find(at);
    if (!Holds(windows, window)) return;
    if (windows->size() > 1) {
      std::vector<W> rest = *windows;
      std::erase(rest, window);
      by_time_.Put(at, std::move(rest));
      return;
    }
    by_time_.Remove(at);
    if (domain == TimeDomain::kEventTime) {
      timers_->DeleteEventTimeTimer(time);
    } else {
      timers_->DeleteProcessingTimeTimer(time);
    }
  }

  // The current key's windows with a timer at `time` on `domain`, in order; their
  // registrations are removed.
  void TakeDue(TimeDomain domain, int64_t time, std::vector<W>* out) {
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    const std::vector<W>* windows = by_time_.Find(at);
    if (windows == nullptr) {
      out->clear();
      return;
    }
    out->assign(windows->begin(), windows->end());
    by_time_.Remove(at);
    std::sort(out->begin(), out->end());
  }

  template <typename V>
  std::optional<V> GetState(std::string_view name, const W& window) {
    std::optional<std::string> bytes = trigger_state_.Get(StateKey(name, window));
    if (!bytes) return std::nullopt;
    V v;
    if (!DecodeFromString(*bytes, v)) {
      throw StateError(Status::Corruption("trigger state '" + std::string(name) +
                                          "' does not decode").AsPermanent());
    }
    return v;
  }
  template <typename V>
  void UpdateState(std::string_view name, const W& window, const V& value) {
    trigger_state_.Put(StateKey(name, window), EncodeToString(value));
  }
  void ClearState(std::string_view name, const W& window) {
    trigger_state_.Remove(StateKey(name, window));
  }
  // Whatever state a trigger left for `window` (the window is gone).
  void ClearAllState(const W& window) {
    if (trigger_state_.IsEmpty()) return;
    std::string prefix = StateKey("", window);
    std::vector<std::string> doomed;
    trigger_state_.ForEach([&](const std::string& k, const std::string&) {
      if (k.starts_with(prefix)) doomed.push_back(k);
    });
    for (const auto& k : doomed) trigger_state_.Remove(k);
  }

 private:
  static bool Holds(const std::vector<W>* windows, const W& window) {
    return windows != nullptr &&
           std::find(windows->begin(), windows->end(), window) != windows->end();
  }
  // The window's bytes, length-prefixed so that no window's key is a prefix of another's.
  static std::string StateKey(std::string_view name, const W& window) {
    std::string w = EncodeToString(window);
    std::string key;
    BufferWriter out(&key);
    out.PutVarint64(w.size());
    key += w;
    key += name;
    return key;
  }

  TimerServiceAccess* timers_ = nullptr;
  MapState<std::pair<int64_t, uint8_t>, std::vector<W>> by_time_;  // windows by (time, clock)
  MapState<std::string, std::string> trigger_state_;
};

}  // namespace weir::detail
