// WindowedStream: a keyed stream cut into windows, as in Flink.
//
//   const weir::OutputTag<Click> late("late");
//   auto counts = clicks.KeyBy([](const Click& c) { return c.user; })
//       .Window(weir::TumblingEventTimeWindows::Of(std::chrono::minutes(1)))
//       .AllowedLateness(std::chrono::seconds(10))
//       .SideOutputLateData(late)
//       .Aggregate(CountClicks(), EmitCount());
//
// Choose the windows (weir/windows.h), optionally a trigger and an evictor
// (weir/triggers.h), how late a record may be, and where too-late records go; then what a
// window computes (weir/window_functions.h): Reduce, Aggregate, either followed by a
// ProcessWindowFunction, or Process over all of its records. Results carry the window's
// max_timestamp() as their timestamp.
//
// Included by weir/data_stream.h; build it from KeyedStream::Window or DataStream::WindowAll.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weir/data_stream.h"
#include "weir/detail/window_operator.h"
#include "weir/output_tag.h"
#include "weir/triggers.h"
#include "weir/window_functions.h"
#include "weir/windows.h"

namespace weir {

template <typename K, typename T, typename KeySelector, typename Assigner, typename TriggerT,
          typename EvictorT>
class WindowedStream {
  using W = typename Assigner::Window;

 public:
  using Window = W;
  using Key = K;

  WindowedStream(KeyedStream<K, T, KeySelector> input, Assigner assigner, TriggerT trigger = {},
                 EvictorT evictor = {})
      : input_(std::move(input)),
        assigner_(std::move(assigner)),
        trigger_(std::move(trigger)),
        evictor_(std::move(evictor)) {}

  // Replaces the assigner's default trigger.
  template <typename NewTrigger>
  auto Trigger(NewTrigger trigger) const {
    WindowedStream<K, T, KeySelector, Assigner, NewTrigger, EvictorT> w(input_, assigner_,
                                                                         std::move(trigger), evictor_);
    w.CopySettings(*this);
    return w;
  }
  // Removes records from a window before (or after) its function sees them. The window then
  // keeps its records, even for Reduce and Aggregate.
  template <typename NewEvictor>
  auto Evictor(NewEvictor evictor) const {
    WindowedStream<K, T, KeySelector, Assigner, TriggerT, NewEvictor> w(input_, assigner_, trigger_,
                                                                         std::move(evictor));
    w.CopySettings(*this);
    return w;
  }
  // Keeps event-time windows this long after their end (default 0): a record that comes in
  // that time fires its window again, with the record in it. Later records are late.
  WindowedStream AllowedLateness(std::chrono::milliseconds lateness) const {
    if (lateness.count() < 0) throw std::invalid_argument("AllowedLateness must not be negative");
    WindowedStream w = *this;
    w.allowed_lateness_ = Assigner::kEventTime ? lateness.count() : 0;
    return w;
  }
  // Late records go to this side output (GetSideOutput on the result) instead of being
  // dropped (and counted in numLateRecordsDropped).
  WindowedStream SideOutputLateData(const OutputTag<T>& tag) const {
    WindowedStream w = *this;
    w.late_tag_ = tag;
    return w;
  }

  // Aggregates sliding event-time windows by slice: one accumulator per slice of
  // gcd(size, slide) instead of one per window, as Flink SQL's window aggregates do. A record
  // then updates one accumulator instead of size/slide of them, and a window merges its slices
  // with the AggregateFunction's Merge when it fires, so Merge(a, b) must give what one
  // accumulator given the records of both would (Flink's DataStream API calls it for session
  // windows only: a port that leaves it a stub must not slice). For SlidingEventTimeWindows
  // with the default trigger, no evictor and no allowed lateness, then Aggregate (a reduce
  // function may depend on the records' order, which slices would not keep); Reduce, Process
  // and Aggregate throw std::invalid_argument otherwise.
  WindowedStream Sliced() const {
    WindowedStream w = *this;
    w.sliced_ = true;
    return w;
  }

