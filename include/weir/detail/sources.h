// Internal: the base of source operators, and the sources behind
// StreamExecutionEnvironment::FromCollection (here) and FromSequence (src/api/sequence_source.h),
// both made of the source API of weir/source.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/operator.h"
#include "weir/source.h"

namespace weir::detail {

template <typename Out>
class SourceOperator : public SourceOperatorBase {
 public:
  void SetTypedOutput(void* consumer) override {
    out_ = static_cast<BatchConsumer<Out>*>(consumer);
    watermark_output_ = out_;
  }
  const std::type_info* output_type() const override { return &typeid(Out); }

 protected:
  // Sends `batch` downstream and counts it.
  void Emit(Batch<Out>& batch) {
    records_in_.Add(batch.records.size());
    out_->Accept(batch);
    batch.clear();
  }
  // The same, but the batch's records, as the operators downstream left them, are kept in
  // `spare` (for ReaderOutput::ExchangeAll), and the records `spare` held are destroyed.
  void EmitKeepingRecords(Batch<Out>& batch, std::vector<Out>* spare) {
    records_in_.Add(batch.records.size());
    out_->Accept(batch);
    spare->swap(batch.records);
    batch.clear();
  }

  BatchConsumer<Out>* out_ = nullptr;
};

// An enumerator of a fixed list of splits, handed out on request. A split may be meant for one
// subtask (`owners`, -1: any), so a fresh start reads the same split in the same subtask every
// run. Its state is the splits not handed out yet.
template <typename Split>
class FixedSplitEnumerator final : public SplitEnumerator<Split, std::vector<Split>> {
 public:
  FixedSplitEnumerator(SplitEnumeratorContext<Split>& context, std::vector<Split> splits,
                       std::vector<int> owners = {})
      : context_(context), splits_(std::move(splits)), owners_(std::move(owners)) {
    owners_.resize(splits_.size(), -1);
  }

  void HandleSplitRequest(int subtask) override {
    size_t pick = splits_.size();
    for (size_t i = 0; i < splits_.size() && pick == splits_.size(); ++i) {
      if (owners_[i] == subtask) pick = i;
    }
    for (size_t i = 0; i < splits_.size() && pick == splits_.size(); ++i) {
      if (owners_[i] < 0) pick = i;
    }
    if (pick == splits_.size()) {
      context_.SignalNoMoreSplits(subtask);
      return;
    }
    Split s = std::move(splits_[pick]);
    splits_.erase(splits_.begin() + static_cast<std::ptrdiff_t>(pick));
    owners_.erase(owners_.begin() + static_cast<std::ptrdiff_t>(pick));
    context_.AssignSplit(subtask, s);
  }

  std::vector<Split> SnapshotState(int64_t) override { return splits_; }

 private:
  SplitEnumeratorContext<Split>& context_;
  std::vector<Split> splits_;
  std::vector<int> owners_;
};

// A reader that asks for a split whenever it has none, until the enumerator has no more.
// Subclasses read the front split (ReadSplit) and drop it when done.
template <typename T, typename Split>
class SplitQueueReader : public SourceReader<T, Split> {
 public:
  explicit SplitQueueReader(SourceReaderContext& context) : context_(context) {}

  void Start() override { MaybeRequest(); }

  InputStatus PollNext(ReaderOutput<T>& output) override {
    while (!splits_.empty() && output.room() > 0) {
      if (ReadSplit(splits_.front(), output)) splits_.erase(splits_.begin());
    }
    if (!splits_.empty()) return InputStatus::kMoreAvailable;
    if (no_more_splits_) return InputStatus::kEndOfInput;
    MaybeRequest();
    return InputStatus::kNothingAvailable;
  }

  void AddSplits(std::vector<Split> splits) override {
    for (auto& s : splits) splits_.push_back(std::move(s));
    requested_ = false;
  }
  void NotifyNoMoreSplits() override { no_more_splits_ = true; }
  std::vector<Split> SnapshotState(int64_t) override { return splits_; }

 protected:
  // Reads from `split` into `output`, advancing it; true when the split is done.
  virtual bool ReadSplit(Split& split, ReaderOutput<T>& output) = 0;

 private:
  void MaybeRequest() {
    if (!splits_.empty() || no_more_splits_ || requested_) return;
    requested_ = true;
    context_.SendSplitRequest();
  }

  SourceReaderContext& context_;
  std::vector<Split> splits_;  // unfinished, read in order
  bool no_more_splits_ = false;
  bool requested_ = false;
};

// FromCollection: the elements of a vector, as one split holding the next position.
struct CollectionSplit {
  uint64_t next = 0;
};

}  // namespace weir::detail

// Encoded as the uint64 that checkpoints of the earlier collection source hold.
template <>
struct weir::Codec<weir::detail::CollectionSplit>
    : weir::FieldsCodec<weir::detail::CollectionSplit, &weir::detail::CollectionSplit::next> {};

namespace weir::detail {

template <typename T>
class CollectionSource final : public Source<T, CollectionSplit, std::vector<CollectionSplit>> {
 public:
  using Enumerator = SplitEnumerator<CollectionSplit, std::vector<CollectionSplit>>;

  explicit CollectionSource(std::shared_ptr<const std::vector<T>> elements)
      : elements_(std::move(elements)) {}

  std::unique_ptr<Enumerator> CreateEnumerator(
      SplitEnumeratorContext<CollectionSplit>& context) const override {
    return std::make_unique<FixedSplitEnumerator<CollectionSplit>>(
        context, std::vector<CollectionSplit>{CollectionSplit{0}});
  }
  std::unique_ptr<Enumerator> RestoreEnumerator(SplitEnumeratorContext<CollectionSplit>& context,
                                                std::vector<CollectionSplit> state) const override {
    return std::make_unique<FixedSplitEnumerator<CollectionSplit>>(context, std::move(state));
  }
  std::unique_ptr<SourceReader<T, CollectionSplit>> CreateReader(
      SourceReaderContext& context) const override {
    return std::make_unique<Reader>(context, elements_);
  }
  std::string split_state_name() const override { return "collection-position"; }

 private:
  class Reader final : public SplitQueueReader<T, CollectionSplit> {
   public:
    Reader(SourceReaderContext& context, std::shared_ptr<const std::vector<T>> elements)
        : SplitQueueReader<T, CollectionSplit>(context), elements_(std::move(elements)) {}

    void AddSplits(std::vector<CollectionSplit> splits) override {
      for (const auto& s : splits) {
        if (s.next > elements_->size()) {
          throw StateError(Status::FailedPrecondition(
              "collection source: restored position does not fit the collection"));
        }
      }
      SplitQueueReader<T, CollectionSplit>::AddSplits(std::move(splits));
    }

   protected:
    bool ReadSplit(CollectionSplit& split, ReaderOutput<T>& output) override {
      size_t end = std::min<size_t>(elements_->size(), split.next + output.room());
      for (size_t i = split.next; i < end; ++i) output.Collect((*elements_)[i]);
      split.next = end;
      return split.next == elements_->size();
    }

   private:
    std::shared_ptr<const std::vector<T>> elements_;
  };

  std::shared_ptr<const std::vector<T>> elements_;
};

}  // namespace weir::detail
