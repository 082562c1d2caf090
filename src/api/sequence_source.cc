#include "api/sequence_source.h"

#include <string>

namespace weir {
namespace {

class SequenceReader final : public detail::SplitQueueReader<int64_t, SequenceSplit> {
 public:
  SequenceReader(SourceReaderContext& context, int64_t from, int64_t to)
      : SplitQueueReader(context), from_(from), to_(to) {}

  void AddSplits(std::vector<SequenceSplit> splits) override {
    std::vector<SequenceSplit> unfinished;
    for (const SequenceSplit& split : splits) {
      // A finished split is (last + 1, last); written without overflow at INT64_MAX.
      if (split.next > split.last && split.next - 1 != split.last) {
        throw detail::StateError(
            Status::Corruption("sequence source: a restored split does not decode").AsPermanent());
      }
      // A split from another job, or an altered checkpoint, would emit numbers this job
      // never had, possibly without end.
      using i128 = __int128;
      bool finished = split.next > split.last;
      bool inside = finished ? i128{split.last} >= i128{from_} - 1 && split.last <= to_
                             : split.next >= from_ && split.last <= to_;
      if (!inside) {
        throw detail::StateError(Status::FailedPrecondition(
            "sequence source: a restored split [" + std::to_string(split.next) + ", " +
            std::to_string(split.last) + "] lies outside the source's sequence [" +
            std::to_string(from_) + ", " + std::to_string(to_) +
            "]: the checkpoint is not of this job, or it was altered"));
      }
      if (!finished) unfinished.push_back(split);
    }
    SplitQueueReader::AddSplits(std::move(unfinished));
  }

 protected:
  bool ReadSplit(SequenceSplit& s, ReaderOutput<int64_t>& output) override {
    // Counted in uint64: a split may end at INT64_MAX, where next + n would overflow.
    uint64_t left = static_cast<uint64_t>(s.last) - static_cast<uint64_t>(s.next);  // + 1
    uint64_t room = output.room();
    uint64_t n = left < room ? left + 1 : room;
    for (uint64_t k = 0; k < n; ++k) {
      output.Collect(static_cast<int64_t>(static_cast<uint64_t>(s.next) + k));
    }
    if (n > left) return true;
    s.next = static_cast<int64_t>(static_cast<uint64_t>(s.next) + n);
    return false;
  }

 private:
  int64_t from_;
  int64_t to_;
};

}  // namespace

bool SequenceSource::SplitOf(int64_t from, int64_t to, int i, int p, SequenceSplit* out) {
  if (from > to) return false;
  // Unsigned arithmetic throughout: the range may span all of int64 (to - from overflows).
  using u128 = unsigned __int128;
  u128 total = static_cast<u128>(static_cast<uint64_t>(to) - static_cast<uint64_t>(from)) + 1;
  auto begin = static_cast<uint64_t>(total * static_cast<unsigned>(i) / static_cast<unsigned>(p));
  u128 end = total * static_cast<unsigned>(i + 1) / static_cast<unsigned>(p);
  if (begin >= end) return false;
  out->next = static_cast<int64_t>(static_cast<uint64_t>(from) + begin);
  out->last = static_cast<int64_t>(static_cast<uint64_t>(from) + static_cast<uint64_t>(end - 1));
  return true;
}

std::unique_ptr<SequenceSource::Enumerator> SequenceSource::CreateEnumerator(
    SplitEnumeratorContext<SequenceSplit>& context) const {
  std::vector<SequenceSplit> splits;
  std::vector<int> owners;
  for (int i = 0; i < context.parallelism(); ++i) {
    SequenceSplit s;
    if (!SplitOf(from_, to_, i, context.parallelism(), &s)) continue;
    splits.push_back(s);
    owners.push_back(i);
  }
  return std::make_unique<detail::FixedSplitEnumerator<SequenceSplit>>(context, std::move(splits),
                                                                      std::move(owners));
}

std::unique_ptr<SequenceSource::Enumerator> SequenceSource::RestoreEnumerator(
    SplitEnumeratorContext<SequenceSplit>& context, std::vector<SequenceSplit> state) const {
  return std::make_unique<detail::FixedSplitEnumerator<SequenceSplit>>(context, std::move(state));
}

std::unique_ptr<SourceReader<int64_t, SequenceSplit>> SequenceSource::CreateReader(
    SourceReaderContext& context) const {
  return std::make_unique<SequenceReader>(context, from_, to_);
}

}  // namespace weir
