// Triggers decide when a window emits its result, and evictors which of its records a
// window function sees; both as in Flink.
//
// Every assigner brings its default trigger (event-time windows fire when the watermark
// passes their end, processing-time windows when the clock does). Set another with
// .Trigger(...): CountTrigger::Of(n), PurgingTrigger::Of(t), or your own class shaped like
// weir::Trigger<T, W> below. A trigger answers each event with a TriggerResult; "purge" drops
// the window's contents (the window itself lives until its end plus the allowed lateness).
//
// A trigger keeps what it needs per window in TriggerContext state (checkpointed with the
// key) and sets timers through it; it is copied once per subtask and has no other state.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "weir/detail/window_timers.h"
#include "weir/windows.h"

namespace weir {

enum class TriggerResult : uint8_t { kContinue, kFire, kPurge, kFireAndPurge };

inline bool IsFire(TriggerResult r) {
  return r == TriggerResult::kFire || r == TriggerResult::kFireAndPurge;
}
inline bool IsPurge(TriggerResult r) {
  return r == TriggerResult::kPurge || r == TriggerResult::kFireAndPurge;
}

// What a trigger can do for the window at hand: timers on either clock and state of its own.
template <typename W>
class TriggerContext {
 public:
  explicit TriggerContext(detail::WindowTimers<W>* timers) : timers_(timers) {}

  int64_t CurrentWatermark() const { return timers_->CurrentWatermark(); }
  int64_t CurrentProcessingTime() const { return timers_->CurrentProcessingTime(); }
  // OnEventTime(time, window) once the watermark reaches `time`; once per window and time.
  void RegisterEventTimeTimer(int64_t time) {
    timers_->Register(TimeDomain::kEventTime, time, *window_);
  }
  void DeleteEventTimeTimer(int64_t time) {
    timers_->Delete(TimeDomain::kEventTime, time, *window_);
  }
  void RegisterProcessingTimeTimer(int64_t time) {
    timers_->Register(TimeDomain::kProcessingTime, time, *window_);
  }
  void DeleteProcessingTimeTimer(int64_t time) {
    timers_->Delete(TimeDomain::kProcessingTime, time, *window_);
  }

  // The trigger's value `name` for this window (V needs a weir::Codec).
  template <typename V>
  std::optional<V> GetState(std::string_view name) const {
    return timers_->template GetState<V>(name, *window_);
  }
  template <typename V>
  void UpdateState(std::string_view name, const V& value) {
    timers_->UpdateState(name, *window_, value);
  }
  void ClearState(std::string_view name) { timers_->ClearState(name, *window_); }

  // In OnMerge: the windows merged into this one, and their state.
  const std::vector<W>& merged_windows() const { return *merged_; }
  template <typename V>
  std::optional<V> GetStateOf(std::string_view name, const W& window) const {
    return timers_->template GetState<V>(name, window);
  }

  // For the engine.
  void SetWindow(const W* window) { window_ = window; }
  void SetMergedWindows(const std::vector<W>* merged) { merged_ = merged; }

