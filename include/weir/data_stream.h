// DataStream<T> and KeyedStream<K, T>: Flink's DataStream API in C++.
//
//   env.FromSequence(0, 20'000)
//       .Map([](int64_t i) { return i < 20'000 ? int64_t{0} : int64_t{1000}; })
//       .KeyBy([](int64_t) { return 0; })
//       .Process(RunningSum())
//       .WriteAsText("output/sum_results.txt", weir::WriteMode::kOverwrite);
//
// Records are plain C++ values (copyable or movable). Functions are copied once per parallel
// subtask and run on that subtask's thread. Name() labels the operator in logs and metrics;
// Uid() gives it a stable identity for state, so a changed job still restores from an old
// checkpoint (without it, operators are identified by their position in the job).
//
// Building a stream only records the job; nothing runs until Execute(). A DataStream is a
// cheap handle; use it from the thread that builds the job.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/connectors/file_sink.h"
#include "weir/detail/co_operators.h"
#include "weir/detail/operators.h"
#include "weir/detail/record_writer.h"
#include "weir/detail/sinks.h"
#include "weir/detail/two_phase_commit.h"
#include "weir/detail/watermark_operator.h"
#include "weir/detail/transformation.h"
#include "weir/functions.h"
#include "weir/output_tag.h"
#include "weir/triggers.h"
#include "weir/watermark.h"
#include "weir/windows.h"

namespace weir {

template <typename K, typename T, typename KeySelector>
class KeyedStream;
template <typename K, typename T, typename KeySelector, typename Assigner, typename TriggerT,
          typename EvictorT>
class WindowedStream;
template <typename A, typename B>
class ConnectedStreams;  // weir/connected_streams.h
template <typename A, typename B, bool kJoin>
class WindowJoinBuilder;  // weir/window_join.h
template <typename K, typename A, typename B, typename S1, typename S2>
class IntervalJoinStreams;

namespace detail {

// The Out of a callable taking (const In&, Collector<Out>&), or of a KeyedProcessFunction.
template <typename M>
struct CollectorArg;
template <typename C, typename R, typename A, typename Out>
struct CollectorArg<R (C::*)(A, Collector<Out>&) const> {
  using type = Out;
};
template <typename C, typename R, typename A, typename Out>
struct CollectorArg<R (C::*)(A, Collector<Out>&)> {
  using type = Out;
};
template <typename F>
using FlatMapOutput = typename CollectorArg<decltype(&F::operator())>::type;
// Out if given, else deduced from F: only then, since a function object with several call
// operators (one for a record it may move, one for a shared record) cannot be deduced from.
template <typename Out, typename F>
struct FlatMapResult {
  using type = Out;
};
template <typename F>
struct FlatMapResult<void, F> {
  using type = FlatMapOutput<F>;
};

template <typename K, typename In, typename Out>
Out ProcessOutputOf(const KeyedProcessFunction<K, In, Out>*);
template <typename In, typename Out>
Out ProcessOutputOf(const ProcessFunction<In, Out>*);

// The one key of WindowAll.
template <typename T>
struct WholeStreamKey {
  uint8_t operator()(const T&) const { return 0; }
};

template <typename T>
WiredConsumer MakeTee(const std::vector<void*>& consumers) {
  std::vector<BatchConsumer<T>*> typed;
  for (void* c : consumers) typed.push_back(static_cast<BatchConsumer<T>*>(c));
  auto tee = std::make_shared<Tee<T>>(std::move(typed));
  return WiredConsumer{tee, static_cast<BatchConsumer<T>*>(tee.get()), nullptr};
}

// The transformation emits records of type T.
template <typename T>
void SetOutputType(Transformation& t) {
  t.output_type = &typeid(T);
  t.create_output_tee = &MakeTee<T>;
  t.output_copyable = std::is_copy_constructible_v<T>;
}

// Writer factory for forward and rebalance edges into a transformation consuming T.
template <typename T>
WiredConsumer MakeUnkeyedWriter(Partitioning p, std::vector<OutputChannel*> channels,
                                int producer_subtask) {
  if (p == Partitioning::kForward && channels.size() == 1) {
    auto w = std::make_shared<ForwardWriter<T>>(channels[0]);
    return WiredConsumer{w, static_cast<BatchConsumer<T>*>(w.get()), w.get()};
  }
  int n = static_cast<int>(channels.size());
  auto w = std::make_shared<RecordWriter<T, RoundRobinSelector>>(
      std::move(channels), RoundRobinSelector(n, producer_subtask));
  return WiredConsumer{w, static_cast<BatchConsumer<T>*>(w.get()), w.get()};
}

// Writer factory for an input of type T partitioned by key group with `sel`. With one consumer
// subtask every key group is its own: batches go over whole, and no key is selected or hashed.
template <typename T, typename K, typename Sel>
InputWriterFactory KeyedInputWriter(Sel sel) {
  return [sel](std::vector<OutputChannel*> channels, int, int max_parallelism) {
    if (channels.size() == 1) {
      auto w = std::make_shared<ForwardWriter<T>>(channels[0]);
      return WiredConsumer{w, static_cast<BatchConsumer<T>*>(w.get()), w.get()};
    }
    int n = static_cast<int>(channels.size());
    using Selector = KeyGroupSelector<K, Sel>;
    auto w = std::make_shared<RecordWriter<T, Selector>>(std::move(channels),
                                                         Selector(sel, max_parallelism, n));
    return WiredConsumer{w, static_cast<BatchConsumer<T>*>(w.get()), w.get()};
  };
}

}  // namespace detail

template <typename T>
class DataStream {
 public:
  using value_type = T;

