// User functions: Collector, RuntimeContext, TimerService and KeyedProcessFunction.
//
// map, filter and flat_map take plain lambdas (see weir/data_stream.h). Stateful logic goes in
// a KeyedProcessFunction, as in Flink:
//
//   class RunningSum : public weir::KeyedProcessFunction<int, int64_t, std::string> {
//    public:
//     void Open(weir::RuntimeContext& ctx) override {
//       sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
//     }
//     void ProcessElement(const int64_t& value, Context& ctx,
//                         weir::Collector<std::string>& out) override {
//       int64_t sum = sum_.ValueOr(0) + value;
//       sum_.Update(sum);
//       out.Collect(std::to_string(sum));
//     }
//    private:
//     weir::ValueState<int64_t> sum_;
//   };
//
// The engine copies the function object once per parallel subtask and calls it only from that
// subtask's thread: members need no locks. An exception thrown from any method fails the task
// with a message naming the operator and subtask; the restart strategy decides what follows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weir/collector.h"
#include "weir/detail/operator.h"
#include "weir/output_tag.h"
#include "weir/state.h"

namespace weir {

namespace detail {
template <typename X>
void EmitToSideOutput(SideOutputs& outputs, const OutputTag<X>& tag, X value,
                      const int64_t* timestamp) {
  Collector<X>* c = outputs.Find<X>(tag.id());
  if (c == nullptr) return;  // nobody reads this tag
  if (timestamp != nullptr) {
    c->SetTimestamp(*timestamp);
  } else {
    c->EraseTimestamp();
  }
  c->Collect(std::move(value));
}
}  // namespace detail

class TimerService {
 public:
  explicit TimerService(detail::TimerServiceAccess* impl) : impl_(impl) {}
  // Wall-clock time in milliseconds since the epoch, from the engine's clock.
  int64_t CurrentProcessingTime() const { return impl_->CurrentProcessingTime(); }
  // Calls OnTimer(time) for the current key once processing time reaches `time`. Registering
  // the same time twice for a key yields one call. Timers are checkpointed.
  void RegisterProcessingTimeTimer(int64_t time) { impl_->RegisterProcessingTimeTimer(time); }
  void DeleteProcessingTimeTimer(int64_t time) { impl_->DeleteProcessingTimeTimer(time); }

  // Event time: the operator's current watermark (kMinWatermark before the first).
  int64_t CurrentWatermark() const { return impl_->CurrentWatermark(); }
  // Calls OnTimer(time) for the current key once the watermark reaches `time`. Like
  // processing-time timers: one per key and time, checkpointed, rescaled with their key.
  void RegisterEventTimeTimer(int64_t time) { impl_->RegisterEventTimeTimer(time); }
  void DeleteEventTimeTimer(int64_t time) { impl_->DeleteEventTimeTimer(time); }

 private:
  detail::TimerServiceAccess* impl_;
};

// What a function can learn about where it runs, and where it declares keyed state.
class RuntimeContext {
 public:
  explicit RuntimeContext(detail::OperatorContext* ctx) : ctx_(ctx) {}

  const std::string& operator_name() const { return ctx_->operator_name(); }
  int subtask_index() const { return ctx_->subtask_index(); }
  int parallelism() const { return ctx_->parallelism(); }
  int max_parallelism() const { return ctx_->max_parallelism(); }
  int attempt_number() const { return ctx_->attempt_number(); }
  // Where the function registers its own metrics (weir/metrics.h), in its operator's scope.
  MetricGroup& metric_group() { return ctx_->metric_group(); }

  template <typename V>
  ValueState<V> GetState(const ValueStateDescriptor<V>& d) {
    static_assert(HasCodec<V>,
                  "ValueState<V>: V needs a weir::Codec to be checkpointed; specialize "
                  "weir::Codec<V>, for a struct e.g. with weir::FieldsCodec (see weir/codec.h)");
    return ValueState<V>(ValueImpl<V>(d.name, detail::StateKind::kValue));
  }

