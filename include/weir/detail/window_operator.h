// Internal: the operator behind KeyedStream::Window, as Flink's WindowOperator.
//
// For each record: the assigner names its windows; records of windows already past their end
// plus the allowed lateness are late (to the late side output, or counted and dropped); the
// others go into the window's contents, and the trigger decides whether the window fires now.
// Each window has a cleanup timer at its end plus the allowed lateness that drops its state.
// Session windows are kept in a per-key list and merge as records bridge them.
//
// Everything lives in keyed state: the contents (an accumulator per window, or its records
// when a function needs them all), the set of session windows, and the triggers' timers and
// state, so windows are checkpointed and rescaled with their key. Task thread only.
#pragma once

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/key_group_watermarks.h"
#include "weir/detail/operators.h"
#include "weir/detail/window_timers.h"
#include "weir/functions.h"
#include "weir/output_tag.h"
#include "weir/triggers.h"
#include "weir/window_functions.h"
#include "weir/windows.h"

namespace weir::detail {

// ---- What a window does with its result ---------------------------------------------------------

// Emits the aggregate as it is.
template <typename R>
struct PassResult {
  using Output = R;
  void Open(RuntimeContext&) {}
  void Close() {}
  template <typename K, typename W>
  void Apply(const K&, WindowContext<W>&, R result, Collector<R>& out) {
    out.Collect(std::move(result));
  }
};

// Hands the aggregate to a ProcessWindowFunction as its only element.
template <typename P>
struct ProcessResult {
  using Output = typename P::Output;
  P fn;
  std::vector<typename P::Input> single;
  void Open(RuntimeContext& rc) { fn.Open(rc); }
  void Close() { fn.Close(); }
  template <typename K, typename W>
  void Apply(const K& key, WindowContext<W>& ctx, typename P::Input result, Collector<Output>& out) {
    single.clear();
    single.push_back(std::move(result));
    fn.Process(key, ctx, single, out);
  }
};

// A reduce function as an aggregate: the accumulator is the reduced value so far.
template <typename T, typename F>
struct ReduceAggregate {
  using Accumulator = std::optional<T>;
  using Output = T;
  static constexpr bool kKeepsOrder = true;  // see AggregatingContents::kMaySlice
  static constexpr bool kNothingOfNone = true;  // no records: no result (AggregateElements)
  F reduce;
  Accumulator CreateAccumulator() const { return std::nullopt; }
  void Add(const T& value, Accumulator& acc) const {
    acc = acc ? reduce(std::as_const(*acc), value) : value;
  }
  T GetResult(const Accumulator& acc) const { return *acc; }
  Accumulator Merge(Accumulator a, const Accumulator& b) const {
    if (!a) return b;
    if (!b) return a;
    return reduce(std::as_const(*a), *b);
  }
};

// ---- Window contents ----------------------------------------------------------------------------

// Sliding windows cut into slices of gcd(size, slide): a slice lies wholly inside every window
// that holds any of it, so a window is the merge of its slices, and a slice can go once the
// last window holding it (the one that starts at most a slide before it) has gone.
struct Slices {
  int64_t size = 0;    // of a window
  int64_t slide = 0;
  int64_t length = 0;  // of a slice
  int64_t offset = 0;
};

// One accumulator per window (Reduce, Aggregate): a record costs a read and a write of it.
// Sliced (WindowedStream::Sliced), one per slice instead. Each layout has its own state,
// declared only where it may hold something: by the layout in use, or by a restore of the
// other, whose accumulators a firing window then merges too.
template <typename T, typename W, typename Agg, typename Fn>
class AggregatingContents {
 public:
  using Acc = typename Agg::Accumulator;
  using Out = typename Fn::Output;
  static_assert(HasCodec<Acc>, "a window's accumulator type needs a weir::Codec");
  // An AggregateFunction's Merge combines any two accumulators; a reduce function may depend
  // on the order of its records (the last one wins, say), which slices would not keep.
  static constexpr bool kMaySlice = std::is_same_v<W, TimeWindow> && !requires {
    Agg::kKeepsOrder;
  };

  AggregatingContents(Agg agg, Fn fn) : agg_(std::move(agg)), fn_(std::move(fn)) {}

