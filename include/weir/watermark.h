// Event time for a stream: where records get their timestamps and how watermarks follow them.
//
//   auto timed = events.AssignTimestampsAndWatermarks(
//       weir::WatermarkStrategy<Event>::ForBoundedOutOfOrderness(std::chrono::seconds(5))
//           .WithTimestampAssigner([](const Event& e, int64_t) { return e.time_ms; })
//           .WithIdleness(std::chrono::minutes(1)));
//
// Timestamps are milliseconds since the epoch. A watermark W promises that no record with a
// timestamp at or below W follows; event-time timers and windows fire when it passes them.
// As in Flink, a generator sees every record (OnEvent) and is asked for a watermark every
// pipeline.auto-watermark-interval (OnPeriodicEmit).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/configuration.h"
#include "weir/detail/batch.h"

namespace weir {

inline constexpr int64_t kMinWatermark = detail::kMinWatermark;
inline constexpr int64_t kMaxWatermark = detail::kMaxWatermark;

inline constexpr auto kAutoWatermarkInterval = ConfigOption<std::chrono::milliseconds>(
    "pipeline.auto-watermark-interval", "200 ms",
    "How often AssignTimestampsAndWatermarks asks its generator for a watermark (and checks "
    "for idleness).");

// Where a generator puts its watermarks. Keeps the highest: a lower one is ignored.
class WatermarkOutput {
 public:
  void EmitWatermark(int64_t watermark) {
    if (watermark > watermark_) watermark_ = watermark;
    idle_ = false;
  }
  // No records for a while: downstream stops waiting for this stream's watermark until it
  // emits again.
  void MarkIdle() { idle_ = true; }
  void MarkActive() { idle_ = false; }

  int64_t watermark() const { return watermark_; }
  bool idle() const { return idle_; }

 private:
  int64_t watermark_ = kMinWatermark;
  bool idle_ = false;
};

template <typename T>
class WatermarkGenerator {
 public:
  virtual ~WatermarkGenerator() = default;
  // Each record, with the timestamp it was given.
  virtual void OnEvent(const T& event, int64_t timestamp, WatermarkOutput& out) {}
  // Every pipeline.auto-watermark-interval.
  virtual void OnPeriodicEmit(WatermarkOutput& out) {}
  // What the engine calls: a batch of records and their timestamps. The default calls OnEvent
  // for each; override it when a loop over the timestamps is all you need (no virtual call
  // per record).
  virtual void OnEvents(const std::vector<T>& events, const std::vector<int64_t>& timestamps,
                        WatermarkOutput& out) {
    for (size_t i = 0; i < events.size(); ++i) OnEvent(events[i], timestamps[i], out);
  }
};

// The watermark trails the highest timestamp seen by `bound`: records may arrive up to that
// much out of order (zero: timestamps only ever grow). Flink's BoundedOutOfOrdernessWatermarks.
template <typename T>
class BoundedOutOfOrdernessWatermarks final : public WatermarkGenerator<T> {
 public:
  explicit BoundedOutOfOrdernessWatermarks(std::chrono::milliseconds bound)
      : bound_(bound.count()), max_timestamp_(kMinWatermark + bound_ + 1) {}

  void OnEvent(const T&, int64_t timestamp, WatermarkOutput&) override {
    max_timestamp_ = std::max(max_timestamp_, timestamp);
  }
  void OnEvents(const std::vector<T>&, const std::vector<int64_t>& timestamps,
                WatermarkOutput&) override {
    for (int64_t t : timestamps) max_timestamp_ = std::max(max_timestamp_, t);
  }
  void OnPeriodicEmit(WatermarkOutput& out) override {
    out.EmitWatermark(max_timestamp_ - bound_ - 1);
  }

 private:
  int64_t bound_;
  int64_t max_timestamp_;
};

// WatermarkStrategy::WithWatermarkAlignment's settings.
struct WatermarkAlignment {
  std::string group;
  std::chrono::milliseconds max_drift;
};

template <typename T>
class WatermarkStrategy {
 public:
  using GeneratorFactory = std::function<std::unique_ptr<WatermarkGenerator<T>>()>;
  // Fills `timestamps` (one per record; on entry the records' previous timestamps, or empty).
  using BatchAssigner = std::function<void(const std::vector<T>&, std::vector<int64_t>&)>;