  DataStream(detail::GraphBuilder* graph, detail::Transformation* t,
             detail::Partitioning next = detail::Partitioning::kForward)
      : graph_(graph), t_(t), next_partitioning_(next) {}

  // One output record per input record: fn(const T&) -> Out. A function that takes the record
  // by value (fn(T)) or by rvalue reference (fn(T&&)) gets it moved in: each record reaches one
  // function only.
  template <typename F>
  auto Map(F fn) const {
    // The argument MapOperator passes: the record moved in where fn takes it (T, T&&, auto&&),
    // else a const reference (const T&, and auto&, which cannot bind an rvalue).
    using Arg = std::conditional_t<std::is_invocable_v<F&, T&&>, T&&, const T&>;
    using Out = std::decay_t<std::invoke_result_t<F&, Arg>>;
    return Then<Out>("Map", [fn = std::move(fn)]() {
      return std::make_unique<detail::MapOperator<T, Out, F>>(fn);
    });
  }

  // Keeps the records for which fn(const T&) is true.
  template <typename F>
  DataStream<T> Filter(F fn) const {
    static_assert(std::is_convertible_v<std::invoke_result_t<F&, const T&>, bool>,
                  "Filter needs a predicate: bool(const T&)");
    return Then<T>("Filter", [fn = std::move(fn)]() {
      return std::make_unique<detail::FilterOperator<T, F>>(fn);
    });
  }

  // Zero or more output records per input: fn(const T&, Collector<Out>&), or fn(T, ...) to get
  // the record moved in, as Map. Out is deduced from the lambda; give it explicitly
  // (FlatMap<Out>(...)) for a generic lambda.
  template <typename Out = void, typename F>
  auto FlatMap(F fn) const {
    using O = typename detail::FlatMapResult<Out, F>::type;
    return Then<O>("FlatMap", [fn = std::move(fn)]() {
      return std::make_unique<detail::FlatMapOperator<T, O, F>>(fn);
    });
  }

  // Runs a ProcessFunction<T, Out> over each record (no keyed state: for that, KeyBy first).
  template <typename F>
  auto Process(F fn) const {
    using Out = decltype(detail::ProcessOutputOf(static_cast<const F*>(nullptr)));
    static_assert(std::is_base_of_v<ProcessFunction<T, Out>, F>,
                  "Process needs a ProcessFunction<T, Out> of this stream's type T");
    return Then<Out>("Process", [fn = std::move(fn)]() {
      return std::make_unique<detail::ProcessOperator<T, Out, F>>(fn);
    });
  }