  template <typename V>
  ReducingState<V> GetReducingState(const ReducingStateDescriptor<V>& d) {
    static_assert(HasCodec<V>,
                  "ReducingState<V>: V needs a weir::Codec to be checkpointed; specialize "
                  "weir::Codec<V>, for a struct e.g. with weir::FieldsCodec (see weir/codec.h)");
    return ReducingState<V>(ValueImpl<V>(d.name, detail::StateKind::kReducing), d.reduce);
  }

  template <typename V>
  ListState<V> GetListState(const ListStateDescriptor<V>& d) {
    static_assert(HasCodec<V>,
                  "ListState<V>: V needs a weir::Codec to be checkpointed; specialize "
                  "weir::Codec<V>, for a struct e.g. with weir::FieldsCodec (see weir/codec.h)");
    detail::KeyedStateAccess& keyed = Keyed(d.name);
    if (auto* heap = keyed.heap()) {
      return ListState<V>(detail::FindOrAddHeapTable<detail::HeapListTable<V>>(
          *heap, d.name, detail::StateKind::kList, typeid(V),
          [&] { return std::make_unique<detail::HeapListTable<V>>(d.name, heap->current_key_id()); }));
    }
    detail::RawStateAccess* raw = keyed.raw();
    int handle = raw->RegisterState(d.name, detail::StateKind::kList, detail::SchemaOf<V>());
    return ListState<V>(Own(std::make_shared<detail::RawListState<V>>(raw, handle, d.name)));
  }

  template <typename K, typename V>
  MapState<K, V> GetMapState(const MapStateDescriptor<K, V>& d) {
    static_assert(HasCodec<K> && HasCodec<V>,
                  "MapState<K, V>: K and V need a weir::Codec to be checkpointed; specialize "
                  "weir::Codec, for a struct e.g. with weir::FieldsCodec (see weir/codec.h)");
    detail::KeyedStateAccess& keyed = Keyed(d.name);
    if (auto* heap = keyed.heap()) {
      return MapState<K, V>(detail::FindOrAddHeapTable<detail::HeapMapTable<K, V>>(
          *heap, d.name, detail::StateKind::kMap, typeid(std::pair<K, V>), [&] {
            return std::make_unique<detail::HeapMapTable<K, V>>(d.name, heap->current_key_id());
          }));
    }
    detail::RawStateAccess* raw = keyed.raw();
    int handle =
        raw->RegisterState(d.name, detail::StateKind::kMap, detail::MapSchemaOf<K, V>());
    return MapState<K, V>(Own(std::make_shared<detail::RawMapState<K, V>>(raw, handle, d.name)));
  }

 private:
  detail::KeyedStateAccess& Keyed(const std::string& state_name) {
    detail::KeyedStateAccess* keyed = ctx_->keyed_state();
    if (keyed == nullptr) {
      throw detail::StateError(Status::FailedPrecondition("state '" + state_name + "': keyed state needs a keyed stream; "
                               "call KeyBy before Process"));
    }
    return *keyed;
  }

  template <typename V>
  detail::ValueStateImpl<V>* ValueImpl(const std::string& name, detail::StateKind kind) {
    detail::KeyedStateAccess& keyed = Keyed(name);
    if (auto* heap = keyed.heap()) {
      return detail::FindOrAddHeapTable<detail::HeapValueTable<V>>(
          *heap, name, kind, typeid(V), [&] {
            return std::make_unique<detail::HeapValueTable<V>>(name, kind, heap->current_key_id());
          });
    }
    detail::RawStateAccess* raw = keyed.raw();
    int handle = raw->RegisterState(name, kind, detail::SchemaOf<V>());
    return Own(std::make_shared<detail::RawValueState<V>>(raw, handle, name));
  }

