// Several inputs: ConnectedStreams (DataStream::Connect) and the interval join
// (KeyedStream::IntervalJoin). DataStream::Union is in weir/data_stream.h.
//
//   // Both inputs keyed alike: state and timers of a key are shared by both.
//   orders.Connect(prices)
//       .KeyBy([](const Order& o) { return o.item; }, [](const Price& p) { return p.item; })
//       .Process(Enrich())                              // a KeyedCoProcessFunction
//       .WriteAsText("out");
//
//   // Clicks joined with the impressions of the same ad up to 10 s before them.
//   clicks.KeyBy([](const Click& c) { return c.ad; })
//       .IntervalJoin(impressions.KeyBy([](const Impression& i) { return i.ad; }))
//       .Between(std::chrono::seconds(-10), std::chrono::seconds(0))
//       .Process(Attribute());                          // a ProcessJoinFunction
//
// A two-input operator heads a task of its own: checkpoint barriers align across every
// channel of both inputs, its watermark is the minimum over the inputs that are not idle,
// and its input ends when both inputs ended. As with DataStream, building only records the
// job; use these handles from the thread that builds it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/co_functions.h"
#include "weir/data_stream.h"
#include "weir/detail/co_operators.h"
#include "weir/detail/interval_join_operator.h"
#include "weir/output_tag.h"

namespace weir {
namespace detail {

template <typename K, typename In1, typename In2, typename Out>
Out CoProcessOutputOf(const KeyedCoProcessFunction<K, In1, In2, Out>*);
template <typename In1, typename In2, typename Out>
Out CoProcessOutputOf(const CoProcessFunction<In1, In2, Out>*);
template <typename In1, typename In2, typename Out>
Out JoinOutputOf(const ProcessJoinFunction<In1, In2, Out>*);

template <typename T>
InputWriterFactory UnkeyedInputWriter(Partitioning p) {
  return [p](std::vector<OutputChannel*> channels, int subtask, int) {
    return MakeUnkeyedWriter<T>(p, std::move(channels), subtask);
  };
}

// One input of a two-input transformation.
struct TwoInputSide {
  Transformation* transformation;
  Partitioning partitioning;
  InputWriterFactory writer;
};

template <typename Out>
DataStream<Out> AddTwoInputTransformation(GraphBuilder* graph, const char* name, TwoInputSide first,
                                          TwoInputSide second, bool keyed,
                                          std::function<std::unique_ptr<StreamOperator>()> make) {
  auto t = std::make_unique<Transformation>();
  t->name = name;
  t->input = first.transformation;
  t->partitioning = first.partitioning;
  t->create_input_writer = std::move(first.writer);
  t->extra_inputs.push_back(
      TransformationInput{second.transformation, second.partitioning, 1, std::move(second.writer)});
  t->num_operator_inputs = 2;
  t->keyed = keyed;
  SetOutputType<Out>(*t);
  t->create_operator = std::move(make);
  return DataStream<Out>(graph, graph->Add(std::move(t)));
}

}  // namespace detail

template <typename K, typename A, typename B, typename S1, typename S2>
class KeyedConnectedStreams;

// Two streams connected for processing by one function with a method per input (Flink's
// ConnectedStreams). A: the first input's record type, B: the second's.
template <typename A, typename B>
class ConnectedStreams {
 public:
  ConnectedStreams(DataStream<A> first, DataStream<B> second) : first_(first), second_(second) {}

  const DataStream<A>& first_input() const { return first_; }
  const DataStream<B>& second_input() const { return second_; }

  // One output per input record: fn1(const A&) -> Out, fn2(const B&) -> Out (Flink's CoMap).
  template <typename F1, typename F2>
  auto Map(F1 fn1, F2 fn2) const {
    using Out = std::decay_t<std::invoke_result_t<F1&, const A&>>;
    static_assert(std::is_same_v<Out, std::decay_t<std::invoke_result_t<F2&, const B&>>>,
                  "Map(fn1, fn2): both functions must return the same type");
    return Add<Out>("CoMap", [fn1 = std::move(fn1), fn2 = std::move(fn2)]() {
      return std::make_unique<detail::CoMapOperator<A, B, Out, F1, F2>>(fn1, fn2);
    });
  }

