// Windows and the assigners that put records into them, as in Flink.
//
//   keyed.Window(weir::TumblingEventTimeWindows::Of(std::chrono::minutes(1)))
//   keyed.Window(weir::SlidingEventTimeWindows::Of(std::chrono::minutes(10), std::chrono::minutes(1)))
//   keyed.Window(weir::EventTimeSessionWindows::WithGap(std::chrono::seconds(30)))
//   keyed.Window(weir::TumblingProcessingTimeWindows::Of(std::chrono::seconds(5)))
//   keyed.Window(weir::GlobalWindows::Create()).Trigger(...)   // or keyed.CountWindow(100)
//
// A TimeWindow is [start, end) in milliseconds; its last instant, max_timestamp(), is end - 1,
// and a window's results carry it as their timestamp. Event-time windows follow the
// records' timestamps and fire when the watermark passes their end; processing-time windows
// follow the clock of the machine. Session windows grow as records come: a record's window is
// [t, t + gap), and windows that overlap or touch merge into one.
//
// Assigners are plain values; copy them freely.
#pragma once

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/batch.h"

namespace weir {

struct TimeWindow {
  int64_t start = 0;
  int64_t end = 0;  // exclusive

  int64_t max_timestamp() const { return end - 1; }
  // Overlapping or touching: session windows that intersect merge.
  bool Intersects(const TimeWindow& o) const { return start <= o.end && end >= o.start; }
  TimeWindow Cover(const TimeWindow& o) const {
    return TimeWindow{std::min(start, o.start), std::max(end, o.end)};
  }
  auto operator<=>(const TimeWindow&) const = default;

  // The start of the window of `size` (shifted by `offset`) that holds `timestamp`. Throws
  // std::out_of_range where that start is before the first millisecond int64 holds.
  static int64_t StartOf(int64_t timestamp, int64_t offset, int64_t size);
};

namespace detail {

// A record whose windows would reach past either end of int64 milliseconds (one stamped
// kMinWatermark, Flink's "no timestamp" marker, say): an error naming it, not a wrapped window.
[[noreturn]] inline void ThrowNoWindowFor(int64_t timestamp) {
  throw std::out_of_range("a record's timestamp " + std::to_string(timestamp) +
                          " has no window: it would reach past the range of int64 "
                          "milliseconds");
}

// `a + b`, a bound of a window of the record at `timestamp`.
inline int64_t WindowBound(int64_t a, int64_t b, int64_t timestamp) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) [[unlikely]] ThrowNoWindowFor(timestamp);
  return r;
}

}  // namespace detail

inline int64_t TimeWindow::StartOf(int64_t timestamp, int64_t offset, int64_t size) {
  int64_t shifted;
  if (__builtin_sub_overflow(timestamp, offset, &shifted)) [[unlikely]] {
    detail::ThrowNoWindowFor(timestamp);
  }
  int64_t rem = shifted % size;
  if (rem < 0) rem += size;  // timestamps before the epoch
  return detail::WindowBound(timestamp, -rem, timestamp);
}

// The one window of GlobalWindows: it never ends, so only a trigger fires it.
struct GlobalWindow {
  int64_t max_timestamp() const { return detail::kMaxWatermark; }
  auto operator<=>(const GlobalWindow&) const = default;
};

template <>
struct Codec<TimeWindow> : FieldsCodec<TimeWindow, &TimeWindow::start, &TimeWindow::end> {};

template <>
struct Codec<GlobalWindow> {
  static std::string Identity() { return "global-window"; }
  static void Encode(const GlobalWindow&, BufferWriter&) {}
  static bool Decode(BufferReader&, GlobalWindow&) { return true; }
};

class EventTimeTrigger;
class ProcessingTimeTrigger;
class NeverTrigger;

namespace detail {
inline int64_t WindowMillis(std::chrono::milliseconds d, const char* what) {
  if (d.count() <= 0) throw std::invalid_argument(std::string(what) + " must be positive");
  return d.count();
}
}  // namespace detail

// Every assigner says its window type, its clock, whether its windows merge, and its default
// trigger; AssignWindows appends the windows of one record to `out`.
class TumblingEventTimeWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = EventTimeTrigger;
  static constexpr bool kEventTime = true;
  static constexpr bool kMerging = false;

  static TumblingEventTimeWindows Of(std::chrono::milliseconds size,
                                     std::chrono::milliseconds offset = {}) {
    return TumblingEventTimeWindows(detail::WindowMillis(size, "window size"), offset.count());
  }
  template <typename T>
  void AssignWindows(const T&, int64_t timestamp, int64_t, std::vector<TimeWindow>* out) const {
    int64_t start = TimeWindow::StartOf(timestamp, offset_, size_);
    out->push_back(TimeWindow{start, detail::WindowBound(start, size_, timestamp)});
  }
  // Every window is this long (ms), and one starts every slide() from offset().
  int64_t window_size() const { return size_; }
  int64_t slide() const { return size_; }
  int64_t offset() const { return offset_; }

 private:
  TumblingEventTimeWindows(int64_t size, int64_t offset) : size_(size), offset_(offset) {}
  int64_t size_;
  int64_t offset_;
};

class SlidingEventTimeWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = EventTimeTrigger;
  static constexpr bool kEventTime = true;
  static constexpr bool kMerging = false;

  static SlidingEventTimeWindows Of(std::chrono::milliseconds size, std::chrono::milliseconds slide,
                                    std::chrono::milliseconds offset = {}) {
    return SlidingEventTimeWindows(detail::WindowMillis(size, "window size"),
                                   detail::WindowMillis(slide, "window slide"), offset.count());
  }
  template <typename T>
  void AssignWindows(const T&, int64_t timestamp, int64_t, std::vector<TimeWindow>* out) const {
    Assign(timestamp, out);
  }
  void Assign(int64_t t, std::vector<TimeWindow>* out) const {
    const int64_t before_first = detail::WindowBound(t, -size_, t);  // windows start after it
    for (int64_t start = TimeWindow::StartOf(t, offset_, slide_); start > before_first;) {
      out->push_back(TimeWindow{start, detail::WindowBound(start, size_, t)});
      if (__builtin_sub_overflow(start, slide_, &start)) break;  // none starts before
    }
  }
  // Every window is this long (ms), and one starts every slide() from offset().
  int64_t window_size() const { return size_; }
  int64_t slide() const { return slide_; }
  int64_t offset() const { return offset_; }

 protected:
  SlidingEventTimeWindows(int64_t size, int64_t slide, int64_t offset)
      : size_(size), slide_(slide), offset_(offset) {}
  int64_t size_;
  int64_t slide_;
  int64_t offset_;
};

class EventTimeSessionWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = EventTimeTrigger;
  static constexpr bool kEventTime = true;
  static constexpr bool kMerging = true;

  static EventTimeSessionWindows WithGap(std::chrono::milliseconds gap) {
    return EventTimeSessionWindows(detail::WindowMillis(gap, "session gap"));
  }
  template <typename T>
  void AssignWindows(const T&, int64_t timestamp, int64_t, std::vector<TimeWindow>* out) const {
    out->push_back(TimeWindow{timestamp, detail::WindowBound(timestamp, gap_, timestamp)});
  }

 protected:
  explicit EventTimeSessionWindows(int64_t gap) : gap_(gap) {}
  int64_t gap_;
};

class TumblingProcessingTimeWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = ProcessingTimeTrigger;
  static constexpr bool kEventTime = false;
  static constexpr bool kMerging = false;

  static TumblingProcessingTimeWindows Of(std::chrono::milliseconds size,
                                          std::chrono::milliseconds offset = {}) {
    return TumblingProcessingTimeWindows(detail::WindowMillis(size, "window size"),
                                         offset.count());
  }
  template <typename T>
  void AssignWindows(const T&, int64_t, int64_t now, std::vector<TimeWindow>* out) const {
    int64_t start = TimeWindow::StartOf(now, offset_, size_);
    out->push_back(TimeWindow{start, start + size_});
  }

 private:
  TumblingProcessingTimeWindows(int64_t size, int64_t offset) : size_(size), offset_(offset) {}
  int64_t size_;
  int64_t offset_;
};

class SlidingProcessingTimeWindows : private SlidingEventTimeWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = ProcessingTimeTrigger;
  static constexpr bool kEventTime = false;
  static constexpr bool kMerging = false;

  static SlidingProcessingTimeWindows Of(std::chrono::milliseconds size,
                                         std::chrono::milliseconds slide,
                                         std::chrono::milliseconds offset = {}) {
    return SlidingProcessingTimeWindows(SlidingEventTimeWindows::Of(size, slide, offset));
  }
  template <typename T>
  void AssignWindows(const T&, int64_t, int64_t now, std::vector<TimeWindow>* out) const {
    Assign(now, out);
  }

 private:
  explicit SlidingProcessingTimeWindows(SlidingEventTimeWindows w) : SlidingEventTimeWindows(w) {}
};

class ProcessingTimeSessionWindows : private EventTimeSessionWindows {
 public:
  using Window = TimeWindow;
  using DefaultTrigger = ProcessingTimeTrigger;
  static constexpr bool kEventTime = false;
  static constexpr bool kMerging = true;

  static ProcessingTimeSessionWindows WithGap(std::chrono::milliseconds gap) {
    return ProcessingTimeSessionWindows(EventTimeSessionWindows::WithGap(gap));
  }
  template <typename T>
  void AssignWindows(const T&, int64_t, int64_t now, std::vector<TimeWindow>* out) const {
    out->push_back(TimeWindow{now, now + gap_});
  }

 private:
  explicit ProcessingTimeSessionWindows(EventTimeSessionWindows w) : EventTimeSessionWindows(w) {}
};

// All records of a key in one window that never ends: give it a trigger (CountWindow does).
class GlobalWindows {
 public:
  using Window = GlobalWindow;
  using DefaultTrigger = NeverTrigger;
  static constexpr bool kEventTime = false;
  static constexpr bool kMerging = false;

  static GlobalWindows Create() { return GlobalWindows(); }
  template <typename T>
  void AssignWindows(const T&, int64_t, int64_t, std::vector<GlobalWindow>* out) const {
    out->push_back(GlobalWindow{});
  }
};

}  // namespace weir

template <>
struct std::hash<weir::TimeWindow> {
  size_t operator()(const weir::TimeWindow& w) const noexcept {
    return std::hash<int64_t>{}(w.start) * 31 + std::hash<int64_t>{}(w.end);
  }
};
template <>
struct std::hash<weir::GlobalWindow> {
  size_t operator()(const weir::GlobalWindow&) const noexcept { return 0; }
};
