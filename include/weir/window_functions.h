// What a window computes when it fires: a reduce function, an AggregateFunction, or a
// ProcessWindowFunction that sees all of the window's records (or the one result of a reduce
// or aggregate) with the window and its key, as in Flink.
//
//   struct CountClicks : weir::AggregateFunction<Click, int64_t, int64_t> {
//     int64_t CreateAccumulator() const override { return 0; }
//     void Add(const Click&, int64_t& acc) const override { ++acc; }
//     int64_t GetResult(const int64_t& acc) const override { return acc; }
//     int64_t Merge(int64_t a, const int64_t& b) const override { return a + b; }
//   };
//
// Reduce and Aggregate keep one accumulator per window (Aggregate over Sliced() sliding
// windows one per slice of gcd(size, slide)); Process keeps every record. Functions
// are copied once per parallel subtask and called on its thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weir/collector.h"
#include "weir/detail/side_outputs.h"
#include "weir/functions.h"
#include "weir/output_tag.h"

namespace weir {

// Incremental aggregation: Add folds each record into the window's accumulator (Acc needs a
// weir::Codec), GetResult makes the output when the window fires, and Merge combines two
// accumulators into what one would hold had it been given the records of both: session
// windows merge with it, and Sliced() sliding windows (weir/windowed_stream.h), which keep an
// accumulator per slice, merge their slices with it when they fire.
template <typename In, typename Acc, typename Out>
class AggregateFunction {
 public:
  using Input = In;
  using Accumulator = Acc;
  using Output = Out;
  virtual ~AggregateFunction() = default;
  virtual Acc CreateAccumulator() const = 0;
  virtual void Add(const In& value, Acc& accumulator) const = 0;
  virtual Out GetResult(const Acc& accumulator) const = 0;
  virtual Acc Merge(Acc a, const Acc& b) const = 0;
};

// What a ProcessWindowFunction learns about the window that fired.
template <typename W>
class WindowContext {
 public:
  WindowContext(detail::SideOutputs* side_outputs, int64_t watermark, int64_t processing_time)
      : side_outputs_(side_outputs), watermark_(watermark), processing_time_(processing_time) {}

  const W& window() const { return *window_; }
  int64_t current_watermark() const { return watermark_; }
  int64_t current_processing_time() const { return processing_time_; }
  // Emits `value` to the side output `tag`, with the window's timestamp (its max_timestamp).
  template <typename X>
  void Output(const OutputTag<X>& tag, X value) {
    int64_t t = window_->max_timestamp();
    detail::EmitToSideOutput(*side_outputs_, tag, std::move(value), &t);
  }

  // For the engine.
  void SetWindow(const W* window) { window_ = window; }

 private:
  detail::SideOutputs* side_outputs_;
  const W* window_ = nullptr;
  int64_t watermark_;
  int64_t processing_time_;
};

// Sees the records of a window (in arrival order) when it fires. With Reduce or Aggregate
// before it, `elements` holds their one result.
template <typename In, typename Out, typename K, typename W>
class ProcessWindowFunction {
 public:
  using Input = In;
  using Output = Out;
  using Context = WindowContext<W>;
  virtual ~ProcessWindowFunction() = default;
  virtual void Open(RuntimeContext& ctx) {}
  virtual void Process(const K& key, Context& ctx, const std::vector<In>& elements,
                       Collector<Out>& out) = 0;
  virtual void Close() {}
};

}  // namespace weir
