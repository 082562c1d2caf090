#include "nexmark_source.h"

#include <weir/detail/keyed_state.h>
#include <weir/detail/sources.h>

#include <chrono>
#include <stdexcept>
#include <utility>

namespace weir::nexmark {
namespace {

// Reads its splits in turn, a batch from one before moving on to the next (it holds more than
// one only after a restore at a lower parallelism); asks for a split whenever it has none.
// Owned by the task thread.
class NexmarkReader final : public SourceReader<Event, NexmarkSplit> {
 public:
  NexmarkReader(SourceReaderContext& context, std::vector<GeneratorConfig> slices)
      : context_(context), slices_(std::move(slices)) {}

  void Start() override { Request(); }

  InputStatus PollNext(ReaderOutput<Event>& output) override {
    if (active_.empty()) {
      if (no_more_splits_) return InputStatus::kEndOfInput;
      Request();
      return InputStatus::kNothingAvailable;
    }
    if (next_ >= active_.size()) next_ = 0;
    Active& a = active_[next_];
    output.ForSplit(a.id);
    a.generator.NextBatch(output.room(), &batch_, &timestamps_);
    output.ExchangeAll(batch_, timestamps_);
    if (a.generator.HasNext()) {
      ++next_;
    } else {
      output.ReleaseSplit(a.id);
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(next_));
      if (active_.empty() && !no_more_splits_) Request();
    }
    return InputStatus::kMoreAvailable;
  }

  void AddSplits(std::vector<NexmarkSplit> splits) override {
    for (const NexmarkSplit& s : splits) {
      if (s.index < 0 || static_cast<size_t>(s.index) >= slices_.size()) {
        throw detail::StateError(Status::FailedPrecondition(
            "nexmark source: a restored split has index " + std::to_string(s.index) +
            " but the source has " + std::to_string(slices_.size()) +
            " splits: the checkpoint is of a run with another --parallelism or event count"));
      }
      NexmarkGenerator generator(slices_[static_cast<size_t>(s.index)], s.events_so_far);
      if (s.events_so_far < 0 || s.events_so_far > generator.max_events()) {
        throw detail::StateError(Status::FailedPrecondition(
            "nexmark source: split " + std::to_string(s.index) + " restored at event " +
            std::to_string(s.events_so_far) + " of " + std::to_string(generator.max_events()) +
            ": the checkpoint is of a run with another event count"));
      }
      active_.push_back(Active{s.index, std::to_string(s.index), std::move(generator)});
    }
    requested_ = false;
  }

  void NotifyNoMoreSplits() override { no_more_splits_ = true; }

  std::vector<NexmarkSplit> SnapshotState(int64_t) override {
    std::vector<NexmarkSplit> state;
    state.reserve(active_.size());
    for (const Active& a : active_) state.push_back({a.index, a.generator.events_so_far()});
    return state;
  }

 private:
  struct Active {
    int32_t index;
    std::string id;  // the split id its watermark is kept under
    NexmarkGenerator generator;
  };

  void Request() {
    if (requested_ || no_more_splits_) return;
    requested_ = true;
    context_.SendSplitRequest();
  }

  SourceReaderContext& context_;
  std::vector<GeneratorConfig> slices_;  // slice i is split i
  std::vector<Active> active_;
  size_t next_ = 0;
  // A poll's events and their times, handed on whole. The events come back (ExchangeAll) to
  // be refilled where they are.
  std::vector<Event> batch_;
  std::vector<int64_t> timestamps_;
  bool no_more_splits_ = false;
  bool requested_ = false;
};

}  // namespace

NexmarkSource::NexmarkSource(const GeneratorConfig& config, int num_splits) {
  if (num_splits < 1) throw std::invalid_argument("nexmark source: num_splits must be >= 1");
  if (std::string problem = config.Validate(); !problem.empty()) {
    throw std::invalid_argument("nexmark source: " + problem);
  }
  slices_ = config.Split(num_splits);
}

WatermarkStrategy<Event> NexmarkSource::Watermarks() {
  return WatermarkStrategy<Event>::ForBoundedOutOfOrderness(std::chrono::seconds(4));
}

std::unique_ptr<NexmarkSource::Enumerator> NexmarkSource::CreateEnumerator(
    SplitEnumeratorContext<NexmarkSplit>& context) const {
  std::vector<NexmarkSplit> splits;
  std::vector<int> owners;
  for (size_t i = 0; i < slices_.size(); ++i) {
    splits.push_back(NexmarkSplit{static_cast<int32_t>(i), 0});
    // Split i to subtask i, so a run reads the same slice in the same subtask every time.
    owners.push_back(static_cast<int>(i) < context.parallelism() ? static_cast<int>(i) : -1);
  }
  return std::make_unique<detail::FixedSplitEnumerator<NexmarkSplit>>(context, std::move(splits),
                                                                     std::move(owners));
}

std::unique_ptr<NexmarkSource::Enumerator> NexmarkSource::RestoreEnumerator(
    SplitEnumeratorContext<NexmarkSplit>& context, std::vector<NexmarkSplit> state) const {
  return std::make_unique<detail::FixedSplitEnumerator<NexmarkSplit>>(context, std::move(state));
}

std::unique_ptr<SourceReader<Event, NexmarkSplit>> NexmarkSource::CreateReader(
    SourceReaderContext& context) const {
  return std::make_unique<NexmarkReader>(context, slices_);
}

}  // namespace weir::nexmark