  // The records the last operator emitted to `tag` (ctx.Output in a process function, late
  // records of a window), as a stream of their own. It runs chained to that operator, at its
  // parallelism. Asked for again, it is the same stream: the operator sends a tag's records to
  // one stream, and each of that stream's readers gets every record.
  template <typename X>
  DataStream<X> GetSideOutput(const OutputTag<X>& tag) const {
    for (const auto& existing : graph_->transformations()) {
      if (existing->input == t_ && existing->side_output_tag == tag.id() &&
          *existing->output_type == typeid(X)) {
        return DataStream<X>(graph_, existing.get());
      }
    }
    auto t = std::make_unique<detail::Transformation>();
    t->name = "SideOutput(" + tag.id() + ")";
    t->input = t_;
    t->side_output_tag = tag.id();
    detail::SetOutputType<X>(*t);
    t->create_operator = []() { return std::make_unique<detail::SideOutputTap<X>>(); };
    t->create_side_output = [id = tag.id()](void* consumer, size_t flush_at) {
      return std::make_unique<detail::SideOutput<X>>(
          id, static_cast<detail::BatchConsumer<X>*>(consumer), flush_at);
    };
    return DataStream<X>(graph_, graph_->Add(std::move(t)));
  }

  // Gives the records event timestamps and follows them with watermarks (see
  // weir/watermark.h). Watermarks from before this point are dropped, except the one that ends
  // a bounded input. Throws std::invalid_argument for a strategy with watermark alignment,
  // which only a source can follow (env.FromSource).
  DataStream<T> AssignTimestampsAndWatermarks(WatermarkStrategy<T> strategy) const {
    if (strategy.alignment()) {
      throw std::invalid_argument(
          "AssignTimestampsAndWatermarks: watermark alignment (group '" +
          strategy.alignment()->group +
          "') pauses a source's reading; give the strategy to env.FromSource instead");
    }
    return Then<T>("Timestamps/Watermarks", [strategy = std::move(strategy)]() {
      return std::make_unique<detail::TimestampsAndWatermarksOperator<T>>(strategy);
    });
  }

  // Partitions the stream by key: records with equal keys (by their Codec bytes) go to the
  // same subtask, in key groups that can be redistributed when the job is rescaled.
  template <typename F>
  auto KeyBy(F key_selector) const {
    using K = std::decay_t<std::invoke_result_t<F&, const T&>>;
    static_assert(HasCodec<K>, "KeyBy: the key type needs a weir::Codec (see weir/codec.h)");
    return KeyedStream<K, T, F>(*this, std::move(key_selector));
  }

  // Windows over the whole stream, not per key, in one subtask (Flink's windowAll).
  template <typename Assigner>
  auto WindowAll(Assigner assigner) const {
    return KeyBy(detail::WholeStreamKey<T>()).Window(std::move(assigner)).NonParallel();
  }
  auto CountWindowAll(int64_t size) const {
    return KeyBy(detail::WholeStreamKey<T>()).CountWindow(size).NonParallel();
  }

  // One stream of the records of this stream and `others` (all DataStream<T>), as they come
  // (Flink's union). The next operator reads the channels of all of them.
  template <typename... Streams>
  DataStream<T> Union(const Streams&... others) const {
    static_assert((std::is_same_v<Streams, DataStream<T>> && ...),
                  "Union: every stream must have this stream's record type");
    auto t = std::make_unique<detail::Transformation>();
    t->name = "Union";
    t->input = t_;
    t->partitioning = next_partitioning_;
    t->create_input_writer = UnionInputWriter(next_partitioning_);
    (t->extra_inputs.push_back(detail::TransformationInput{
         others.t_, others.next_partitioning_, 0, UnionInputWriter(others.next_partitioning_)}),
     ...);
    detail::SetOutputType<T>(*t);
    t->create_operator = [] { return std::make_unique<detail::UnionOperator<T>>(); };
    return DataStream<T>(graph_, graph_->Add(std::move(t)));
  }

  // Connects this stream with `other` (of any type) for an operator with two inputs: a
  // co-map, co-flat-map or co-process function, or, after KeyBy, a keyed co-process function
  // (see weir/connected_streams.h).
  template <typename U>
  ConnectedStreams<T, U> Connect(const DataStream<U>& other) const;