  // `slices`: how the windows would be sliced, if they can be; `sliced`: whether they are.
  void Open(RuntimeContext& rc, KeyedStateAccess& keyed, std::optional<Slices> slices,
            bool sliced) {
    rc_ = &rc;
    if (!sliced || keyed.HoldsUndeclaredState(kWindowsState)) Windows();
    if constexpr (kMaySlice) {
      if (slices && (sliced || keyed.HoldsUndeclaredState(kSlicesState))) {
        slices_ = *slices;
        slice_state_ = rc.GetMapState(MapStateDescriptor<W, Acc>(kSlicesState));
      }
    }
    fn_.Open(rc);
  }
  void Close() { fn_.Close(); }

  // True when the window had no contents before.
  bool Add(const W& w, const T& value, int64_t) { return AddTo(Windows(), w, value); }
  // The same for a slice (sliced only).
  bool AddToSlice(const W& slice, const T& value) { return AddTo(*slice_state_, slice, value); }

  // `slices_fired_through`: windows that end by then fired in a job that sliced, before a
  // restore into one with a larger allowed lateness, say. The slices such a window shares with
  // later windows are theirs now: its late firing shows its late records alone, as Flink's
  // would. (Restored into a job that does not slice, the slices stay, and every window that
  // had not fired merges them as it fires.)
  template <typename K>
  void Emit(const K& key, WindowContext<W>& ctx, Collector<Out>& out,
            int64_t slices_fired_through) {
    const W& w = ctx.window();
    std::optional<Acc> acc;
    if (windows_) {
      if (const Acc* own = windows_->Find(w)) acc.emplace(*own);
    }
    if constexpr (kMaySlice) {
      if (slice_state_ && w.max_timestamp() > slices_fired_through) {
        for (int64_t start = w.start; start < w.end; start += slices_.length) {
          const Acc* slice = slice_state_->Find(W{start, start + slices_.length});
          if (slice == nullptr) continue;
          if (acc) {
            *acc = agg_.Merge(std::move(*acc), *slice);
          } else {
            acc.emplace(*slice);
          }
        }
      }
    }
    if (acc) fn_.Apply(key, ctx, agg_.GetResult(*acc), out);
  }
  void Merge(const W& target, const std::vector<W>& sources) {
    MapState<W, Acc>& windows = Windows();
    std::optional<Acc> acc = windows.Get(target);
    for (const W& s : sources) {
      std::optional<Acc> other = windows.Get(s);
      if (!other) continue;
      acc = acc ? agg_.Merge(std::move(*acc), *other) : std::move(*other);
      windows.Remove(s);
    }
    if (acc) windows.Put(target, std::move(*acc));
  }
  // Whether the window has contents, its own or in its slices (see Emit).
  bool Holds(const W& w, int64_t slices_fired_through) {
    if (windows_ && windows_->Find(w) != nullptr) return true;
    if constexpr (kMaySlice) {
      if (slice_state_ && w.max_timestamp() > slices_fired_through) {
        for (int64_t start = w.start; start < w.end; start += slices_.length) {
          if (slice_state_->Find(W{start, start + slices_.length}) != nullptr) return true;
        }
      }
    }
    return false;
  }
  // Also the slices whose last window `w` is: those of its first slide.
  void Clear(const W& w) {
    if (windows_) windows_->Remove(w);
    if constexpr (kMaySlice) {
      if (slice_state_) {
        for (int64_t start = w.start; start < w.start + slices_.slide; start += slices_.length) {
          slice_state_->Remove(W{start, start + slices_.length});
        }
      }
    }
  }

 private:
  static constexpr const char* kWindowsState = "window-contents";
  static constexpr const char* kSlicesState = "window-slices";

  MapState<W, Acc>& Windows() {
    if (!windows_) windows_ = rc_->GetMapState(MapStateDescriptor<W, Acc>(kWindowsState));
    return *windows_;
  }
  bool AddTo(MapState<W, Acc>& state, const W& w, const T& value) {
    return state.Upsert(
        w, [this] { return agg_.CreateAccumulator(); }, [&](Acc& acc) { agg_.Add(value, acc); });
  }

  Agg agg_;
  Fn fn_;
  RuntimeContext* rc_ = nullptr;
  std::optional<MapState<W, Acc>> windows_;
  Slices slices_;
  std::optional<MapState<W, Acc>> slice_state_;  // declared: see the class comment
};

template <typename W, typename T>
struct WindowElement {
  W window{};
  int64_t timestamp = 0;
  T value{};
};

}  // namespace weir::detail

