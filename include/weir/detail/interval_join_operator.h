// Internal: the operator behind KeyedStream::IntervalJoin (Flink's IntervalJoinOperator).
//
// Each side's records wait in keyed MapState, bucketed by timestamp (a list per timestamp).
// A record joins with the other side's buffered records of its key whose timestamps are in
// its range: for a left record at t, right timestamps in [t + lower, t + upper]; for a right
// one at t, left ones in [t - upper, t - lower] (bounds made inclusive by the builder). It
// is then buffered itself, and an event-time timer removes its bucket once the watermark
// passes the last time a record of the other side could still join it. A record behind the
// watermark is late: it goes to the side output its side names, if any, else it is dropped,
// as in Flink. After a restore it is also late behind the
// watermark its key group had when the checkpoint was taken (KeyGroupWatermarks), where
// Flink's starts from nothing and joins a record replayed late as if it were on time. Event
// time only: a record without a timestamp fails the task.
//
// One timer per key and time serves both sides: the timer at c removes the left bucket
// whose cleanup time is c and the right one whose cleanup time is c; either may be absent.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weir/co_functions.h"
#include "weir/detail/co_operators.h"
#include "weir/detail/key_group_watermarks.h"
#include "weir/functions.h"
#include "weir/output_tag.h"
#include "weir/state.h"

namespace weir::detail {

template <typename K, typename L, typename R, typename Out, typename F, typename S1, typename S2>
class IntervalJoinOperator final : public KeyedTwoInputOperator<K, L, R, Out, S1, S2> {
  using Base = KeyedTwoInputOperator<K, L, R, Out, S1, S2>;

 public:
  // `lower` <= `upper`, both inclusive (exclusive bounds already moved by one). Late records
  // of each side go to its tag's side output, if it has one.
  IntervalJoinOperator(F fn, S1 sel1, S2 sel2, int64_t lower, int64_t upper,
                       std::optional<OutputTag<L>> left_late,
                       std::optional<OutputTag<R>> right_late)
      : Base(std::move(sel1), std::move(sel2)),
        fn_(std::move(fn)),
        lower_(lower),
        upper_(upper),
        left_late_(std::move(left_late)),
        right_late_(std::move(right_late)) {}