  // Pairs of records of this stream and `other` with equal keys in the same window:
  // Join(other).Where(key).EqualTo(other_key).Window(assigner).Apply(fn) (weir/window_join.h).
  template <typename U>
  WindowJoinBuilder<T, U, true> Join(const DataStream<U>& other) const;
  // The same, once per key and window with both sides' records (a CoGroupFunction).
  template <typename U>
  WindowJoinBuilder<T, U, false> CoGroup(const DataStream<U>& other) const;

  // Distributes records round robin over the next operator's subtasks.
  DataStream<T> Rebalance() const {
    return DataStream<T>(graph_, t_, detail::Partitioning::kRebalance);
  }

  // Writes each record as a line of text (see weir/detail/sinks.h for the formatting). With
  // parallelism 1 `path` is a file; above 1 it is a directory with one file per subtask,
  // named 1, 2, ... as in Flink. With checkpointing the sink is exactly-once: lines appear
  // when the checkpoint covering them completes, and a recovery never duplicates or loses one.
  DataStream<T> WriteAsText(std::string path, WriteMode mode = WriteMode::kNoOverwrite) const {
    return SinkTo([path, mode]() { return std::make_unique<TextFileSink<T>>(path, mode); })
        .Name("TextFileSink");
  }

  // Writes into a TwoPhaseCommitSink (weir/sink.h): exactly-once output with checkpointing.
  // `make_sink` is called once per parallel subtask and returns a new sink.
  template <typename MakeSink>
  DataStream<T> SinkTo(MakeSink make_sink) const {
    DataStream<T> sink = Then<T>("Sink", [make_sink]() {
      std::shared_ptr<TwoPhaseCommitSink<T>> s = make_sink();
      return std::make_unique<detail::TwoPhaseCommitSinkOperator<T>>(std::move(s));
    });
    sink.t_->kind = detail::Transformation::Kind::kSink;
    return sink;
  }

  // Prints each record as a line on standard output (at-least-once; for debugging).
  DataStream<T> Print() const {
    DataStream<T> sink =
        Then<T>("Print", []() { return std::make_unique<detail::PrintSinkOperator<T>>(); });
    sink.t_->kind = detail::Transformation::Kind::kSink;
    return sink;
  }

  // Calls fn(const T&) for every record, on the sink subtask's thread (Flink's addSink with a
  // SinkFunction). At-least-once: after a restore, records since the checkpoint come again.
  // The function is copied once per parallel subtask.
  template <typename F>
  DataStream<T> AddSink(F fn) const {
    DataStream<T> sink = Then<T>("Sink", [fn = std::move(fn)]() {
      return std::make_unique<detail::FunctionSinkOperator<T, F>>(fn);
    });
    sink.t_->kind = detail::Transformation::Kind::kSink;
    return sink;
  }

  // Labels the last operator (logs, metrics, error messages).
  DataStream<T> Name(std::string name) const {
    t_->name = std::move(name);
    return *this;
  }
  // Gives the last operator a stable identity for its state across job changes.
  DataStream<T> Uid(std::string uid) const {
    t_->uid = std::move(uid);
    return *this;
  }
  DataStream<T> SetParallelism(int parallelism) const {
    t_->parallelism = parallelism;
    return *this;
  }

  detail::Transformation* transformation() const { return t_; }
  detail::GraphBuilder* graph() const { return graph_; }
  // How records reach the next operator (Rebalance, or forward).
  detail::Partitioning partitioning() const { return next_partitioning_; }

 private:
  template <typename K, typename U, typename S>
  friend class KeyedStream;

  static detail::InputWriterFactory UnionInputWriter(detail::Partitioning p) {
    return [p](std::vector<detail::OutputChannel*> channels, int subtask, int) {
      return detail::MakeUnkeyedWriter<T>(p, std::move(channels), subtask);
    };
  }