 private:
  detail::WindowTimers<W>* timers_;
  const W* window_ = nullptr;
  const std::vector<W>* merged_ = nullptr;
};

// The shape of a trigger. Derive from it for your own (the engine calls it directly, not
// through the base); built-in triggers have the same methods as templates.
template <typename T, typename W>
class Trigger {
 public:
  virtual ~Trigger() = default;
  virtual TriggerResult OnElement(const T& element, int64_t timestamp, const W& window,
                                  TriggerContext<W>& ctx) = 0;
  virtual TriggerResult OnEventTime(int64_t time, const W& window, TriggerContext<W>& ctx) = 0;
  virtual TriggerResult OnProcessingTime(int64_t time, const W& window,
                                         TriggerContext<W>& ctx) = 0;
  // Session windows need triggers that can merge.
  virtual bool CanMerge() const { return false; }
  // `window` replaced ctx.merged_windows(): combine their state into it, set its timers.
  virtual void OnMerge(const W& window, TriggerContext<W>& ctx) {}
  // The window is gone: delete its timers and state.
  virtual void Clear(const W& window, TriggerContext<W>& ctx) = 0;
};

// Fires when the watermark passes the window's end, and at once for each record that arrives
// after that within the allowed lateness.
class EventTimeTrigger {
 public:
  static EventTimeTrigger Create() { return {}; }
  template <typename T, typename W>
  TriggerResult OnElement(const T&, int64_t, const W& window, TriggerContext<W>& ctx) const {
    if (window.max_timestamp() <= ctx.CurrentWatermark()) return TriggerResult::kFire;
    ctx.RegisterEventTimeTimer(window.max_timestamp());
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnEventTime(int64_t time, const W& window, TriggerContext<W>&) const {
    return time == window.max_timestamp() ? TriggerResult::kFire : TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnProcessingTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  bool CanMerge() const { return true; }
  template <typename W>
  void OnMerge(const W& window, TriggerContext<W>& ctx) const {
    if (window.max_timestamp() > ctx.CurrentWatermark()) {
      ctx.RegisterEventTimeTimer(window.max_timestamp());
    }
  }
  template <typename W>
  void Clear(const W& window, TriggerContext<W>& ctx) const {
    ctx.DeleteEventTimeTimer(window.max_timestamp());
  }
};

// Fires when the machine's clock passes the window's end.
class ProcessingTimeTrigger {
 public:
  static ProcessingTimeTrigger Create() { return {}; }
  template <typename T, typename W>
  TriggerResult OnElement(const T&, int64_t, const W& window, TriggerContext<W>& ctx) const {
    ctx.RegisterProcessingTimeTimer(window.max_timestamp());
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnEventTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnProcessingTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kFire;
  }
  bool CanMerge() const { return true; }
  template <typename W>
  void OnMerge(const W& window, TriggerContext<W>& ctx) const {
    if (window.max_timestamp() > ctx.CurrentProcessingTime()) {
      ctx.RegisterProcessingTimeTimer(window.max_timestamp());
    }
  }
  template <typename W>
  void Clear(const W& window, TriggerContext<W>& ctx) const {
    ctx.DeleteProcessingTimeTimer(window.max_timestamp());
  }
};

// Fires each time the window has received `count` more records.
class CountTrigger {
 public:
  static CountTrigger Of(int64_t count) {
    if (count <= 0) throw std::invalid_argument("CountTrigger: the count must be positive");
    return CountTrigger(count);
  }
  template <typename T, typename W>
  TriggerResult OnElement(const T&, int64_t, const W&, TriggerContext<W>& ctx) const {
    int64_t n = ctx.template GetState<int64_t>(kState).value_or(0) + 1;
    if (n >= count_) {
      ctx.ClearState(kState);
      return TriggerResult::kFire;
    }
    ctx.UpdateState(kState, n);
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnEventTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnProcessingTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  bool CanMerge() const { return true; }
  template <typename W>
  void OnMerge(const W&, TriggerContext<W>& ctx) const {
    int64_t n = ctx.template GetState<int64_t>(kState).value_or(0);
    for (const W& m : ctx.merged_windows()) {
      n += ctx.template GetStateOf<int64_t>(kState, m).value_or(0);
    }
    if (n > 0) ctx.UpdateState(kState, n);
  }
  template <typename W>
  void Clear(const W&, TriggerContext<W>& ctx) const {
    ctx.ClearState(kState);
  }

 private:
  static constexpr std::string_view kState = "count";
  explicit CountTrigger(int64_t count) : count_(count) {}
  int64_t count_;
};

// Never fires: the trigger of GlobalWindows until you set one.
class NeverTrigger {
 public:
  template <typename T, typename W>
  TriggerResult OnElement(const T&, int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnEventTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  template <typename W>
  TriggerResult OnProcessingTime(int64_t, const W&, TriggerContext<W>&) const {
    return TriggerResult::kContinue;
  }
  bool CanMerge() const { return true; }
  template <typename W>
  void OnMerge(const W&, TriggerContext<W>&) const {}
  template <typename W>
  void Clear(const W&, TriggerContext<W>&) const {}
};

// Another trigger whose every firing also purges the window's contents.
template <typename Inner>
class PurgingTrigger {
 public:
  static PurgingTrigger Of(Inner inner) { return PurgingTrigger(std::move(inner)); }
  template <typename T, typename W>
  TriggerResult OnElement(const T& e, int64_t t, const W& w, TriggerContext<W>& ctx) {
    return Purging(inner_.OnElement(e, t, w, ctx));
  }
  template <typename W>
  TriggerResult OnEventTime(int64_t time, const W& w, TriggerContext<W>& ctx) {
    return Purging(inner_.OnEventTime(time, w, ctx));
  }
  template <typename W>
  TriggerResult OnProcessingTime(int64_t time, const W& w, TriggerContext<W>& ctx) {
    return Purging(inner_.OnProcessingTime(time, w, ctx));
  }
  bool CanMerge() const { return inner_.CanMerge(); }
  template <typename W>
  void OnMerge(const W& w, TriggerContext<W>& ctx) {
    inner_.OnMerge(w, ctx);
  }
  template <typename W>
  void Clear(const W& w, TriggerContext<W>& ctx) {
    inner_.Clear(w, ctx);
  }

 private:
  explicit PurgingTrigger(Inner inner) : inner_(std::move(inner)) {}
  static TriggerResult Purging(TriggerResult r) {
    return IsFire(r) ? TriggerResult::kFireAndPurge : r;
  }
  Inner inner_;
};

// A record in a window with its timestamp, as evictors see it.
template <typename T>
struct TimestampedValue {
  T value;
  int64_t timestamp = 0;
};

// Keeps the last `max_count` records of a window: before the window function runs or, with
// `after`, after it (the rest are dropped from the window). Throws std::invalid_argument for a
// count of 0, which would leave every window empty.
class CountEvictor {
 public:
  static CountEvictor Of(size_t max_count, bool after = false) {
    if (max_count == 0) throw std::invalid_argument("CountEvictor: the count must be positive");
    return CountEvictor(max_count, after);
  }
  template <typename T, typename W>
  void EvictBefore(std::vector<TimestampedValue<T>>& elements, const W&) const {
    if (!after_) Evict(elements);
  }
  template <typename T, typename W>
  void EvictAfter(std::vector<TimestampedValue<T>>& elements, const W&) const {
    if (after_) Evict(elements);
  }

 private:
  CountEvictor(size_t max_count, bool after) : max_count_(max_count), after_(after) {}
  template <typename T>
  void Evict(std::vector<TimestampedValue<T>>& elements) const {
    if (elements.size() <= max_count_) return;
    elements.erase(elements.begin(),
                   elements.begin() + static_cast<std::ptrdiff_t>(elements.size() - max_count_));
  }
  size_t max_count_;
  bool after_;
};

// Keeps the records within `keep` of the newest record of the window (none for 0, as in
// Flink). Throws std::invalid_argument for a negative `keep`.
class TimeEvictor {
 public:
  static TimeEvictor Of(std::chrono::milliseconds keep, bool after = false) {
    if (keep.count() < 0) throw std::invalid_argument("TimeEvictor: keep must not be negative");
    return TimeEvictor(keep.count(), after);
  }
  template <typename T, typename W>
  void EvictBefore(std::vector<TimestampedValue<T>>& elements, const W&) const {
    if (!after_) Evict(elements);
  }
  template <typename T, typename W>
  void EvictAfter(std::vector<TimestampedValue<T>>& elements, const W&) const {
    if (after_) Evict(elements);
  }

 private:
  TimeEvictor(int64_t keep, bool after) : keep_(keep), after_(after) {}
  template <typename T>
  void Evict(std::vector<TimestampedValue<T>>& elements) const {
    if (elements.empty()) return;
    int64_t newest = elements.front().timestamp;
    for (const auto& e : elements) newest = std::max(newest, e.timestamp);
    std::erase_if(elements, [&](const TimestampedValue<T>& e) {
      return e.timestamp <= newest - keep_;
    });
  }
  int64_t keep_;
  bool after_;
};

// No evictor: the window keeps an aggregate, not its records, when it can.
struct NoEvictor {};

}  // namespace weir
