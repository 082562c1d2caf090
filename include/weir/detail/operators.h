// Internal: the built-in operators behind DataStream's map, filter, flat_map and process.
//
// Each is a template over the user's function type, so the per-record call is a direct,
// inlinable call; the only virtual call is Accept(), once per batch. Exceptions from user code
// are turned into OperatorError naming the operator (see RethrowAsOperatorError).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/hash.h"
#include "weir/detail/operator.h"
#include "weir/functions.h"

namespace weir::detail {

template <typename In>
class OneInputOperator : public StreamOperator, public BatchConsumer<In> {
 public:
  void* typed_input() override { return static_cast<BatchConsumer<In>*>(this); }
  const std::type_info* input_type() const override { return &typeid(In); }
  void AcceptErased(BatchBase& batch) override { this->Accept(static_cast<Batch<In>&>(batch)); }
  // From the operator before it in the chain.
  void AcceptWatermark(int64_t watermark) override { this->HandleWatermark(watermark); }
  void AcceptWatermarkStatus(bool idle) override { this->ProcessWatermarkStatus(idle); }
};

template <typename In, typename Out>
class TransformOperator : public OneInputOperator<In> {
 public:
  void SetTypedOutput(void* consumer) override {
    out_ = static_cast<BatchConsumer<Out>*>(consumer);
    this->watermark_output_ = out_;
  }
  const std::type_info* output_type() const override { return &typeid(Out); }

 protected:
  BatchConsumer<Out>* out_ = nullptr;
};

template <typename In, typename Out, typename F>
class MapOperator final : public TransformOperator<In, Out> {
 public:
  explicit MapOperator(F fn) : fn_(std::move(fn)) {}

