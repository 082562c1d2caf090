// Internal: the operators behind Union and connected streams (co-map, co-flat-map,
// co-process, keyed co-process).
//
// A union is a pass-through at the head of a task whose input gate holds the channels of
// every unioned stream. The others are TwoInputStreamOperators (weir/detail/two_input_operator.h):
// templates over the user's functions, so the per-record call is direct; the only virtual
// call is the batch's. Exceptions from user code become OperatorErrors naming the operator.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "weir/co_functions.h"
#include "weir/codec.h"
#include "weir/detail/operators.h"
#include "weir/detail/two_input_operator.h"

namespace weir::detail {

// The records of every input of a union, passed on as they come.
template <typename T>
class UnionOperator final : public TransformOperator<T, T> {
 public:
  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    this->out_->Accept(in);
  }
};

// Runs `call(record, out)` for each record of `in`, each output getting its record's
// timestamp (if the batch has them); flushes at the end.
template <typename In, typename Out, typename Call>
void ForEachWithTimestamps(Batch<In>& in, Collector<Out>& out, Call&& call) {
  if (in.has_timestamps()) {
    for (size_t i = 0; i < in.records.size(); ++i) {
      out.SetTimestamp(in.timestamps[i]);
      call(in.records[i], i);
    }
  } else {
    for (size_t i = 0; i < in.records.size(); ++i) call(in.records[i], i);
  }
  out.Flush();
}

// Map(fn1, fn2): one output per input record, fn1(const In1&) or fn2(const In2&) -> Out.
template <typename In1, typename In2, typename Out, typename F1, typename F2>
class CoMapOperator final : public TwoInputTransformOperator<In1, In2, Out> {
 public:
  CoMapOperator(F1 fn1, F2 fn2) : fn1_(std::move(fn1)), fn2_(std::move(fn2)) {}

 protected:
  void Accept1(Batch<In1>& in) override { Run(in, fn1_); }
  void Accept2(Batch<In2>& in) override { Run(in, fn2_); }

