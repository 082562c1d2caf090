// Internal: SourceReaderOperator, the operator that runs one SourceReader (weir/source.h) in a
// task, behind env.FromSource, FromSequence and FromCollection.
//
// Per EmitNext: take what the enumerator sent (SplitInbox), poll the reader once into a batch,
// send the batch on. The reader's splits are operator state (a split list named by the source,
// so a rescale deals them out again). With a WatermarkStrategy, records get timestamps from
// its assigner and each split has its own generator; the operator's watermark is the minimum
// over the reader's unfinished splits. With watermark alignment, the operator is a member of
// its group (watermark_alignment.h): it reports each watermark it emits, and does not poll
// the reader while that is more than the max drift ahead of the group's.
// Thread-safety: owned by its task thread.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weir/detail/source_coordinator.h"
#include "weir/detail/sources.h"
#include "weir/detail/watermark_alignment.h"
#include "weir/watermark.h"

namespace weir::detail {

template <typename T, typename Split, typename EnumState>
class SourceReaderOperator final : public SourceOperator<T>, private SourceReaderContext {
 public:
  using SourceT = Source<T, Split, EnumState>;

  SourceReaderOperator(std::shared_ptr<const SourceT> source,
                       std::optional<WatermarkStrategy<T>> strategy)
      : source_(std::move(source)),
        strategy_(std::move(strategy)),
        output_(&batch_, this, strategy_ ? &OnSplitHook : nullptr,
                strategy_ ? &OnReleaseHook : nullptr, &spare_) {}

  void InitializeState(const OperatorState& restored) override {
    const std::string list_name = source_->split_state_name();
    std::vector<Split> splits;
    for (const auto& list : restored) {
      if (list.name != list_name) continue;
      for (const auto& e : list.elements) {
        Split split;
        if (!DecodeFromString(e, split)) {
          throw StateError(Status::Corruption("source '" + this->context().operator_name() +
                                              "': a restored split in '" + list_name +
                                              "' does not decode")
                               .AsPermanent());
        }
        splits.push_back(std::move(split));
      }
    }
    reader_ = source_->CreateReader(*this);
    // A restored split that does not fit is the reader's to refuse (a StateError).
    if (!splits.empty()) reader_->AddSplits(std::move(splits));
  }