  static WatermarkStrategy ForMonotonousTimestamps() {
    return ForBoundedOutOfOrderness(std::chrono::milliseconds(0));
  }
  static WatermarkStrategy ForBoundedOutOfOrderness(std::chrono::milliseconds bound) {
    if (bound.count() < 0) throw std::invalid_argument("out-of-orderness bound is negative");
    return ForGenerator(
        [bound] { return std::make_unique<BoundedOutOfOrdernessWatermarks<T>>(bound); });
  }
  // A generator of your own: `factory` makes one per parallel subtask.
  static WatermarkStrategy ForGenerator(GeneratorFactory factory) {
    WatermarkStrategy s;
    s.generator_ = std::move(factory);
    return s;
  }
  // Timestamps, but watermarks never advance (until the end of a bounded input).
  static WatermarkStrategy NoWatermarks() {
    return ForGenerator([] { return std::make_unique<WatermarkGenerator<T>>(); });
  }

  // fn(const T& record, int64_t previous_timestamp) -> int64_t, or fn(const T&) -> int64_t.
  // `previous_timestamp` is the one the record already had, kMinWatermark if none. Without an
  // assigner the records must already carry timestamps.
  template <typename F>
  WatermarkStrategy WithTimestampAssigner(F fn) const {
    WatermarkStrategy s = *this;
    s.assigner_ = [fn = std::move(fn)](const std::vector<T>& records,
                                       std::vector<int64_t>& timestamps) mutable {
      const bool had = !timestamps.empty();
      timestamps.resize(records.size());
      for (size_t i = 0; i < records.size(); ++i) {
        if constexpr (std::is_invocable_v<F&, const T&, int64_t>) {
          timestamps[i] = fn(records[i], had ? timestamps[i] : kMinWatermark);
        } else {
          static_assert(std::is_invocable_r_v<int64_t, F&, const T&>,
                        "a timestamp assigner is int64_t(const T&, int64_t) or int64_t(const T&)");
          timestamps[i] = fn(records[i]);
        }
      }
    };
    return s;
  }

  // A subtask that saw no record for `timeout` marks its output idle, so downstream event time
  // does not wait for it; its next record makes it active again.
  WatermarkStrategy WithIdleness(std::chrono::milliseconds timeout) const {
    if (timeout.count() <= 0) throw std::invalid_argument("idleness timeout must be positive");
    WatermarkStrategy s = *this;
    s.idleness_ = timeout;
    return s;
  }

  // Watermark alignment, as Flink's: while this source's watermark is more than `max_drift`
  // ahead of the lowest watermark among the sources in `group` (of any job's sources that name
  // it), it stops reading, and reads again once the others caught up. A source with a backlog
  // then does not run ahead of a slow one and fill the windows and joins after them with
  // records they must keep until the slow one's watermark comes. A subtask holds its group
  // back from its first watermark until it is idle (WithIdleness) or at the end of its input.
  // The unit is a subtask, whose watermark is the lowest of its splits (Flink's split-level
  // alignment, which pauses a fast split beside a slow one in the same reader, is not here).
  // For env.FromSource only: AssignTimestampsAndWatermarks refuses it.
  WatermarkStrategy WithWatermarkAlignment(std::string group,
                                           std::chrono::milliseconds max_drift) const {
    if (group.empty()) throw std::invalid_argument("watermark alignment group is empty");
    if (max_drift.count() < 0) throw std::invalid_argument("max watermark drift is negative");
    WatermarkStrategy s = *this;
    s.alignment_ = WatermarkAlignment{std::move(group), max_drift};
    return s;
  }

  // For the engine.
  const GeneratorFactory& generator_factory() const { return generator_; }
  const BatchAssigner& assigner() const { return assigner_; }
  std::optional<std::chrono::milliseconds> idleness() const { return idleness_; }
  const std::optional<WatermarkAlignment>& alignment() const { return alignment_; }

 private:
  WatermarkStrategy() = default;

  GeneratorFactory generator_;
  BatchAssigner assigner_;
  std::optional<std::chrono::milliseconds> idleness_;
  std::optional<WatermarkAlignment> alignment_;
};

}  // namespace weir