template <typename W, typename T>
struct weir::Codec<weir::detail::WindowElement<W, T>> {
  static std::string Identity() {
    return "window-element<" + CodecIdentity<W>() + "," + CodecIdentity<T>() + ">";
  }
  static void Encode(const detail::WindowElement<W, T>& e, BufferWriter& w) {
    Codec<W>::Encode(e.window, w);
    Codec<int64_t>::Encode(e.timestamp, w);
    Codec<T>::Encode(e.value, w);
  }
  static bool Decode(BufferReader& r, detail::WindowElement<W, T>& e) {
    return Codec<W>::Decode(r, e.window) && Codec<int64_t>::Decode(r, e.timestamp) &&
           Codec<T>::Decode(r, e.value);
  }
};

namespace weir::detail {

// Whole-window functions over the records.
template <typename P>
struct ProcessElements {
  using Output = typename P::Output;
  P fn;
  void Open(RuntimeContext& rc) { fn.Open(rc); }
  void Close() { fn.Close(); }
  template <typename K, typename W, typename T>
  void ApplyAll(const K& key, WindowContext<W>& ctx, const std::vector<T>& values,
                Collector<Output>& out) {
    fn.Process(key, ctx, values, out);
  }
};

// An aggregate computed when the window fires, over the records an evictor left.
template <typename Agg, typename Fn>
struct AggregateElements {
  using Output = typename Fn::Output;
  Agg agg;
  Fn fn;
  void Open(RuntimeContext& rc) { fn.Open(rc); }
  void Close() { fn.Close(); }
  template <typename K, typename W, typename T>
  void ApplyAll(const K& key, WindowContext<W>& ctx, const std::vector<T>& values,
                Collector<Output>& out) {
    // A window its evictor emptied: a reduce of no records has no value, and emits nothing.
    if constexpr (requires { Agg::kNothingOfNone; }) {
      if (values.empty()) return;
    }
    auto acc = agg.CreateAccumulator();
    for (const T& v : values) agg.Add(v, acc);
    fn.Apply(key, ctx, agg.GetResult(acc), out);
  }
};

// Every record of every window of the key, in arrival order (Process, or an evictor).
template <typename T, typename W, typename Evictor, typename Fn>
class ListContents {
 public:
  using Out = typename Fn::Output;
  using Element = WindowElement<W, T>;
  static_assert(HasCodec<T>, "a window that keeps its records needs a weir::Codec for them");

  ListContents(Evictor evictor, Fn fn) : evictor_(std::move(evictor)), fn_(std::move(fn)) {}

  void Open(RuntimeContext& rc, KeyedStateAccess&, std::optional<Slices>, bool) {
    state_ = rc.GetListState(ListStateDescriptor<Element>("window-contents"));
    fn_.Open(rc);
  }
  void Close() { fn_.Close(); }

  // Whether the window had records before is not known without reading them all: true.
  bool Add(const W& w, const T& value, int64_t timestamp) {
    state_.Add(Element{w, timestamp, value});
    return true;
  }
  template <typename K>
  void Emit(const K& key, WindowContext<W>& ctx, Collector<Out>& out, int64_t) {
    const W& w = ctx.window();
    elements_.clear();
    for (const Element& e : state_.Get()) {
      if (e.window == w) elements_.push_back(TimestampedValue<T>{e.value, e.timestamp});
    }
    if (elements_.empty()) return;
    size_t before = elements_.size();
    if constexpr (!std::is_same_v<Evictor, NoEvictor>) evictor_.EvictBefore(elements_, w);
    values_.clear();
    for (const auto& e : elements_) values_.push_back(e.value);
    fn_.ApplyAll(key, ctx, values_, out);
    if constexpr (!std::is_same_v<Evictor, NoEvictor>) {
      evictor_.EvictAfter(elements_, w);
      if (elements_.size() != before) Rewrite(w, &elements_);
    }
  }
  void Merge(const W& target, const std::vector<W>& sources) {
    std::vector<Element> all = state_.Get();
    for (Element& e : all) {
      if (std::find(sources.begin(), sources.end(), e.window) != sources.end()) e.window = target;
    }
    state_.Update(std::move(all));
  }
  void Clear(const W& w) { Rewrite(w, nullptr); }
  bool Holds(const W& w, int64_t) {
    const std::vector<Element>& all = state_.Get();
    return std::any_of(all.begin(), all.end(), [&](const Element& e) { return e.window == w; });
  }