  // Folds each window's records with fn(const T&, const T&) -> T.
  template <typename F>
  DataStream<T> Reduce(F fn) const {
    return Aggregated(detail::ReduceAggregate<T, F>{std::move(fn)}, detail::PassResult<T>(),
                      "Window(Reduce)");
  }
  // Reduces, then hands the result to a ProcessWindowFunction<T, Out, K, W>.
  template <typename F, typename P>
  auto Reduce(F fn, P process) const {
    CheckProcess<T, P>();
    return Aggregated(detail::ReduceAggregate<T, F>{std::move(fn)},
                      detail::ProcessResult<P>{std::move(process), {}}, "Window(Reduce)");
  }
  // Aggregates each window with an AggregateFunction<T, Acc, Out>.
  template <typename A>
  auto Aggregate(A aggregate) const {
    return Aggregated(std::move(aggregate), detail::PassResult<typename A::Output>(),
                      "Window(Aggregate)");
  }
  // Aggregates, then hands the result to a ProcessWindowFunction<Acc's Out, Out, K, W>.
  template <typename A, typename P>
  auto Aggregate(A aggregate, P process) const {
    CheckProcess<typename A::Output, P>();
    return Aggregated(std::move(aggregate), detail::ProcessResult<P>{std::move(process), {}},
                      "Window(Aggregate)");
  }
  // Runs a ProcessWindowFunction<T, Out, K, W> over all records of each window.
  template <typename P>
  auto Process(P process) const {
    CheckProcess<T, P>();
    if (sliced_) throw std::invalid_argument("Sliced() windows are for Aggregate, not Process");
    using Contents = detail::ListContents<T, W, EvictorT, detail::ProcessElements<P>>;
    return Build(Contents(evictor_, detail::ProcessElements<P>{std::move(process)}),
                 "Window(Process)");
  }

  // For WindowAll: the window operator runs in one subtask.
  WindowedStream NonParallel() const {
    WindowedStream w = *this;
    w.non_parallel_ = true;
    return w;
  }

 private:
  template <typename, typename, typename, typename, typename, typename>
  friend class WindowedStream;

  template <typename Other>
  void CopySettings(const Other& o) {
    allowed_lateness_ = o.allowed_lateness_;
    late_tag_ = o.late_tag_;
    non_parallel_ = o.non_parallel_;
    sliced_ = o.sliced_;
  }

  template <typename In, typename P>
  static void CheckProcess() {
    static_assert(std::is_base_of_v<ProcessWindowFunction<In, typename P::Output, K, W>, P>,
                  "the window function needs to be a ProcessWindowFunction<In, Out, K, W> of "
                  "the stream's key type K and the assigner's window type W");
  }

  template <typename Agg, typename Fn>
  auto Aggregated(Agg aggregate, Fn fn, const char* name) const {
    using Contents = detail::AggregatingContents<T, W, Agg, Fn>;
    if (sliced_) {
      if (!std::is_same_v<Assigner, SlidingEventTimeWindows> ||
          !std::is_same_v<TriggerT, EventTimeTrigger> || !std::is_same_v<EvictorT, NoEvictor>) {
        throw std::invalid_argument(
            "Sliced() needs SlidingEventTimeWindows with the default trigger and no evictor");
      }
      if (!Contents::kMaySlice) {
        throw std::invalid_argument(
            "Sliced() windows are for Aggregate: a reduce function may depend on the order of "
            "its records, which slices do not keep");
      }
      if (allowed_lateness_ != 0) {
        throw std::invalid_argument("Sliced() windows allow no lateness: a late record would "
                                    "fire a window again, and it keeps no accumulator of its own");
      }
    }
    if constexpr (std::is_same_v<EvictorT, NoEvictor>) {
      return Build(Contents(std::move(aggregate), std::move(fn)), name);
    } else {
      using All = detail::AggregateElements<Agg, Fn>;
      return Build(detail::ListContents<T, W, EvictorT, All>(
                       evictor_, All{std::move(aggregate), std::move(fn)}),
                   name);
    }
  }

  template <typename Contents>
  DataStream<typename Contents::Out> Build(Contents contents, const char* name) const {
    using Out = typename Contents::Out;
    using Op = detail::WindowOperator<K, T, KeySelector, Assigner, TriggerT, Contents>;
    DataStream<Out> out = input_.template Transform<Out>(
        name, [sel = input_.key_selector(), assigner = assigner_, trigger = trigger_,
               contents = std::move(contents), lateness = allowed_lateness_,
               late = late_tag_, sliced = sliced_]() {
          return std::make_unique<Op>(sel, assigner, trigger, contents, lateness, late, sliced);
        });
    if (non_parallel_) out.transformation()->non_parallel = true;
    return out;
  }

  KeyedStream<K, T, KeySelector> input_;
  Assigner assigner_;
  TriggerT trigger_;
  EvictorT evictor_;
  int64_t allowed_lateness_ = 0;
  std::optional<OutputTag<T>> late_tag_;
  bool non_parallel_ = false;
  bool sliced_ = false;
};

}  // namespace weir
