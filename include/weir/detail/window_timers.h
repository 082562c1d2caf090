// Internal: the timers and trigger state of one window operator, per key and window.
//
// The engine's timers belong to a key and a time. A window's trigger needs them per window
// too, so each (time, clock, window) it registers is kept in keyed map state beside them; when
// a key's timer fires, the windows registered at that time are the ones told. Timers a trigger
// deletes stay in the engine and, when they fire, find no window. Both live in keyed state:
// checkpointed with the key and redistributed with its key group. Task thread only.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operator.h"
#include "weir/functions.h"
#include "weir/state.h"

namespace weir::detail {

template <typename W>
struct WindowTimer {
  int64_t time = 0;
  uint8_t domain = 0;  // TimeDomain
  W window{};
  auto operator<=>(const WindowTimer&) const = default;
};

}  // namespace weir::detail

template <typename W>
struct weir::Codec<weir::detail::WindowTimer<W>> {
  static std::string Identity() { return "window-timer<" + CodecIdentity<W>() + ">"; }
  static void Encode(const detail::WindowTimer<W>& t, BufferWriter& w) {
    Codec<int64_t>::Encode(t.time, w);
    w.PutU8(t.domain);
    Codec<W>::Encode(t.window, w);
  }
  static bool Decode(BufferReader& r, detail::WindowTimer<W>& t) {
    return Codec<int64_t>::Decode(r, t.time) && r.GetU8(&t.domain) && t.domain <= 1 &&
           Codec<W>::Decode(r, t.window);
  }
};

template <typename W>
struct std::hash<weir::detail::WindowTimer<W>> {
  size_t operator()(const weir::detail::WindowTimer<W>& t) const noexcept {
    return std::hash<W>{}(t.window) * 31 + std::hash<int64_t>{}(t.time) + t.domain;
  }
};

namespace weir::detail {

template <typename W>
class WindowTimers {
 public:
  void Open(RuntimeContext& rc, TimerServiceAccess* timers) {
    timers_ = timers;
    registry_ = rc.GetMapState(MapStateDescriptor<WindowTimer<W>, uint8_t>("window-timers"));
    trigger_state_ =
        rc.GetMapState(MapStateDescriptor<std::string, std::string>("window-trigger-state"));
  }

  int64_t CurrentWatermark() const { return timers_->CurrentWatermark(); }
  int64_t CurrentProcessingTime() const { return timers_->CurrentProcessingTime(); }

  void Register(TimeDomain domain, int64_t time, const W& window) {
    WindowTimer<W> t{time, static_cast<uint8_t>(domain), window};
    if (registry_.Contains(t)) return;
    registry_.Put(t, 1);
    if (domain == TimeDomain::kEventTime) {
      timers_->RegisterEventTimeTimer(time);
    } else {
      timers_->RegisterProcessingTimeTimer(time);
    }
  }
  void Delete(TimeDomain domain, int64_t time, const W& window) {
    registry_.Remove(WindowTimer<W>{time, static_cast<uint8_t>(domain), window});
  }

  // The current key's windows with a timer at `time` on `domain`, in order; their
  // registrations are removed.
  void TakeDue(TimeDomain domain, int64_t time, std::vector<W>* out) {
    out->clear();
    registry_.ForEach([&](const WindowTimer<W>& t, const uint8_t&) {
      if (t.time == time && t.domain == static_cast<uint8_t>(domain)) out->push_back(t.window);
    });
    std::sort(out->begin(), out->end());
    for (const W& w : *out) Delete(domain, time, w);
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
  MapState<WindowTimer<W>, uint8_t> registry_;
  MapState<std::string, std::string> trigger_state_;
};

}  // namespace weir::detail
