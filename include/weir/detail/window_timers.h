// Internal: the timers and trigger state of one window operator, per key and window.
//
// The engine's timers belong to a key and a time. A window's trigger needs them per window
// too, so the windows with a timer at each (time, clock) are kept in keyed map state beside
// them; when a key's timer fires, the windows registered at that time are the ones told. When
// the last window at a time deletes its timer, the engine's timer goes too (a session that
// grows with each record would otherwise leave one dead timer per record). Both live in keyed
// state: checkpointed with the key and redistributed with its key group.
//
// When every window has one size and one grid of starts (tumbling, sliding), a timer at a
// window's last millisecond names that window: an event-time timer with no windows recorded
// at its time is that window's, if a window ends there. With the event-time trigger and no allowed lateness every timer is such a one, so
// none is recorded at all (`named_only`) and a record's timer costs the engine's lookup alone,
// as Flink's timers, which carry their window, cost. A snapshot of either kind restores into
// the other.
//
// Each of the two states is declared only where it may hold something: the windows by time
// unless every timer names its window, the triggers' state where the trigger may keep some
// (the built-in time triggers keep none); a restore that brings either declares it. A window
// that fires then looks its key up in neither. Task thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operator.h"
#include "weir/functions.h"
#include "weir/state.h"
#include "weir/windows.h"

namespace weir::detail {

// Windows of one size, one starting every `slide` ms from `offset`.
struct WindowGrid {
  int64_t size = 0;
  int64_t slide = 0;
  int64_t offset = 0;
};

template <typename W>
class WindowTimers {
 public:
  // `grid`: where every window lies, if they all lie on one (TimeWindow only).
  // `trigger_keeps_state`: whether the trigger may keep state per window.
  void Open(RuntimeContext& rc, KeyedStateAccess& keyed, TimerServiceAccess* timers,
            std::optional<WindowGrid> grid, bool named_only, bool trigger_keeps_state) {
    rc_ = &rc;
    timers_ = timers;
    grid_ = grid;
    named_only_ = named_only && grid.has_value();
    if (!named_only_ || keyed.HoldsUndeclaredState(kByTime)) ByTime();
    if (trigger_keeps_state || keyed.HoldsUndeclaredState(kTriggerState)) TriggerState();
  }

  // The watermark windows are judged by: the operator's, or a restored one ahead of it
  // (KeyGroupWatermarks), which the operator sets as the current key changes.
  int64_t CurrentWatermark() const {
    return std::max(timers_->CurrentWatermark(), watermark_floor_);
  }
  void SetWatermarkFloor(int64_t floor) { watermark_floor_ = floor; }
  int64_t CurrentProcessingTime() const { return timers_->CurrentProcessingTime(); }

  void Register(TimeDomain domain, int64_t time, const W& window) {
    if (named_only_ && domain == TimeDomain::kEventTime && Names(time, window)) {
      timers_->RegisterEventTimeTimer(time);
      return;
    }
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    // The common case, per record and window: one read, no copy.
    const std::vector<W>* windows = ByTime().Find(at);
    if (Holds(windows, window)) return;
    std::vector<W> updated = windows != nullptr ? *windows : std::vector<W>{};
    updated.push_back(window);
    by_time_->Put(at, std::move(updated));
    if (domain == TimeDomain::kEventTime) {
      timers_->RegisterEventTimeTimer(time);
    } else {
      timers_->RegisterProcessingTimeTimer(time);
    }
  }
  void Delete(TimeDomain domain, int64_t time, const W& window) {
    if (named_only_ && domain == TimeDomain::kEventTime && Names(time, window)) {
      timers_->DeleteEventTimeTimer(time);
      return;
    }
    if (!by_time_) return;  // nothing recorded
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    const std::vector<W>* windows = by_time_->Find(at);
    if (!Holds(windows, window)) return;
    if (windows->size() > 1) {
      std::vector<W> rest = *windows;
      std::erase(rest, window);
      by_time_->Put(at, std::move(rest));
      return;
    }
    by_time_->Remove(at);
    if (domain == TimeDomain::kEventTime) {
      timers_->DeleteEventTimeTimer(time);
    } else {
      timers_->DeleteProcessingTimeTimer(time);
    }
  }