 private:
  // The key's records of other windows, and `kept` (or none) as the records of `w`.
  void Rewrite(const W& w, const std::vector<TimestampedValue<T>>* kept) {
    std::vector<Element> rest;
    for (const Element& e : state_.Get()) {
      if (!(e.window == w)) rest.push_back(e);
    }
    if (kept != nullptr) {
      for (const auto& e : *kept) rest.push_back(Element{w, e.timestamp, e.value});
    }
    if (rest.empty()) {
      state_.Clear();
    } else {
      state_.Update(std::move(rest));
    }
  }

  Evictor evictor_;
  Fn fn_;
  ListState<Element> state_;
  std::vector<TimestampedValue<T>> elements_;
  std::vector<T> values_;
};

// ---- The operator -------------------------------------------------------------------------------

template <typename K, typename T, typename KeySelector, typename Assigner, typename TriggerT,
          typename Contents>
class WindowOperator final : public TransformOperator<T, typename Contents::Out> {
  using W = typename Assigner::Window;
  using Out = typename Contents::Out;
  static constexpr TimeDomain kDomain =
      Assigner::kEventTime ? TimeDomain::kEventTime : TimeDomain::kProcessingTime;
  static constexpr bool kMaySlice =
      std::is_same_v<Assigner, SlidingEventTimeWindows> && requires { Contents::kMaySlice; };

 public:
  // `sliced`: as WindowedStream::Sliced, which checked that it applies.
  WindowOperator(KeySelector key_selector, Assigner assigner, TriggerT trigger, Contents contents,
                 int64_t allowed_lateness, std::optional<OutputTag<T>> late_tag,
                 bool sliced = false)
      : key_selector_(std::move(key_selector)),
        assigner_(std::move(assigner)),
        trigger_(std::move(trigger)),
        contents_(std::move(contents)),
        allowed_lateness_(allowed_lateness),
        late_tag_(std::move(late_tag)),
        sliced_(sliced) {}

  void InitializeState(const OperatorState& restored) override {
    if constexpr (Assigner::kEventTime) {
      try {
        restored_watermarks_.Restore(restored, this->context());
      } catch (...) {
        RethrowAsOperatorError(this->context());
      }
    }
  }

  void SnapshotState(int64_t, OperatorSnapshot* out) override {
    if constexpr (Assigner::kEventTime) {
      restored_watermarks_.Snapshot(this->current_watermark(), sliced_, out);
    }
  }