  void Open() override {
    try {
      this->OpenKeyed();
      left_ = this->runtime_context_->GetMapState(
          MapStateDescriptor<int64_t, std::vector<L>>("interval-join.left"));
      right_ = this->runtime_context_->GetMapState(
          MapStateDescriptor<int64_t, std::vector<R>>("interval-join.right"));
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

  void InitializeState(const OperatorState& restored) override {
    try {
      restored_watermarks_.Restore(restored, this->context());
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }
  void SnapshotState(int64_t, OperatorSnapshot* out) override {
    restored_watermarks_.Snapshot(this->current_watermark(), /*sliced=*/false, out);
  }

 protected:
  void Accept1(Batch<L>& in) override {
    Run(in, [this](const L& r, int64_t t, Collector<Out>& out) {
      this->SetKeyOf1(r);
      if (IsLate(t)) return SideOutputOrDrop(left_late_, r, t);
      Buffer(left_, r, t);
      Matching(right_, t + lower_, t + upper_, &right_matches_);
      for (const auto& [rt, records] : right_matches_) {
        for (const R& other : records) Emit(r, t, other, rt, out);
      }
      this->timers_->RegisterEventTimeTimer(upper_ > 0 ? t + upper_ : t);
    });
  }
  void Accept2(Batch<R>& in) override {
    Run(in, [this](const R& r, int64_t t, Collector<Out>& out) {
      this->SetKeyOf2(r);
      if (IsLate(t)) return SideOutputOrDrop(right_late_, r, t);
      Buffer(right_, r, t);
      Matching(left_, t - upper_, t - lower_, &left_matches_);
      for (const auto& [lt, records] : left_matches_) {
        for (const L& other : records) Emit(other, lt, r, t, out);
      }
      this->timers_->RegisterEventTimeTimer(lower_ < 0 ? t - lower_ : t);
    });
  }

  // Removes the buckets whose records can join nothing more, then passes the watermark on.
  void ProcessWatermark(int64_t watermark) override {
    try {
      restored_watermarks_.Advance(watermark);
      int64_t c;
      while (this->timers_->PopDueEventTimer(watermark, &c, &this->timer_key_)) {
        this->SetTimerKey(this->timer_key_);
        left_.Remove(upper_ > 0 ? c - upper_ : c);
        right_.Remove(lower_ < 0 ? c + lower_ : c);
      }
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    this->EmitWatermark(watermark);
  }

 private:
  // For the current key: behind the watermark, or the one restored for its key group.
  bool IsLate(int64_t t) const {
    int64_t w = this->current_watermark();
    if (restored_watermarks_.Active()) {
      w = std::max(w, restored_watermarks_.FloorOf(this->keyed_->current_key_bytes()));
    }
    return w != kMinWatermark && t < w;
  }

  // A late record: to its side's late-data output, if it has one.
  template <typename V>
  void SideOutputOrDrop(const std::optional<OutputTag<V>>& tag, const V& record, int64_t t) {
    if (tag) EmitToSideOutput(this->side_outputs(), *tag, record, &t);
  }

  // The buckets of `buffer` with timestamps in [from, to], copied out: only those, and the user
  // function is not called while the state is being iterated.
  template <typename V>
  static void Matching(const MapState<int64_t, std::vector<V>>& buffer, int64_t from, int64_t to,
                       std::vector<std::pair<int64_t, std::vector<V>>>* out) {
    out->clear();
    buffer.ForEach([&](const int64_t& t, const std::vector<V>& records) {
      if (t >= from && t <= to) out->emplace_back(t, records);
    });
  }

  template <typename V>
  static void Buffer(MapState<int64_t, std::vector<V>>& buffer, const V& r, int64_t t) {
    std::vector<V> bucket = buffer.Get(t).value_or(std::vector<V>{});
    bucket.push_back(r);
    buffer.Put(t, std::move(bucket));
  }

  void Emit(const L& l, int64_t lt, const R& r, int64_t rt, Collector<Out>& out) {
    join_ctx_.Set(lt, rt);
    out.SetTimestamp(std::max(lt, rt));
    fn_.ProcessElement(l, r, join_ctx_, out);
  }

  template <typename In, typename Call>
  void Run(Batch<In>& in, Call call) {
    this->records_in_.Add(in.records.size());
    Collector<Out> out(&this->out_buf_, this->batch_size_, this->out_);
    try {
      if (!in.has_timestamps() && !in.records.empty()) {
        // No restart can fix the job's code.
        throw StateError(
            Status::InvalidArgument("an interval join needs records with event timestamps: assign "
                                    "them with AssignTimestampsAndWatermarks before the join")
                .AsPermanent());
      }
      for (size_t i = 0; i < in.records.size(); ++i) call(in.records[i], in.timestamps[i], out);
      out.Flush();
      this->side_outputs().Flush();
    } catch (...) {
      this->out_buf_.clear();
      RethrowAsOperatorError(this->context());
    }
  }

  F fn_;
  int64_t lower_;
  int64_t upper_;
  std::optional<OutputTag<L>> left_late_;
  std::optional<OutputTag<R>> right_late_;
  MapState<int64_t, std::vector<L>> left_;
  MapState<int64_t, std::vector<R>> right_;
  std::vector<std::pair<int64_t, std::vector<L>>> left_matches_;  // reused across records
  std::vector<std::pair<int64_t, std::vector<R>>> right_matches_;
  typename F::Context join_ctx_;
  KeyGroupWatermarks restored_watermarks_;
};

}  // namespace weir::detail