  // The current key's windows with a timer at `time` on `domain`, in order; their
  // registrations are removed. Returns the window the time names if it was not recorded
  // although windows are (it comes from a snapshot taken with `named_only`): its cleanup
  // timer, which that snapshot did not need, is the caller's to register. It may share its
  // time with recorded ones (a cleanup timer a lateness of whole slides after another
  // window's end).
  std::optional<W> TakeDue(TimeDomain domain, int64_t time, std::vector<W>* out) {
    std::pair<int64_t, uint8_t> at{time, static_cast<uint8_t>(domain)};
    // With `named_only`, only a snapshot taken without it has windows here.
    const std::vector<W>* windows = by_time_ ? by_time_->Find(at) : nullptr;
    out->clear();
    if (windows != nullptr) {
      out->assign(windows->begin(), windows->end());
      by_time_->Remove(at);
    }
    std::optional<W> adopted;
    if (domain == TimeDomain::kEventTime) {
      if (std::optional<W> named = NamedBy(time); named && !Holds(out, *named)) {
        out->push_back(*named);
        if (!named_only_) adopted = named;
      }
    }
    std::sort(out->begin(), out->end());
    return adopted;
  }

  template <typename V>
  std::optional<V> GetState(std::string_view name, const W& window) {
    if (!trigger_state_) return std::nullopt;
    std::optional<std::string> bytes = trigger_state_->Get(StateKey(name, window));
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
    TriggerState().Put(StateKey(name, window), EncodeToString(value));
  }
  void ClearState(std::string_view name, const W& window) {
    if (trigger_state_) trigger_state_->Remove(StateKey(name, window));
  }
  // Whatever state a trigger left for `window` (the window is gone).
  void ClearAllState(const W& window) {
    if (!trigger_state_ || trigger_state_->IsEmpty()) return;
    std::string prefix = StateKey("", window);
    std::vector<std::string> doomed;
    trigger_state_->ForEach([&](const std::string& k, const std::string&) {
      if (k.starts_with(prefix)) doomed.push_back(k);
    });
    for (const auto& k : doomed) trigger_state_->Remove(k);
  }

 private:
  // The window whose last millisecond is `time`, if one ends there. (A cleanup timer at
  // a window's end plus an allowed lateness, restored into an operator without lateness,
  // names none.)
  std::optional<W> NamedBy(int64_t time) const {
    if constexpr (std::is_same_v<W, TimeWindow>) {
      if (grid_ && time < std::numeric_limits<int64_t>::max()) {
        const int64_t start = time + 1 - grid_->size;
        if (TimeWindow::StartOf(start, grid_->offset, grid_->slide) == start) {
          return TimeWindow{start, time + 1};
        }
      }
    }
    return std::nullopt;
  }
  bool Names(int64_t time, const W& window) const {
    std::optional<W> named = NamedBy(time);
    return named && *named == window;
  }
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

  static constexpr const char* kByTime = "window-timers-by-time";
  static constexpr const char* kTriggerState = "window-trigger-state";
  MapState<std::pair<int64_t, uint8_t>, std::vector<W>>& ByTime() {
    if (!by_time_) {
      by_time_ = rc_->GetMapState(
          MapStateDescriptor<std::pair<int64_t, uint8_t>, std::vector<W>>(kByTime));
    }
    return *by_time_;
  }
  MapState<std::string, std::string>& TriggerState() {
    if (!trigger_state_) {
      trigger_state_ =
          rc_->GetMapState(MapStateDescriptor<std::string, std::string>(kTriggerState));
    }
    return *trigger_state_;
  }

  RuntimeContext* rc_ = nullptr;
  TimerServiceAccess* timers_ = nullptr;
  int64_t watermark_floor_ = kMinWatermark;
  std::optional<WindowGrid> grid_;
  bool named_only_ = false;
  // Declared where they may hold something (see the file comment). Windows by (time, clock):
  std::optional<MapState<std::pair<int64_t, uint8_t>, std::vector<W>>> by_time_;
  std::optional<MapState<std::string, std::string>> trigger_state_;
};

}  // namespace weir::detail