  // Zero or more outputs per input record: fn1(const A&, Collector<Out>&),
  // fn2(const B&, Collector<Out>&) (Flink's CoFlatMap). Out is deduced from fn1; give it
  // explicitly (FlatMap<Out>(...)) for generic lambdas.
  template <typename Out = void, typename F1, typename F2>
  auto FlatMap(F1 fn1, F2 fn2) const {
    using O = std::conditional_t<std::is_void_v<Out>, detail::FlatMapOutput<F1>, Out>;
    return Add<O>("CoFlatMap", [fn1 = std::move(fn1), fn2 = std::move(fn2)]() {
      return std::make_unique<detail::CoFlatMapOperator<A, B, O, F1, F2>>(fn1, fn2);
    });
  }

  // Runs a CoProcessFunction<A, B, Out> (no keyed state: KeyBy first for that).
  template <typename F>
  auto Process(F fn) const {
    using Out = decltype(detail::CoProcessOutputOf(static_cast<const F*>(nullptr)));
    static_assert(std::is_base_of_v<CoProcessFunction<A, B, Out>, F>,
                  "Process needs a CoProcessFunction<A, B, Out> of these inputs' types");
    return Add<Out>("CoProcess", [fn = std::move(fn)]() {
      return std::make_unique<detail::CoProcessOperator<A, B, Out, F>>(fn);
    });
  }

  // Partitions both inputs by key, with a key selector each; both keys must have the same type.
  template <typename S1, typename S2>
  auto KeyBy(S1 key_selector1, S2 key_selector2) const {
    using K = std::decay_t<std::invoke_result_t<S1&, const A&>>;
    static_assert(std::is_same_v<K, std::decay_t<std::invoke_result_t<S2&, const B&>>>,
                  "KeyBy(sel1, sel2): both key selectors must return the same key type");
    static_assert(HasCodec<K>, "KeyBy: the key type needs a weir::Codec (see weir/codec.h)");
    return KeyedConnectedStreams<K, A, B, S1, S2>(first_, second_, std::move(key_selector1),
                                                  std::move(key_selector2));
  }

 private:
  template <typename Out, typename Factory>
  DataStream<Out> Add(const char* name, Factory make) const {
    return detail::AddTwoInputTransformation<Out>(
        first_.graph(), name,
        {first_.transformation(), first_.partitioning(),
         detail::UnkeyedInputWriter<A>(first_.partitioning())},
        {second_.transformation(), second_.partitioning(),
         detail::UnkeyedInputWriter<B>(second_.partitioning())},
        /*keyed=*/false, std::move(make));
  }

  DataStream<A> first_;
  DataStream<B> second_;
};

// Connected streams partitioned by a key of type K on both inputs.
template <typename K, typename A, typename B, typename S1, typename S2>
class KeyedConnectedStreams {
 public:
  KeyedConnectedStreams(DataStream<A> first, DataStream<B> second, S1 sel1, S2 sel2)
      : first_(first), second_(second), sel1_(std::move(sel1)), sel2_(std::move(sel2)) {}

  // Runs a KeyedCoProcessFunction<K, A, B, Out>: keyed state and timers, both inputs sharing
  // the state of a key.
  template <typename F>
  auto Process(F fn) const {
    using Out = decltype(detail::CoProcessOutputOf(static_cast<const F*>(nullptr)));
    static_assert(std::is_base_of_v<KeyedCoProcessFunction<K, A, B, Out>, F>,
                  "Process needs a KeyedCoProcessFunction<K, A, B, Out> of this key type");
    return Add<Out>("KeyedCoProcess", [fn = std::move(fn), s1 = sel1_, s2 = sel2_]() {
      return std::make_unique<detail::KeyedCoProcessOperator<K, A, B, Out, F, S1, S2>>(fn, s1, s2);
    });
  }

  // Adds an operator over both keyed inputs (Process here, and the interval join).
  template <typename Out, typename Factory>
  DataStream<Out> Add(const char* name, Factory make) const {
    return detail::AddTwoInputTransformation<Out>(
        first_.graph(), name,
        {first_.transformation(), detail::Partitioning::kKeyGroups,
         detail::KeyedInputWriter<A, K>(sel1_)},
        {second_.transformation(), detail::Partitioning::kKeyGroups,
         detail::KeyedInputWriter<B, K>(sel2_)},
        /*keyed=*/true, std::move(make));
  }
  const S1& key_selector1() const { return sel1_; }
  const S2& key_selector2() const { return sel2_; }

 private:
  DataStream<A> first_;
  DataStream<B> second_;
  S1 sel1_;
  S2 sel2_;
};

// An interval join with its bounds (Flink's IntervalJoined): a left record at time t joins
// each right record of its key at a time in [t + lower, t + upper]. Event time only.
template <typename K, typename A, typename B, typename S1, typename S2>
class IntervalJoined {
 public:
  IntervalJoined(KeyedConnectedStreams<K, A, B, S1, S2> inputs, int64_t lower, int64_t upper)
      : inputs_(std::move(inputs)), lower_(lower), upper_(upper) {}