  void Accept(Batch<In>& in) override {
    this->records_in_.Add(in.records.size());
    try {
      if constexpr (std::is_same_v<In, Out>) {
        // Same type: transform in place and pass the same batch on.
        for (auto& r : in.records) r = Call(r);
        this->out_->Accept(in);
      } else {
        out_buf_.records.reserve(in.records.size());
        if constexpr (kEmplacesResult) {
          for (auto& r : in.records) out_buf_.records.emplace_back(Mapped{this, &r});
        } else {
          for (auto& r : in.records) out_buf_.records.push_back(Call(r));
        }
        out_buf_.timestamps.swap(in.timestamps);  // one per record, unchanged
        this->out_->Accept(out_buf_);
        out_buf_.clear();
      }
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

 private:
  // The record is not used again: a function taking it by value gets it moved in.
  Out Call(In& r) {
    if constexpr (std::is_invocable_v<F&, In&&>) {
      return fn_(std::move(r));
    } else {
      return fn_(std::as_const(r));
    }
  }

  // Converts to the function's result for emplace_back, which then constructs it in the batch
  // (the prvalue is not moved again: a short string's move copies its bytes).
  struct Mapped {
    MapOperator* op;
    In* record;
    operator Out() const { return op->Call(*record); }
  };
  // Not for a type with a constructor that takes anything (std::any, say): it would hold the
  // Mapped itself.
  struct Unrelated {};
  static constexpr bool kEmplacesResult = !std::is_constructible_v<Out, Unrelated>;

  F fn_;
  Batch<Out> out_buf_;
};

template <typename T, typename F>
class FilterOperator final : public TransformOperator<T, T> {
 public:
  explicit FilterOperator(F fn) : fn_(std::move(fn)) {}

  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    try {
      if (in.has_timestamps()) {
        Compact<true>(in);
      } else {
        Compact<false>(in);
      }
      if (!in.records.empty()) this->out_->Accept(in);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

  // A fan-out's batch: only the records that pass are copied (the others never were).
  void AcceptShared(const Batch<T>& in, Batch<T>& scratch) override {
    if constexpr (std::is_copy_constructible_v<T>) {
      this->records_in_.Add(in.records.size());
      try {
        for (size_t i = 0; i < in.records.size(); ++i) {
          if (!fn_(in.records[i])) continue;
          scratch.records.push_back(in.records[i]);
          if (in.has_timestamps()) scratch.timestamps.push_back(in.timestamps[i]);
        }
        if (!scratch.records.empty()) this->out_->Accept(scratch);
      } catch (...) {
        RethrowAsOperatorError(this->context());
      }
    } else {
      BatchConsumer<T>::AcceptShared(in, scratch);
    }
  }

 private:
  // In place: no copy of the records that pass.
  template <bool kTimestamps>
  void Compact(Batch<T>& in) {
    auto& records = in.records;
    size_t kept = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      if (fn_(std::as_const(records[i]))) {
        if (kept != i) {
          records[kept] = std::move(records[i]);
          if constexpr (kTimestamps) in.timestamps[kept] = in.timestamps[i];
        }
        ++kept;
      }
    }
    records.erase(records.begin() + static_cast<std::ptrdiff_t>(kept), records.end());
    if constexpr (kTimestamps) in.timestamps.resize(kept);
  }

  F fn_;
};

template <typename In, typename Out, typename F>
class FlatMapOperator final : public TransformOperator<In, Out> {
 public:
  explicit FlatMapOperator(F fn) : fn_(std::move(fn)) {}

  void Open() override { batch_size_ = this->context().batch_size(); }

  void Accept(Batch<In>& in) override {
    Process(in, [this](In& r, Collector<Out>& out) { Call(r, out); });
  }

  // A fan-out's batch, which the other branches read too. A function that takes the record
  // by const reference gets it so, and copies only what it emits (a filter-like function
  // then copies no more than FilterOperator would); any other gets a copy of the batch.
  void AcceptShared(const Batch<In>& in, Batch<In>& scratch) override {
    if constexpr (std::is_invocable_v<F&, const In&, Collector<Out>&>) {
      Process(in, [this](const In& r, Collector<Out>& out) { fn_(r, out); });
    } else {
      BatchConsumer<In>::AcceptShared(in, scratch);
    }
  }

 private:
  template <typename InBatch, typename Each>
  void Process(InBatch& in, Each each) {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    try {
      if (in.has_timestamps()) {
        for (size_t i = 0; i < in.records.size(); ++i) {
          out.SetTimestamp(in.timestamps[i]);
          each(in.records[i], out);
        }
      } else {
        for (auto& r : in.records) each(r, out);
      }
      out.Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  // As in MapOperator: the record is not used again, so a function taking it by value gets
  // it moved in (and can move its parts into what it emits).
  void Call(In& r, Collector<Out>& out) {
    if constexpr (std::is_invocable_v<F&, In&&, Collector<Out>&>) {
      fn_(std::move(r), out);
    } else {
      fn_(std::as_const(r), out);
    }
  }

  F fn_;
  size_t batch_size_ = 1024;
  Batch<Out> out_buf_;
};

// The head of a stream made by GetSideOutput: passes on what its operator emits to the tag.
template <typename T>
class SideOutputTap final : public TransformOperator<T, T> {
 public:
  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    this->out_->Accept(in);
  }
};

// Runs a ProcessFunction on a stream that is not keyed.
template <typename In, typename Out, typename F>
class ProcessOperator final : public TransformOperator<In, Out> {
 public:
  explicit ProcessOperator(F fn) : fn_(std::move(fn)) {}

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

  void Accept(Batch<In>& in) override {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    typename F::Context ctx(this->context(), &this->side_outputs());
    try {
      for (size_t i = 0; i < in.records.size(); ++i) {
        if (in.has_timestamps()) {
          out.SetTimestamp(in.timestamps[i]);
          ctx.SetTimestamp(&in.timestamps[i]);
        }
        fn_.ProcessElement(in.records[i], ctx, out);
      }
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

 private:
  F fn_;
  size_t batch_size_ = 1024;
  std::unique_ptr<RuntimeContext> runtime_context_;
  Batch<Out> out_buf_;
};

// Key types for which == holds exactly when the encoded bytes are equal, so an equal key
// needs no new lookup. Not floating point: 0.0 == -0.0, and their bytes differ.
template <typename K>
inline constexpr bool kEqualKeysEncodeEqually =
    codec_internal::kIntegerKey<K> || std::is_same_v<K, std::string>;

// Runs a KeyedProcessFunction: sets the current key for state and timers, then calls it.
template <typename K, typename In, typename Out, typename F, typename KeySelector>
class KeyedProcessOperator final : public TransformOperator<In, Out> {
 public:
  KeyedProcessOperator(F fn, KeySelector key_selector)
      : fn_(std::move(fn)), key_selector_(std::move(key_selector)) {}

  void Open() override {
    batch_size_ = this->context().batch_size();
    keyed_ = this->context().keyed_state();
    timers_ = this->context().timer_service();
    runtime_context_ = std::make_unique<RuntimeContext>(&this->context());
    try {
      keyed_->DeclareKeyCodec(CodecIdentity<K>());
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

  void Accept(Batch<In>& in) override {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    typename F::Context ctx(&key_, TimerService(timers_), &this->side_outputs());
    try {
      // Out of line (and only two call sites of ProcessElement): GCC keeps inlining the user
      // function into the plain loop, as it did before event time.
      if (in.has_timestamps() || keyed_->wants_key_prefetch()) [[unlikely]] {
        const int64_t* timestamps = in.has_timestamps() ? in.timestamps.data() : nullptr;
        ProcessKeysFirst(in.records, timestamps, ctx, out);
      } else if constexpr (kEqualKeysEncodeEqually<K>) {
        // A run of records with one key (the seed job has a single key) sets the backend's
        // key once per run: nothing but SetCurrentKey changes it while the batch runs.
        bool key_set = false;
        for (const auto& r : in.records) {
          K key = key_selector_(r);
          if (!key_set || !(key == key_)) {
            key_ = std::move(key);
            keyed_->SetCurrentKey(encoder_.Encode(key_));
            key_set = true;
          }
          fn_.ProcessElement(r, ctx, out);
        }
      } else {
        for (const auto& r : in.records) {
          key_ = key_selector_(r);
          keyed_->SetCurrentKey(encoder_.Encode(key_));
          fn_.ProcessElement(r, ctx, out);
        }
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
    typename F::Context ctx(&key_, TimerService(timers_), &this->side_outputs());
    // As Flink's: the context and side outputs carry the timer's time, the main output none.
    ctx.SetTimestamp(&timestamp);
    try {
      FireTimer(timestamp, key_bytes, ctx, out);
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

 protected:
  // Fires the event-time timers the watermark passed, in timestamp order, then passes the
  // watermark on: what they emit comes before it, as it must.
  void ProcessWatermark(int64_t watermark) override {
    Collector<Out> out(&out_buf_, batch_size_, this->out_);
    typename F::Context ctx(&key_, TimerService(timers_), &this->side_outputs());
    ctx.SetTimeDomain(TimeDomain::kEventTime);
    try {
      int64_t timestamp;
      while (timers_->PopDueEventTimer(watermark, &timestamp, &timer_key_)) {
        out.SetTimestamp(timestamp);  // what a timer emits carries the timer's time
        ctx.SetTimestamp(&timestamp);
        FireTimer(timestamp, timer_key_, ctx, out);
      }
      out.Flush();
    } catch (...) {
      out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
    this->EmitWatermark(watermark);
  }

 private:
  void FireTimer(int64_t timestamp, std::string_view key_bytes, typename F::Context& ctx,
                 Collector<Out>& out) {
    if (!DecodeFromString(key_bytes, key_)) {
      throw StateError("a timer's key does not decode as the stream's key type");
    }
    keyed_->SetCurrentKey(key_bytes);
    fn_.OnTimer(timestamp, ctx, out);
  }

  // The batch's keys are selected and hashed first. With many keys that lets the backend fetch
  // the index entries of the next keys while a record is processed; otherwise each lookup is
  // a cache miss that its record waits for alone. With event time, each output record gets
  // the timestamp of the record it was emitted for (`timestamps`: one per record, or null).
  [[gnu::noinline]] void ProcessKeysFirst(const std::vector<In>& records,
                                          const int64_t* timestamps,
                        typename F::Context& ctx, Collector<Out>& out) {
    const size_t n = records.size();
    keys_.resize(n);
    hashes_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      keys_[i] = key_selector_(records[i]);
      if constexpr (kEqualKeysEncodeEqually<K>) {
        if (i > 0 && keys_[i] == keys_[i - 1]) {  // a run of one key: hashed once
          hashes_[i] = hashes_[i - 1];
          continue;
        }
      }
      hashes_[i] = KeyHash(encoder_.Encode(keys_[i]));
    }
    const bool prefetch = keyed_->wants_key_prefetch();
    for (size_t i = 0; i < n; ++i) {
      if (prefetch && i % kPrefetchAhead == 0) {  // keeps kPrefetchAhead..2*kPrefetchAhead in flight
        size_t from = i == 0 ? 0 : i + kPrefetchAhead;
        size_t to = std::min(n, i + 2 * kPrefetchAhead);
        if (from < to) keyed_->PrefetchKeys(&hashes_[from], to - from);
      }
      // As in the plain loop: a run of one key sets the backend's key once. key_ holds the
      // previous record's key (i > 0), and nothing else changes the backend's while a batch runs.
      bool same_key = false;
      if constexpr (kEqualKeysEncodeEqually<K>) same_key = i > 0 && keys_[i] == key_;
      if (!same_key) {
        key_ = std::move(keys_[i]);
        keyed_->SetCurrentKey(encoder_.Encode(key_), hashes_[i]);
      }
      if (timestamps != nullptr) {
        out.SetTimestamp(timestamps[i]);
        ctx.SetTimestamp(&timestamps[i]);
      }
      fn_.ProcessElement(records[i], ctx, out);
    }
  }

  F fn_;
  KeySelector key_selector_;
  size_t batch_size_ = 1024;
  KeyedStateAccess* keyed_ = nullptr;
  TimerServiceAccess* timers_ = nullptr;
  std::unique_ptr<RuntimeContext> runtime_context_;
  static constexpr size_t kPrefetchAhead = 16;
  K key_{};
  KeyEncoder<K> encoder_;
  std::vector<K> keys_;  // the batch's keys and their hashes, reused across batches
  std::vector<uint64_t> hashes_;
  std::string timer_key_;
  Batch<Out> out_buf_;
};

}  // namespace weir::detail