  void Open() override {
    coordinator_ = this->context().source_coordinator();
    if (coordinator_ == nullptr) {
      throw OperatorError(this->context().operator_name(), this->context().subtask_index(),
                          Status::Internal("the source has no enumerator to talk to"));
    }
    try {
      inbox_ = coordinator_->RegisterReader(this->context().subtask_index(), this->wakeup_);
      if (strategy_) {
        auto interval = this->context().configuration().Get(kAutoWatermarkInterval);
        if (!interval.ok()) {
          throw OperatorError(this->context().operator_name(), this->context().subtask_index(),
                              interval.status());
        }
        interval_ms_ = std::max<int64_t>(1, interval->count());
        last_periodic_ms_ = this->context().CurrentProcessingTime();
        next_periodic_ = last_periodic_ms_ + interval_ms_;
        if (const auto& alignment = strategy_->alignment()) JoinAlignmentGroup(*alignment);
      }
      reader_->Start();
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

  SourceStatus EmitNext(size_t max_records) override {
    // Paused: not polled (nor counted as polled for idleness), until the group's watermark
    // advances and wakes the task.
    if (alignment_ && AheadOfGroup()) return SourceStatus::kNothingAvailable;
    polled_since_periodic_ = true;
    InputStatus status = InputStatus::kMoreAvailable;
    try {
      // A reader that runs out asks for a split, and the answer (from this thread) is
      // usually in the inbox at once: a second poll takes it without a trip round the loop.
      for (int round = 0; round < 2; ++round) {
        if (inbox_->MaybeHasEvents()) TakeFromInbox(released_);
        output_.set_limit(max_records);
        status = reader_->PollNext(output_);
        if (status != InputStatus::kNothingAvailable || output_.room() == 0 ||
            !inbox_->MaybeHasEvents() || !inbox_->HasEventsThrough(released_)) {
          break;
        }
      }
      if (!batch_.records.empty()) Flush();
    } catch (const StateError&) {
      throw;
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    switch (status) {
      case InputStatus::kMoreAvailable:
        return SourceStatus::kMoreAvailable;
      case InputStatus::kEndOfInput:
        if (alignment_) alignment_->Report(kMaxWatermark);
        return SourceStatus::kEndOfInput;
      case InputStatus::kNothingAvailable:
        // A split that arrived meanwhile: poll again rather than sleep.
        if (inbox_->MaybeHasEvents() && inbox_->HasEventsThrough(released_)) {
          return SourceStatus::kMoreAvailable;
        }
        return SourceStatus::kNothingAvailable;
    }
    return SourceStatus::kMoreAvailable;
  }

  void SnapshotState(int64_t checkpoint_id, OperatorSnapshot* out) override {
    OperatorStateList list{source_->split_state_name(), OperatorStateList::Mode::kSplit, {}};
    try {
      // What the enumerator assigned before its snapshot for this checkpoint is the reader's.
      if (inbox_->MaybeHasEvents()) TakeFromInbox(checkpoint_id - 1);
      for (const Split& s : reader_->SnapshotState(checkpoint_id)) {
        list.elements.push_back(EncodeToString(s));
      }
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    released_ = std::max(released_, checkpoint_id);
    out->state.push_back(std::move(list));
  }

  void NotifyCheckpointComplete(int64_t checkpoint_id) override {
    released_ = std::max(released_, checkpoint_id);
    try {
      reader_->NotifyCheckpointComplete(checkpoint_id);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }
  void NotifyCheckpointAborted(int64_t checkpoint_id) override {
    released_ = std::max(released_, checkpoint_id);
  }

  void Close() override {
    if (reader_) reader_->Close();
  }

  int64_t NextPeriodicTime() const override {
    return strategy_ ? next_periodic_ : kMaxWatermark;
  }
  void OnPeriodicTime(int64_t now_ms) override {
    next_periodic_ = now_ms + interval_ms_;
    // Idleness counts only the time the reader was asked for records. Under backpressure it
    // is not asked, and a reader or split that went idle then would let event time run past
    // the records still waiting in it (Flink's idleness clock pauses the same way).
    if (polled_since_periodic_) idle_clock_ms_ += now_ms - last_periodic_ms_;
    last_periodic_ms_ = now_ms;
    polled_since_periodic_ = false;
    // WithIdleness, per split as in Flink: a split (a Kafka partition, say) that emitted
    // nothing for the timeout is left out of the reader's watermark, so a quiet one does not
    // hold back the others'; its next record takes it back in.
    auto idleness = strategy_->idleness();
    for (auto& s : splits_) {
      if (s.emitted_since_periodic || s.last_record_ms < 0) {
        s.last_record_ms = idle_clock_ms_;  // a new split counts from its first periodic call
        s.emitted_since_periodic = false;
      }
      s.idle = idleness && idle_clock_ms_ - s.last_record_ms >= idleness->count();
    }
    try {
      for (auto& s : splits_) s.generator->OnPeriodicEmit(s.output);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    Combine();
    // WithIdleness: a reader that emitted nothing for the timeout marks its output idle, so
    // downstream event time does not wait for it; its next record makes it active again.
    if (emitted_since_periodic_) {
      last_record_ms_ = idle_clock_ms_;
      emitted_since_periodic_ = false;
    }
    if (idleness && !idle_ && idle_clock_ms_ - last_record_ms_ >= idleness->count()) {
      idle_ = true;
      if (alignment_) alignment_->Report(kMaxWatermark);  // holds nothing back
      this->watermark_output_->AcceptWatermarkStatus(true);
    }
  }

 protected:
  // Downstream ignores the watermarks of an idle output: an idle reader's next one (the end
  // of its input's, or a split's advance without records) goes out as an active one, as
  // Flink's do.
  void ProcessWatermark(int64_t watermark) override {
    MarkActive();
    this->EmitWatermark(watermark);
    emitted_watermark_ = watermark;
    if (alignment_) alignment_->Report(watermark);
  }

 private:
  // Event time of one split.
  struct SplitTime {
    std::string id;
    std::unique_ptr<WatermarkGenerator<T>> generator;
    WatermarkOutput output;
    int64_t last_record_ms = -1;  // on idle_clock_ms_, as of the last periodic call after records
    bool emitted_since_periodic = false;
    bool idle = false;  // WithIdleness: no records for the timeout
  };

  // SourceReaderContext
  int subtask_index() const override { return this->context().subtask_index(); }
  int parallelism() const override { return this->context().parallelism(); }
  void SendSplitRequest() override {
    coordinator_->RequestSplit(this->context().subtask_index());
  }
  void WakeUp() override {
    if (this->wakeup_) this->wakeup_();
  }
  const Configuration& configuration() const override { return this->context().configuration(); }
  FileSystem& file_system() const override { return this->context().file_system(); }

  void TakeFromInbox(int64_t through) {
    std::vector<std::string> encoded;
    bool no_more = false;
    if (!inbox_->Take(through, &encoded, &no_more)) return;
    if (!encoded.empty()) {
      std::vector<Split> splits(encoded.size());
      for (size_t i = 0; i < encoded.size(); ++i) {
        if (!DecodeFromString(encoded[i], splits[i])) {
          throw OperatorError(this->context().operator_name(), this->context().subtask_index(),
                              Status::Internal("an assigned split does not decode"));
        }
      }
      reader_->AddSplits(std::move(splits));
    }
    if (no_more) reader_->NotifyNoMoreSplits();
  }

  // Sends the batch on; with a strategy, through its assigner and the current split's
  // generator first. Records without timestamps (no assigner, and the reader gave none) go
  // on without: as in Flink, a source need not have event time (NoWatermarks).
  void Flush() {
    if (strategy_) {
      if (strategy_->assigner()) strategy_->assigner()(batch_.records, batch_.timestamps);
      if (current_ < 0) SelectSplit("");
      SplitTime& s = splits_[static_cast<size_t>(current_)];
      s.emitted_since_periodic = true;
      s.idle = false;
      if (batch_.has_timestamps()) {
        s.generator->OnEvents(batch_.records, batch_.timestamps, s.output);
      }
    }
    if (strategy_) {
      emitted_since_periodic_ = true;
      MarkActive();
    }
    if (output_.keeps_records()) {
      this->EmitKeepingRecords(batch_, &spare_);
    } else {
      this->Emit(batch_);
    }
    if (strategy_) Combine();
  }

  void SelectSplit(std::string_view id) {
    for (size_t i = 0; i < splits_.size(); ++i) {
      if (splits_[i].id == id) {
        current_ = static_cast<int>(i);
        return;
      }
    }
    splits_.push_back(SplitTime{std::string(id), strategy_->generator_factory()(), {}});
    current_ = static_cast<int>(splits_.size()) - 1;
  }

  static void OnSplitHook(void* self, std::string_view id) {
    auto* op = static_cast<SourceReaderOperator*>(self);
    if (op->current_ >= 0 && op->splits_[static_cast<size_t>(op->current_)].id == id) return;
    if (!op->batch_.records.empty()) op->Flush();
    op->SelectSplit(id);
  }

  static void OnReleaseHook(void* self, std::string_view id) {
    auto* op = static_cast<SourceReaderOperator*>(self);
    if (!op->batch_.records.empty()) op->Flush();
    for (size_t i = 0; i < op->splits_.size(); ++i) {
      if (op->splits_[i].id != id) continue;
      op->splits_.erase(op->splits_.begin() + static_cast<std::ptrdiff_t>(i));
      op->current_ = -1;
      break;
    }
    op->Combine();
  }

  void MarkActive() {
    if (!idle_) return;
    idle_ = false;
    if (alignment_) alignment_->Report(emitted_watermark_);
    this->watermark_output_->AcceptWatermarkStatus(false);
  }

  void JoinAlignmentGroup(const WatermarkAlignment& alignment) {
    WatermarkAlignmentGroups* groups = this->context().watermark_alignment_groups();
    if (groups == nullptr) {
      throw OperatorError(this->context().operator_name(), this->context().subtask_index(),
                          Status::Internal("watermark alignment needs a running job"));
    }
    max_drift_ms_ = alignment.max_drift.count();
    // The task's wakeup outlives the member: both go with this operator, the member first.
    alignment_ = groups->Join(alignment.group, this->wakeup_);
    drift_gauge_ = &this->context().metric_group().AddGauge("watermarkAlignmentDrift");
  }

  // Whether this subtask's watermark is more than the max drift ahead of its group's (which
  // is kMaxWatermark while no member has a watermark). Also sets the drift gauge.
  bool AheadOfGroup() {
    const int64_t group = alignment_->GroupWatermark();
    if (group == kMaxWatermark || emitted_watermark_ == kMinWatermark) {
      drift_gauge_->Set(0);
      return false;
    }
    // As unsigned: the difference of two int64s may not fit one.
    const uint64_t ahead = emitted_watermark_ <= group ? 0
                                                       : static_cast<uint64_t>(emitted_watermark_) -
                                                             static_cast<uint64_t>(group);
    drift_gauge_->Set(static_cast<double>(ahead));
    if (idle_ || emitted_watermark_ == kMaxWatermark ||
        ahead <= static_cast<uint64_t>(max_drift_ms_)) {
      return false;
    }
    // Paused until the group's watermark is within the drift; woken then (unless it got there
    // since the look above). emitted - drift > group > kMinWatermark: no overflow.
    return alignment_->WaitFor(emitted_watermark_ - max_drift_ms_);
  }

  // The reader's watermark: the minimum over its splits that are not idle, once it advances.
  // With every split idle it says nothing (the reader's own idleness marks it idle).
  void Combine() {
    int64_t min = kMaxWatermark;
    bool any_active = false;
    for (const auto& s : splits_) {
      if (s.idle || s.output.idle()) continue;
      any_active = true;
      min = std::min(min, s.output.watermark());
    }
    if (any_active && min < kMaxWatermark) this->HandleWatermark(min);
  }

  std::shared_ptr<const SourceT> source_;
  std::optional<WatermarkStrategy<T>> strategy_;
  std::unique_ptr<SourceReader<T, Split>> reader_;
  SourceCoordinatorBase* coordinator_ = nullptr;
  SplitInbox* inbox_ = nullptr;
  // Inbox events up to this checkpoint id may be taken (see source_coordinator.h).
  int64_t released_ = 0;
  Batch<T> batch_;
  // The records of the last batch sent, for the reader's next ExchangeAll (only for a reader
  // that calls it).
  std::vector<T> spare_;
  ReaderOutput<T> output_;
  std::vector<SplitTime> splits_;  // with a strategy: the splits records came from
  int current_ = -1;               // index into splits_ of the split being read
  int64_t interval_ms_ = 200;
  int64_t next_periodic_ = kMaxWatermark;
  // WithIdleness: a clock of the time the reader was polled (ms), and where it was at the last
  // periodic call that followed records of the reader.
  int64_t idle_clock_ms_ = 0;
  int64_t last_record_ms_ = 0;
  int64_t last_periodic_ms_ = 0;
  bool polled_since_periodic_ = false;
  bool emitted_since_periodic_ = false;
  bool idle_ = false;
  int64_t emitted_watermark_ = kMinWatermark;
  // WithWatermarkAlignment: this subtask in its group, and how far ahead of it it may read.
  std::unique_ptr<WatermarkAlignmentGroups::Member> alignment_;
  int64_t max_drift_ms_ = 0;
  Gauge* drift_gauge_ = nullptr;
};

}  // namespace weir::detail