  // Makes a bound exclusive (both are inclusive by default).
  IntervalJoined LowerBoundExclusive() const {
    IntervalJoined j = *this;
    j.lower_exclusive_ = true;
    return j;
  }
  IntervalJoined UpperBoundExclusive() const {
    IntervalJoined j = *this;
    j.upper_exclusive_ = true;
    return j;
  }

  // Left (right) records behind the watermark are not joined: they go to `tag`'s side output
  // (GetSideOutput on the joined stream) instead of being dropped, as Flink's
  // sideOutputLeftLateData and sideOutputRightLateData send them.
  IntervalJoined SideOutputLeftLateData(const OutputTag<A>& tag) const {
    IntervalJoined j = *this;
    j.left_late_ = tag;
    return j;
  }
  IntervalJoined SideOutputRightLateData(const OutputTag<B>& tag) const {
    IntervalJoined j = *this;
    j.right_late_ = tag;
    return j;
  }

  // Calls a ProcessJoinFunction<A, B, Out> for every joined pair. Throws
  // std::invalid_argument when the bounds leave no interval.
  template <typename F>
  auto Process(F fn) const {
    using Out = decltype(detail::JoinOutputOf(static_cast<const F*>(nullptr)));
    static_assert(std::is_base_of_v<ProcessJoinFunction<A, B, Out>, F>,
                  "Process needs a ProcessJoinFunction<A, B, Out> of these inputs' types");
    static_assert(HasCodec<A> && HasCodec<B>,
                  "IntervalJoin: both record types need a weir::Codec, since records wait in "
                  "keyed state (see weir/codec.h)");
    int64_t lower = lower_exclusive_ ? lower_ + 1 : lower_;
    int64_t upper = upper_exclusive_ ? upper_ - 1 : upper_;
    if (lower > upper) {
      throw std::invalid_argument("IntervalJoin: the lower bound (" + std::to_string(lower) +
                                  " ms, inclusive) is above the upper bound (" +
                                  std::to_string(upper) + " ms, inclusive)");
    }
    return inputs_.template Add<Out>(
        "IntervalJoin", [fn = std::move(fn), s1 = inputs_.key_selector1(),
                         s2 = inputs_.key_selector2(), lower, upper, left_late = left_late_,
                         right_late = right_late_]() {
          return std::make_unique<detail::IntervalJoinOperator<K, A, B, Out, F, S1, S2>>(
              fn, s1, s2, lower, upper, left_late, right_late);
        });
  }

 private:
  KeyedConnectedStreams<K, A, B, S1, S2> inputs_;
  int64_t lower_;
  int64_t upper_;
  bool lower_exclusive_ = false;
  bool upper_exclusive_ = false;
  std::optional<OutputTag<A>> left_late_;
  std::optional<OutputTag<B>> right_late_;
};

// KeyedStream::IntervalJoin's result, waiting for its bounds.
template <typename K, typename A, typename B, typename S1, typename S2>
class IntervalJoinStreams {
 public:
  explicit IntervalJoinStreams(KeyedConnectedStreams<K, A, B, S1, S2> inputs)
      : inputs_(std::move(inputs)) {}

  // Right timestamps in [left + lower, left + upper], bounds inclusive.
  IntervalJoined<K, A, B, S1, S2> Between(std::chrono::milliseconds lower,
                                          std::chrono::milliseconds upper) const {
    return IntervalJoined<K, A, B, S1, S2>(inputs_, lower.count(), upper.count());
  }

 private:
  KeyedConnectedStreams<K, A, B, S1, S2> inputs_;
};

template <typename T>
template <typename U>
ConnectedStreams<T, U> DataStream<T>::Connect(const DataStream<U>& other) const {
  return ConnectedStreams<T, U>(*this, other);
}

template <typename K, typename T, typename KeySelector>
template <typename U, typename S2>
IntervalJoinStreams<K, T, U, KeySelector, S2> KeyedStream<K, T, KeySelector>::IntervalJoin(
    const KeyedStream<K, U, S2>& other) const {
  return IntervalJoinStreams<K, T, U, KeySelector, S2>(
      KeyedConnectedStreams<K, T, U, KeySelector, S2>(input_, other.input(), key_selector_,
                                                      other.key_selector()));
}

}  // namespace weir