  void Open() override {
    batch_size_ = this->context().batch_size();
    keyed_ = this->context().keyed_state();
    timers_ = this->context().timer_service();
    runtime_context_ = std::make_unique<RuntimeContext>(&this->context());
    late_dropped_ = &this->context().metric_group().AddCounter("numLateRecordsDropped");
    try {
      keyed_->DeclareKeyCodec(CodecIdentity<K>());
      if constexpr (Assigner::kMerging) {
        if (!trigger_.CanMerge()) {
          throw std::invalid_argument("session windows need a trigger that can merge");
        }
        sessions_ = runtime_context_->GetListState(ListStateDescriptor<W>("window-sessions"));
        if (keyed_->HoldsUndeclaredState(kOldSessionsState)) {
          old_sessions_ =
              runtime_context_->GetMapState(MapStateDescriptor<W, uint8_t>(kOldSessionsState));
        }
      }
      std::optional<WindowGrid> grid;
      if constexpr (requires { assigner_.window_size(); }) {
        grid = WindowGrid{assigner_.window_size(), assigner_.slide(), assigner_.offset()};
      }
      // The event-time trigger's timer at a window's end is then its cleanup timer as well.
      named_timers_only_ = std::is_same_v<TriggerT, EventTimeTrigger> && Assigner::kEventTime &&
                           grid.has_value() && allowed_lateness_ == 0;
      constexpr bool kTriggerKeepsState = !std::is_same_v<TriggerT, EventTimeTrigger> &&
                                          !std::is_same_v<TriggerT, ProcessingTimeTrigger>;
      window_timers_.Open(*runtime_context_, *keyed_, timers_, grid, named_timers_only_,
                          kTriggerKeepsState);
      std::optional<Slices> slices;
      if constexpr (kMaySlice) {
        if (Contents::kMaySlice && grid->slide < grid->size) {
          slices = Slices{grid->size, grid->slide, std::gcd(grid->size, grid->slide),
                          grid->offset};
        }
      }
      // Windows that do not overlap have nothing to share.
      sliced_ = sliced_ && named_timers_only_ && slices.has_value();
      if (sliced_) slices_ = *slices;
      contents_.Open(*runtime_context_, *keyed_, slices, sliced_);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

  void Close() override {
    try {
      contents_.Close();
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    try {
      if constexpr (Assigner::kEventTime) {
        if (!in.has_timestamps() && !in.records.empty()) {
          throw std::invalid_argument(
              "an event-time window got records without timestamps: call "
              "AssignTimestampsAndWatermarks before it (or use a processing-time window)");
        }
      }
      now_ = timers_->CurrentProcessingTime();
      for (size_t i = 0; i < in.records.size(); ++i) {
        key_ = key_selector_(in.records[i]);
        const std::string_view key_bytes = encoder_.Encode(key_);
        keyed_->SetCurrentKey(key_bytes);
        OnKey(key_bytes);
        int64_t timestamp = in.has_timestamps() ? in.timestamps[i] : kMinWatermark;
        ProcessElement(in.records[i], timestamp, out);
      }
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  void OnProcessingTime(int64_t timestamp, std::string_view key_bytes) override {
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    try {
      now_ = timestamp;
      FireTimers(TimeDomain::kProcessingTime, timestamp, key_bytes, out);
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

 protected:
  // Windows the watermark passed fire before it goes on.
  void ProcessWatermark(int64_t watermark) override {
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    try {
      now_ = timers_->CurrentProcessingTime();
      if (restored_watermarks_.Active()) {
        restored_watermarks_.Advance(watermark);
        if (!restored_watermarks_.Active()) SetWatermarkFloor(kMinWatermark);
      }
      int64_t timestamp;
      while (timers_->PopDueEventTimer(watermark, &timestamp, &timer_key_)) {
        FireTimers(TimeDomain::kEventTime, timestamp, timer_key_, out);
      }
      out.Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
    this->EmitWatermark(watermark);
  }

 private:
  void ProcessElement(const T& record, int64_t timestamp, Collector<Out>& out) {
    if constexpr (kMaySlice) {
      if (sliced_) return AddToSlice(record, timestamp);
    }
    windows_.clear();
    assigner_.AssignWindows(record, timestamp, now_, &windows_);
    bool dropped = true;
    for (const W& assigned : windows_) {
      W w = assigned;
      if constexpr (Assigner::kMerging) {
        bool alone = false;
        w = AddSession(assigned, &alone);
        if (IsWindowLate(w)) {  // late, and so is all of it: nothing of it is kept
          if (alone) {
            RemoveSession(w);  // nothing else of it is stored yet
          } else {
            // It is, or took in, sessions the key had, late before their cleanup was due (a
            // restore with a shorter allowed lateness does that): their contents go too.
            ClearAllState(w);
          }
          continue;
        }
      } else {
        if (IsWindowLate(w)) continue;
      }
      dropped = false;
      // The event-time trigger, told of a window it has seen, registers the timer it has.
      if (!contents_.Add(w, record, timestamp) && named_timers_only_) continue;
      trigger_context_.SetWindow(&w);
      TriggerResult result = trigger_.OnElement(record, timestamp, w, trigger_context_);
      if (IsFire(result)) Emit(w, out);
      if (IsPurge(result)) contents_.Clear(w);
      RegisterCleanupTimer(w);
    }
    if (dropped && IsElementLate(timestamp)) DropLate(record, timestamp);
  }

  // A record of sliced windows goes into its slice, once, not into each of its windows. The
  // slice's first record registers the timers of the slice's windows not yet fired: each of
  // them holds all of the slice. The last of them ends last: when it is late, the record is.
  void AddToSlice(const T& record, int64_t timestamp) {
    const int64_t last_end = WindowBound(
        TimeWindow::StartOf(timestamp, slices_.offset, slices_.slide), slices_.size, timestamp);
    if (last_end - 1 <= Watermark()) {
      DropLate(record, timestamp);
      return;
    }
    const int64_t start = TimeWindow::StartOf(timestamp, slices_.offset, slices_.length);
    const TimeWindow slice{start, WindowBound(start, slices_.length, timestamp)};
    if (!contents_.AddToSlice(slice, record)) return;
    windows_.clear();
    assigner_.Assign(timestamp, &windows_);
    for (const W& w : windows_) {
      if (!IsWindowLate(w)) window_timers_.Register(kDomain, w.max_timestamp(), w);
    }
  }

  void DropLate(const T& record, int64_t timestamp) {
    if (late_tag_) {
      EmitToSideOutput(this->side_outputs(), *late_tag_, record, &timestamp);
    } else {
      late_dropped_->Inc();
    }
  }

  // The timers of the current key at `time`: each window registered there hears of it.
  void FireTimers(TimeDomain domain, int64_t time, std::string_view key_bytes,
                  Collector<Out>& out) {
    if (!DecodeFromString(key_bytes, key_)) {
      throw StateError("a timer's key does not decode as the stream's key type");
    }
    keyed_->SetCurrentKey(key_bytes);
    OnKey(key_bytes);
    std::optional<W> adopted = window_timers_.TakeDue(domain, time, &due_);
    for (const W& w : due_) {
      if constexpr (Assigner::kMerging) {
        if (!HasSession(w)) continue;  // merged into another since
      }
      // An adopted window without contents is not one of this key's: a cleanup timer for it
      // would name the next window, and that the next.
      const bool adopt = adopted && w == *adopted && contents_.Holds(w, SlicesFiredThrough());
      trigger_context_.SetWindow(&w);
      TriggerResult result = domain == TimeDomain::kEventTime
                                 ? trigger_.OnEventTime(time, w, trigger_context_)
                                 : trigger_.OnProcessingTime(time, w, trigger_context_);
      if (IsFire(result)) Emit(w, out);
      if (IsPurge(result)) contents_.Clear(w);
      // At or past: a restore may have shortened the allowed lateness since the timer was set.
      if (domain == kDomain && time >= CleanupTime(w)) {
        ClearAllState(w);
      } else if (adopt) {
        RegisterCleanupTimer(w);
      }
    }
  }

  void Emit(const W& w, Collector<Out>& out) {
    out.SetTimestamp(w.max_timestamp());
    WindowContext<W> ctx(&this->side_outputs(), Watermark(), now_);
    ctx.SetWindow(&w);
    contents_.Emit(key_, ctx, out, SlicesFiredThrough());
  }

  void ClearAllState(const W& w) {
    contents_.Clear(w);
    trigger_context_.SetWindow(&w);
    trigger_.Clear(w, trigger_context_);
    window_timers_.ClearAllState(w);
    if constexpr (Assigner::kMerging) RemoveSession(w);
  }

  // The current key's sessions, valid until the next access to them. Sessions an older weir
  // kept (one map entry each) move into the list at the key's first read.
  const std::vector<W>& SessionsOfKey() {
    const std::vector<W>& stored = sessions_.Get();
    if (!stored.empty() || !old_sessions_) return stored;
    old_sessions_->Keys(&moved_);
    if (moved_.empty()) return stored;
    old_sessions_->Clear();
    sessions_.Update(moved_);
    return sessions_.Get();
  }
  bool HasSession(const W& w) {
    const std::vector<W>& sessions = SessionsOfKey();
    return std::find(sessions.begin(), sessions.end(), w) != sessions.end();
  }
  void RemoveSession(const W& w) {
    existing_ = SessionsOfKey();
    auto it = std::find(existing_.begin(), existing_.end(), w);
    if (it == existing_.end()) return;
    existing_.erase(it);
    WriteSessions(existing_);
  }
  void WriteSessions(const std::vector<W>& sessions) {
    if (sessions.empty()) {
      sessions_.Clear();
    } else {
      sessions_.Update(sessions);
    }
  }

  // Adds a new session window to the key's sessions, merging it with the windows it overlaps
  // or touches; returns the window the record belongs to now. `*alone`: it touched none, and
  // is stored as a session of its own.
  W AddSession(const W& w, bool* alone) {
    existing_ = SessionsOfKey();
    W cover = w;
    group_.clear();
    for (bool grew = true; grew;) {
      grew = false;
      for (const W& e : existing_) {
        if (e.Intersects(cover) && std::find(group_.begin(), group_.end(), e) == group_.end()) {
          group_.push_back(e);
          cover = cover.Cover(e);
          grew = true;
        }
      }
    }
    if (group_.empty()) {
      existing_.push_back(w);
      WriteSessions(existing_);
      *alone = true;
      return w;
    }
    merged_.clear();
    for (const W& g : group_) {
      if (!(g == cover)) merged_.push_back(g);
    }
    if (merged_.empty()) return cover;  // inside a window the key has
    std::sort(merged_.begin(), merged_.end());
    contents_.Merge(cover, merged_);
    trigger_context_.SetWindow(&cover);
    trigger_context_.SetMergedWindows(&merged_);
    trigger_.OnMerge(cover, trigger_context_);
    for (const W& m : merged_) {
      trigger_context_.SetWindow(&m);
      trigger_.Clear(m, trigger_context_);
      window_timers_.ClearAllState(m);
      window_timers_.Delete(kDomain, CleanupTime(m), m);
    }
    std::erase_if(existing_, [&](const W& e) {
      return e == cover || std::find(merged_.begin(), merged_.end(), e) != merged_.end();
    });
    existing_.push_back(cover);
    WriteSessions(existing_);
    return cover;
  }

  // After a restore, for the key just made current: its key group's restored watermark.
  void OnKey(std::string_view key_bytes) {
    if (restored_watermarks_.Active()) SetWatermarkFloor(restored_watermarks_.FloorOf(key_bytes));
  }
  // Through when the current key's sliced windows fired before a restore (see
  // AggregatingContents::Emit).
  int64_t SlicesFiredThrough() const {
    return restored_watermarks_.SlicesFiredThrough(keyed_->current_key_bytes());
  }

  // What records and windows of the current key are judged by: the operator's watermark, or
  // the one restored for the key's group if that is ahead (KeyGroupWatermarks). The trigger
  // sees the same through WindowTimers.
  int64_t Watermark() const { return std::max(this->current_watermark(), watermark_floor_); }
  void SetWatermarkFloor(int64_t floor) {
    watermark_floor_ = floor;
    window_timers_.SetWatermarkFloor(floor);
  }

  // When a window's state goes: its end plus the allowed lateness (event time), its end
  // (processing time); never for the global window.
  int64_t CleanupTime(const W& w) const {
    int64_t end = w.max_timestamp();
    if constexpr (!Assigner::kEventTime) return end;
    return end > kMaxWatermark - allowed_lateness_ ? kMaxWatermark : end + allowed_lateness_;
  }
  void RegisterCleanupTimer(const W& w) {
    if (named_timers_only_) return;  // the trigger registered this very timer
    int64_t t = CleanupTime(w);
    if (t != kMaxWatermark) window_timers_.Register(kDomain, t, w);
  }
  bool IsWindowLate(const W& w) const {
    return Assigner::kEventTime && CleanupTime(w) <= Watermark();
  }
  bool IsElementLate(int64_t timestamp) const {
    if (!Assigner::kEventTime) return false;
    int64_t deadline = timestamp > kMaxWatermark - allowed_lateness_
                           ? kMaxWatermark
                           : timestamp + allowed_lateness_;
    return deadline <= Watermark();
  }

  KeySelector key_selector_;
  Assigner assigner_;
  TriggerT trigger_;
  Contents contents_;
  int64_t allowed_lateness_;
  std::optional<OutputTag<T>> late_tag_;

  size_t batch_size_ = 1024;
  KeyedStateAccess* keyed_ = nullptr;
  TimerServiceAccess* timers_ = nullptr;
  std::unique_ptr<RuntimeContext> runtime_context_;
  Counter* late_dropped_ = nullptr;
  WindowTimers<W> window_timers_;
  int64_t watermark_floor_ = kMinWatermark;  // see Watermark()
  KeyGroupWatermarks restored_watermarks_;
  bool named_timers_only_ = false;
  // Sliding windows aggregated by slice (WindowedStream::Sliced): a record updates one
  // accumulator, not one per window (size / slide of them), and a window merges its slices
  // when it fires, as Flink SQL's window aggregates do. A snapshot of either layout restores
  // into the other.
  bool sliced_ = false;
  Slices slices_;
  TriggerContext<W> trigger_context_{&window_timers_};
  // A key's session windows, one list per key as in Flink: a record reads one value. (One map
  // entry per session left a RocksDB tombstone per merge that every later read stepped over.)
  ListState<W> sessions_;
  // Where a weir before snapshot format 5 kept them; declared only when a restore holds some.
  static constexpr const char* kOldSessionsState = "window-merging-set";
  std::optional<MapState<W, uint8_t>> old_sessions_;
  int64_t now_ = 0;
  K key_{};
  KeyEncoder<K> encoder_;
  std::string timer_key_;
  std::vector<W> windows_, due_, existing_, group_, merged_, moved_;
  Batch<Out> out_buf_;
};

}  // namespace weir::detail
