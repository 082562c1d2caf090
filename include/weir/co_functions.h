// Functions over two inputs: CoProcessFunction, KeyedCoProcessFunction, ProcessJoinFunction.
//
// Two streams, possibly of different types, are connected (DataStream::Connect, see
// weir/connected_streams.h) and processed by one function with a method per input, as in
// Flink. Over connected keyed streams the function shares keyed state and timers between both
// inputs: a record of either input sees the state of its key.
//
//   class Enrich : public weir::KeyedCoProcessFunction<int, Order, Price, std::string> {
//    public:
//     void Open(weir::RuntimeContext& ctx) override {
//       price_ = ctx.GetState(weir::ValueStateDescriptor<double>("price"));
//     }
//     void ProcessElement1(const Order& o, Context& ctx, weir::Collector<std::string>& out)
//     override {
//       if (auto p = price_.Value()) out.Collect(o.id + "," + std::to_string(*p * o.quantity));
//     }
//     void ProcessElement2(const Price& p, Context&, weir::Collector<std::string>&) override {
//       price_.Update(p.value);
//     }
//    private:
//     weir::ValueState<double> price_;
//   };
//
// As with one input, the engine copies the function once per parallel subtask and calls it
// only from that subtask's thread; an exception fails the task, naming the operator.
#pragma once

#include <cstdint>
#include <optional>

#include "weir/detail/operator.h"
#include "weir/functions.h"

namespace weir {

// Processes the records of two connected (not keyed) streams. In1, In2: the inputs' record
// types; Out: the output's.
template <typename In1, typename In2, typename Out>
class CoProcessFunction {
 public:
  class Context {
   public:
    Context(const detail::StreamOperator* op, detail::OperatorContext* ctx) : op_(op), ctx_(ctx) {}
    // The event timestamp of the record being processed; none without event time.
    std::optional<int64_t> timestamp() const {
      return timestamp_ != nullptr ? std::optional<int64_t>(*timestamp_) : std::nullopt;
    }
    // The operator's watermark: the minimum over both inputs (kMinWatermark before the first).
    int64_t current_watermark() const { return op_->current_watermark(); }
    int64_t CurrentProcessingTime() const { return ctx_->CurrentProcessingTime(); }

    // For the engine.
    void SetTimestamp(const int64_t* timestamp) { timestamp_ = timestamp; }

   private:
    const detail::StreamOperator* op_;
    detail::OperatorContext* ctx_;
    const int64_t* timestamp_ = nullptr;
  };

  virtual ~CoProcessFunction() = default;
  virtual void Open(RuntimeContext& ctx) {}
  virtual void ProcessElement1(const In1& value, Context& ctx, Collector<Out>& out) = 0;
  virtual void ProcessElement2(const In2& value, Context& ctx, Collector<Out>& out) = 0;
  virtual void Close() {}
};

// Processes two connected streams keyed by the same key type K, with keyed state and timers
// shared by both inputs. Its Context is a KeyedProcessFunction's: current_key(),
// timer_service(), timestamp(), current_watermark() (the minimum over both inputs), and in
// OnTimer time_domain().
template <typename K, typename In1, typename In2, typename Out>
class KeyedCoProcessFunction {
 public:
  using Context = typename KeyedProcessFunction<K, In1, Out>::Context;

  virtual ~KeyedCoProcessFunction() = default;
  virtual void Open(RuntimeContext& ctx) {}
  virtual void ProcessElement1(const In1& value, Context& ctx, Collector<Out>& out) = 0;
  virtual void ProcessElement2(const In2& value, Context& ctx, Collector<Out>& out) = 0;
  // A timer registered for ctx.current_key() fired, from either input's records.
  virtual void OnTimer(int64_t timestamp, Context& ctx, Collector<Out>& out) {}
  virtual void Close() {}
};

// Called for each pair of an interval join (KeyedStream::IntervalJoin): a left record (of the
// stream IntervalJoin was called on) and a right one of the same key, whose timestamps are
// within the join's bounds. The output records get the later of the two timestamps.
template <typename In1, typename In2, typename Out>
class ProcessJoinFunction {
 public:
  class Context {
   public:
    int64_t left_timestamp() const { return left_; }
    int64_t right_timestamp() const { return right_; }
    // The output's timestamp: the larger of the two.
    int64_t timestamp() const { return left_ > right_ ? left_ : right_; }

    // For the engine.
    void Set(int64_t left, int64_t right) {
      left_ = left;
      right_ = right;
    }

   private:
    int64_t left_ = 0;
    int64_t right_ = 0;
  };

  virtual ~ProcessJoinFunction() = default;
  virtual void Open(RuntimeContext& ctx) {}
  virtual void ProcessElement(const In1& left, const In2& right, Context& ctx,
                              Collector<Out>& out) = 0;
  virtual void Close() {}
};

}  // namespace weir