  template <typename T>
  T* Own(std::shared_ptr<T> p) {
    owned_.push_back(p);
    return p.get();
  }

  detail::OperatorContext* ctx_;
  std::vector<std::shared_ptr<void>> owned_;  // raw-backend adapters
};

// Processes the records of a keyed stream one at a time, with keyed state and timers.
// K: key type, In: input record type, Out: output record type.
template <typename K, typename In, typename Out>
class KeyedProcessFunction {
 public:
  class Context {
   public:
    Context(const K* key, TimerService timers, detail::SideOutputs* side_outputs)
        : key_(key), timers_(timers), side_outputs_(side_outputs) {}
    // The key of the record (or timer) being processed.
    const K& current_key() const { return *key_; }
    TimerService& timer_service() { return timers_; }
    // The event timestamp of the record being processed, none when the stream has no
    // timestamps; in OnTimer, the timer's time (either clock's, as in Flink).
    std::optional<int64_t> timestamp() const {
      return timestamp_ != nullptr ? std::optional<int64_t>(*timestamp_) : std::nullopt;
    }
    int64_t current_watermark() const { return timers_.CurrentWatermark(); }
    // In OnTimer: which clock fired it.
    TimeDomain time_domain() const { return domain_; }
    // Emits `value` to the side output `tag` (read with GetSideOutput), with this record's
    // (or timer's) timestamp.
    template <typename X>
    void Output(const OutputTag<X>& tag, X value) {
      detail::EmitToSideOutput(*side_outputs_, tag, std::move(value), timestamp_);
    }

    // For the engine.
    void SetTimestamp(const int64_t* timestamp) { timestamp_ = timestamp; }
    void SetTimeDomain(TimeDomain domain) { domain_ = domain; }

   private:
    const K* key_;
    TimerService timers_;
    const int64_t* timestamp_ = nullptr;
    TimeDomain domain_ = TimeDomain::kProcessingTime;
    detail::SideOutputs* side_outputs_;
  };

  virtual ~KeyedProcessFunction() = default;

  // Called once per subtask before the first record; declare state here.
  virtual void Open(RuntimeContext& ctx) {}
  virtual void ProcessElement(const In& value, Context& ctx, Collector<Out>& out) = 0;
  // A timer registered for ctx.current_key() fired (ctx.time_domain() says which kind).
  virtual void OnTimer(int64_t timestamp, Context& ctx, Collector<Out>& out) {}
  virtual void Close() {}
};

// Processes the records of a stream that is not keyed, one at a time; may emit to side
// outputs. (Keyed state and timers need a KeyedProcessFunction.)
template <typename In, typename Out>
class ProcessFunction {
 public:
  class Context {
   public:
    Context(detail::OperatorContext& ctx, detail::SideOutputs* side_outputs)
        : ctx_(&ctx), side_outputs_(side_outputs) {}
    // The event timestamp of the record being processed; none when the stream has none.
    std::optional<int64_t> timestamp() const {
      return timestamp_ != nullptr ? std::optional<int64_t>(*timestamp_) : std::nullopt;
    }
    int64_t current_processing_time() const { return ctx_->CurrentProcessingTime(); }
    // Emits `value` to the side output `tag`, with this record's timestamp.
    template <typename X>
    void Output(const OutputTag<X>& tag, X value) {
      detail::EmitToSideOutput(*side_outputs_, tag, std::move(value), timestamp_);
    }

    // For the engine.
    void SetTimestamp(const int64_t* timestamp) { timestamp_ = timestamp; }

   private:
    detail::OperatorContext* ctx_;
    detail::SideOutputs* side_outputs_;
    const int64_t* timestamp_ = nullptr;
  };

  virtual ~ProcessFunction() = default;
  virtual void Open(RuntimeContext& ctx) {}
  virtual void ProcessElement(const In& value, Context& ctx, Collector<Out>& out) = 0;
  virtual void Close() {}
};

}  // namespace weir