  template <typename Out, typename Factory>
  DataStream<Out> Then(const char* default_name, Factory make_operator) const {
    auto t = std::make_unique<detail::Transformation>();
    t->name = default_name;
    t->input = t_;
    t->partitioning = next_partitioning_;
    detail::SetOutputType<Out>(*t);
    t->create_operator = std::move(make_operator);
    detail::Partitioning p = next_partitioning_;
    t->create_input_writer = [p](std::vector<detail::OutputChannel*> channels, int subtask, int) {
      return detail::MakeUnkeyedWriter<T>(p, std::move(channels), subtask);
    };
    return DataStream<Out>(graph_, graph_->Add(std::move(t)));
  }

  detail::GraphBuilder* graph_;
  detail::Transformation* t_;
  detail::Partitioning next_partitioning_;
};

template <typename K, typename T, typename KeySelector>
class KeyedStream {
 public:
  KeyedStream(DataStream<T> input, KeySelector key_selector)
      : input_(input), key_selector_(std::move(key_selector)) {}

  // Runs a KeyedProcessFunction<K, T, Out> over the stream, with keyed state and timers.
  template <typename F>
  auto Process(F fn) const {
    using Out = decltype(detail::ProcessOutputOf(static_cast<const F*>(nullptr)));
    static_assert(std::is_base_of_v<KeyedProcessFunction<K, T, Out>, F>,
                  "Process needs a KeyedProcessFunction<K, T, Out> of this stream's key type K");
    return Transform<Out>("KeyedProcess", [fn = std::move(fn), sel = key_selector_]() {
      return std::make_unique<detail::KeyedProcessOperator<K, T, Out, F, KeySelector>>(fn, sel);
    });
  }

  // Groups each key's records into windows (weir/windows.h) that fire their results (see
  // WindowedStream in weir/windowed_stream.h).
  template <typename Assigner>
  auto Window(Assigner assigner) const {
    using Trigger = typename Assigner::DefaultTrigger;
    return WindowedStream<K, T, KeySelector, Assigner, Trigger, NoEvictor>(*this,
                                                                           std::move(assigner));
  }
  // Windows of `size` records per key: each fires when it is full and starts the next.
  auto CountWindow(int64_t size) const {
    return Window(GlobalWindows::Create()).Trigger(PurgingTrigger<CountTrigger>::Of(CountTrigger::Of(size)));
  }
  // The last `size` records of the key, every `slide` records. Both must be positive
  // (std::invalid_argument).
  auto CountWindow(int64_t size, int64_t slide) const {
    if (size <= 0) throw std::invalid_argument("CountWindow: the size must be positive");
    return Window(GlobalWindows::Create())
        .Evictor(CountEvictor::Of(static_cast<size_t>(size)))
        .Trigger(CountTrigger::Of(slide));
  }

  const KeySelector& key_selector() const { return key_selector_; }

  // Adds an operator of this keyed stream, with keyed state and timers: `make_operator`
  // returns a new detail::StreamOperator consuming T and emitting Out, once per subtask.
  template <typename Out, typename Factory>
  DataStream<Out> Transform(std::string name, Factory make_operator) const {
    auto t = std::make_unique<detail::Transformation>();
    t->name = std::move(name);
    t->input = input_.t_;
    t->partitioning = detail::Partitioning::kKeyGroups;
    t->keyed = true;
    detail::SetOutputType<Out>(*t);
    t->create_operator = std::move(make_operator);
    t->create_input_writer = detail::KeyedInputWriter<T, K>(key_selector_);
    return DataStream<Out>(input_.graph_, input_.graph_->Add(std::move(t)));
  }

  // Joins this stream with `other`, keyed by the same key type, by event time: see
  // IntervalJoinStreams::Between in weir/connected_streams.h.
  template <typename U, typename S2>
  IntervalJoinStreams<K, T, U, KeySelector, S2> IntervalJoin(
      const KeyedStream<K, U, S2>& other) const;

  const DataStream<T>& input() const { return input_; }

 private:
  DataStream<T> input_;
  KeySelector key_selector_;
};

}  // namespace weir

#include "weir/windowed_stream.h"  // IWYU pragma: export
#include "weir/connected_streams.h"  // Connect and IntervalJoin, defined there
#include "weir/window_join.h"        // Join and CoGroup, defined there
