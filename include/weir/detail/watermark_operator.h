// Internal: the operator behind DataStream::AssignTimestampsAndWatermarks.
//
// Per batch: the assigner fills the timestamps, the generator sees them, the batch goes on,
// then any new watermark. Per auto-watermark interval: the generator's periodic emit and the
// idleness check. Upstream watermarks are dropped (this operator defines event time from here
// on), except the maximum one that ends a bounded input.
#pragma once

#include <memory>
#include <string>

#include "weir/detail/operators.h"
#include "weir/watermark.h"

namespace weir::detail {

template <typename T>
class TimestampsAndWatermarksOperator final : public TransformOperator<T, T> {
 public:
  explicit TimestampsAndWatermarksOperator(WatermarkStrategy<T> strategy)
      : strategy_(std::move(strategy)) {}

  void Open() override {
    try {
      auto interval = this->context().configuration().Get(kAutoWatermarkInterval);
      if (!interval.ok()) throw Failure(interval.status());
      interval_ms_ = std::max<int64_t>(1, interval->count());
      generator_ = strategy_.generator_factory()();
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    now_ = this->context().CurrentProcessingTime();
    next_periodic_ = now_ + interval_ms_;
  }

  void Accept(Batch<T>& in) override {
    this->records_in_.Add(in.records.size());
    try {
      if (strategy_.assigner()) {
        strategy_.assigner()(in.records, in.timestamps);
      } else if (!in.has_timestamps() && !in.records.empty()) {
        // No retry can fix the job's code.
        throw Failure(Status::InvalidArgument(
                          "records arrive without timestamps: give the WatermarkStrategy a "
                          "timestamp assigner (WithTimestampAssigner)")
                          .AsPermanent());
      }
      generator_->OnEvents(in.records, in.timestamps, output_);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    saw_records_ = true;
    MarkActive();
    this->out_->Accept(in);
    Forward();
  }

  int64_t NextPeriodicTime() const override { return next_periodic_; }

  void OnPeriodicTime(int64_t now) override {
    // Idleness counts only the time the task read its input: a task its outputs hold back
    // (backpressure) reads nothing, and records wait in its input that going idle would let
    // event time run past. As the sources' clock (source_operator.h); Flink's assigner counts
    // wall time.
    const uint64_t* reads = this->context().input_reads();
    if (reads == nullptr || *reads != reads_seen_) idle_clock_ += now - now_;
    if (reads != nullptr) reads_seen_ = *reads;
    now_ = now;
    next_periodic_ = now + interval_ms_;
    if (saw_records_) {
      last_record_ = idle_clock_;
      saw_records_ = false;
    }
    try {
      generator_->OnPeriodicEmit(output_);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    Forward();
    auto idleness = strategy_.idleness();
    if (idleness && idle_clock_ - last_record_ >= idleness->count()) MarkIdle();
  }

 protected:
  // Upstream event time is replaced by this operator's, except its end: the end of the
  // input's maximum watermark goes on, as an active one (an idle channel's is ignored).
  void ProcessWatermark(int64_t watermark) override {
    if (watermark != kMaxWatermark) return;
    MarkActive();
    this->EmitWatermark(watermark);
  }
  void ProcessWatermarkStatus(bool) override {}

 private:
  OperatorError Failure(const Status& s) const {
    return OperatorError(this->context().operator_name(), this->context().subtask_index(), s);
  }

  // Downstream ignores the watermarks of an idle output: one that was idle is marked active
  // before its next watermark or record, as Flink's outputs are.
  void MarkActive() {
    if (!idle_) return;
    idle_ = false;
    this->watermark_output_->AcceptWatermarkStatus(false);
  }
  void MarkIdle() {
    if (idle_) return;
    idle_ = true;
    this->watermark_output_->AcceptWatermarkStatus(true);
  }

  // Passes on what the generator emitted, if it advanced event time.
  void Forward() {
    if (output_.idle()) {
      MarkIdle();
      return;
    }
    if (output_.watermark() > emitted_) {
      MarkActive();
      emitted_ = output_.watermark();
      this->EmitWatermark(emitted_);
    }
  }

  WatermarkStrategy<T> strategy_;
  std::unique_ptr<WatermarkGenerator<T>> generator_;
  WatermarkOutput output_;
  int64_t interval_ms_ = 200;
  int64_t emitted_ = kMinWatermark;
  int64_t now_ = 0;          // of the last periodic call
  int64_t idle_clock_ = 0;   // milliseconds the task read its input for, since Open
  int64_t last_record_ = 0;  // on idle_clock_
  uint64_t reads_seen_ = 0;  // input_reads() at the last periodic call
  int64_t next_periodic_ = 0;
  bool saw_records_ = false;
  bool idle_ = false;
};

}  // namespace weir::detail