 private:
  template <typename In, typename F>
  void Run(Batch<In>& in, F& fn) {
    this->records_in_.Add(in.records.size());
    try {
      out_buf_.records.reserve(in.records.size());
      for (const auto& r : in.records) out_buf_.records.push_back(fn(r));
      out_buf_.timestamps.swap(in.timestamps);  // one per record, unchanged
      this->out_->Accept(out_buf_);
      out_buf_.clear();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  F1 fn1_;
  F2 fn2_;
  Batch<Out> out_buf_;
};

// FlatMap(fn1, fn2): fn1(const In1&, Collector<Out>&), fn2(const In2&, Collector<Out>&).
template <typename In1, typename In2, typename Out, typename F1, typename F2>
class CoFlatMapOperator final : public TwoInputTransformOperator<In1, In2, Out> {
 public:
  CoFlatMapOperator(F1 fn1, F2 fn2) : fn1_(std::move(fn1)), fn2_(std::move(fn2)) {}

  void Open() override { batch_size_ = this->context().batch_size(); }

 protected:
  void Accept1(Batch<In1>& in) override { Run(in, fn1_); }
  void Accept2(Batch<In2>& in) override { Run(in, fn2_); }

 private:
  template <typename In, typename F>
  void Run(Batch<In>& in, F& fn) {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    try {
      ForEachWithTimestamps(in, out, [&](const In& r, size_t) { fn(r, out); });
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  F1 fn1_;
  F2 fn2_;
  size_t batch_size_ = 1024;
  Batch<Out> out_buf_;
};

// Runs a CoProcessFunction (no keyed state, no timers).
template <typename In1, typename In2, typename Out, typename F>
class CoProcessOperator final : public TwoInputTransformOperator<In1, In2, Out> {
 public:
  explicit CoProcessOperator(F fn) : fn_(std::move(fn)) {}

  void Open() override {
    batch_size_ = this->context().batch_size();
    runtime_context_ = std::make_unique<RuntimeContext>(&this->context());
    try {
      fn_.Open(*runtime_context_);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }
  void Close() override {
    try {
      fn_.Close();
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

 protected:
  void Accept1(Batch<In1>& in) override {
    Run(in, [this](const In1& r, auto& ctx, auto& out) { fn_.ProcessElement1(r, ctx, out); });
  }
  void Accept2(Batch<In2>& in) override {
    Run(in, [this](const In2& r, auto& ctx, auto& out) { fn_.ProcessElement2(r, ctx, out); });
  }

 private:
  template <typename In, typename Call>
  void Run(Batch<In>& in, Call call) {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    typename F::Context ctx(this, &this->context());
    try {
      const int64_t* ts = in.has_timestamps() ? in.timestamps.data() : nullptr;
      ForEachWithTimestamps(in, out, [&](const In& r, size_t i) {
        if (ts != nullptr) ctx.SetTimestamp(&ts[i]);
        call(r, ctx, out);
      });
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  F fn_;
  size_t batch_size_ = 1024;
  std::unique_ptr<RuntimeContext> runtime_context_;
  Batch<Out> out_buf_;
};

// The keyed part shared by two-input keyed operators: the current key for state and timers,
// and the key selector of each input.
template <typename K, typename In1, typename In2, typename Out, typename S1, typename S2>
class KeyedTwoInputOperator : public TwoInputTransformOperator<In1, In2, Out> {
 public:
  KeyedTwoInputOperator(S1 sel1, S2 sel2) : sel1_(std::move(sel1)), sel2_(std::move(sel2)) {}

 protected:
  // Call from Open.
  void OpenKeyed() {
    batch_size_ = this->context().batch_size();
    keyed_ = this->context().keyed_state();
    timers_ = this->context().timer_service();
    runtime_context_ = std::make_unique<RuntimeContext>(&this->context());
    keyed_->DeclareKeyCodec(CodecIdentity<K>());
  }
  void SetKeyOf1(const In1& r) {
    key_ = sel1_(r);
    keyed_->SetCurrentKey(encoder_.Encode(key_));
  }
  void SetKeyOf2(const In2& r) {
    key_ = sel2_(r);
    keyed_->SetCurrentKey(encoder_.Encode(key_));
  }
  // A timer's key: decoded into key_ and made current.
  void SetTimerKey(std::string_view key_bytes) {
    if (!DecodeFromString(key_bytes, key_)) {
      throw StateError("a timer's key does not decode as the stream's key type");
    }
    keyed_->SetCurrentKey(key_bytes);
  }

  S1 sel1_;
  S2 sel2_;
  size_t batch_size_ = 1024;
  KeyedStateAccess* keyed_ = nullptr;
  TimerServiceAccess* timers_ = nullptr;
  std::unique_ptr<RuntimeContext> runtime_context_;
  K key_{};
  KeyEncoder<K> encoder_;
  std::string timer_key_;
  Batch<Out> out_buf_;
};

// Runs a KeyedCoProcessFunction: keyed state and timers shared by both inputs.
template <typename K, typename In1, typename In2, typename Out, typename F, typename S1,
          typename S2>
class KeyedCoProcessOperator final : public KeyedTwoInputOperator<K, In1, In2, Out, S1, S2> {
  using Base = KeyedTwoInputOperator<K, In1, In2, Out, S1, S2>;

 public:
  KeyedCoProcessOperator(F fn, S1 sel1, S2 sel2)
      : Base(std::move(sel1), std::move(sel2)), fn_(std::move(fn)) {}

  void Open() override {
    try {
      this->OpenKeyed();
      fn_.Open(*this->runtime_context_);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }
  void Close() override {
    try {
      fn_.Close();
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

  void OnProcessingTime(int64_t timestamp, std::string_view key_bytes) override {
    Collector<Out> out(&this->out_buf_, this->batch_size_, this->out_);
    typename F::Context ctx(&this->key_, TimerService(this->timers_), &this->side_outputs());
    ctx.SetTimestamp(&timestamp);  // the timer's time, as in OnProcessingTime of operators.h
    try {
      this->SetTimerKey(key_bytes);
      fn_.OnTimer(timestamp, ctx, out);
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      this->out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

 protected:
  void Accept1(Batch<In1>& in) override {
    Run(in, [this](const In1& r, auto& ctx, auto& out) {
      this->SetKeyOf1(r);
      fn_.ProcessElement1(r, ctx, out);
    });
  }
  void Accept2(Batch<In2>& in) override {
    Run(in, [this](const In2& r, auto& ctx, auto& out) {
      this->SetKeyOf2(r);
      fn_.ProcessElement2(r, ctx, out);
    });
  }

  // Fires the event-time timers the watermark passed, then passes the watermark on.
  void ProcessWatermark(int64_t watermark) override {
    Collector<Out> out(&this->out_buf_, this->batch_size_, this->out_);
    typename F::Context ctx(&this->key_, TimerService(this->timers_), &this->side_outputs());
    ctx.SetTimeDomain(TimeDomain::kEventTime);
    try {
      int64_t timestamp;
      while (this->timers_->PopDueEventTimer(watermark, &timestamp, &this->timer_key_)) {
        out.SetTimestamp(timestamp);
        ctx.SetTimestamp(&timestamp);
        this->SetTimerKey(this->timer_key_);
        fn_.OnTimer(timestamp, ctx, out);
      }
      out.Flush();
    } catch (...) {
      this->out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
    this->EmitWatermark(watermark);
  }

 private:
  template <typename In, typename Call>
  void Run(Batch<In>& in, Call call) {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&this->out_buf_, this->batch_size_, this->out_);
    typename F::Context ctx(&this->key_, TimerService(this->timers_), &this->side_outputs());
    try {
      const int64_t* ts = in.has_timestamps() ? in.timestamps.data() : nullptr;
      ForEachWithTimestamps(in, out, [&](const In& r, size_t i) {
        if (ts != nullptr) ctx.SetTimestamp(&ts[i]);
        call(r, ctx, out);
      });
      this->side_outputs().Flush();
    } catch (...) {
      this->out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  F fn_;
};

}  // namespace weir::detail
