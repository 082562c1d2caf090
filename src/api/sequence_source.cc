#include "api/sequence_source.h"

#include <algorithm>

namespace weir {
namespace {

constexpr char kStateName[] = "sequence-splits";

}  // namespace

void SequenceSource::InitializeState(const detail::OperatorState& restored) {
  splits_.clear();
  bool found = false;
  for (const auto& list : restored) {
    if (list.name != kStateName) continue;
    found = true;
    for (const auto& e : list.elements) {
      std::pair<int64_t, int64_t> split;
      // A finished split is (last + 1, last); written without overflow at INT64_MAX.
      if (!DecodeFromString(e, split) ||
          (split.first > split.second && split.first - 1 != split.second)) {
        throw detail::StateError(
            Status::Corruption("sequence source: a restored split does not decode").AsPermanent());
      }
      // A split from another job, or an altered checkpoint, would emit numbers this job
      // never had, possibly without end.
      using i128 = __int128;
      bool finished = split.first > split.second;
      bool inside = finished ? i128{split.second} >= i128{from_} - 1 && split.second <= to_
                             : split.first >= from_ && split.second <= to_;
      if (!inside) {
        throw detail::StateError(Status::FailedPrecondition(
            "sequence source: a restored split [" + std::to_string(split.first) + ", " +
            std::to_string(split.second) + "] lies outside the source's sequence [" +
            std::to_string(from_) + ", " + std::to_string(to_) +
            "]: the checkpoint is not of this job, or it was altered"));
      }
      if (split.first <= split.second) splits_.push_back(Split{split.first, split.second});
    }
  }
  // The list is present, possibly empty, whenever the checkpoint had state for this source.
  if (found) return;
  // Fresh start: split the range evenly, this subtask takes its own split.
  int p = context().parallelism();
  int i = context().subtask_index();
  if (from_ > to_) return;
  // Unsigned arithmetic throughout: the range may span all of int64 (to - from overflows).
  using u128 = unsigned __int128;
  u128 total = static_cast<u128>(static_cast<uint64_t>(to_) - static_cast<uint64_t>(from_)) + 1;
  auto begin = static_cast<uint64_t>(total * static_cast<unsigned>(i) / static_cast<unsigned>(p));
  u128 end = total * static_cast<unsigned>(i + 1) / static_cast<unsigned>(p);
  if (begin < end) {
    auto first = static_cast<int64_t>(static_cast<uint64_t>(from_) + begin);
    auto last = static_cast<int64_t>(static_cast<uint64_t>(from_) + static_cast<uint64_t>(end - 1));
    splits_.push_back(Split{first, last});
  }
}

detail::SourceStatus SequenceSource::EmitNext(size_t max_records) {
  while (!splits_.empty() && batch_.records.size() < max_records) {
    Split& s = splits_.front();
    // Counted in uint64: a split may end at INT64_MAX, where next + n would overflow.
    uint64_t left = static_cast<uint64_t>(s.last) - static_cast<uint64_t>(s.next);  // + 1
    uint64_t room = max_records - batch_.records.size();
    uint64_t n = left < room ? left + 1 : room;
    for (uint64_t k = 0; k < n; ++k) {
      batch_.records.push_back(static_cast<int64_t>(static_cast<uint64_t>(s.next) + k));
    }
    if (n > left) {
      splits_.erase(splits_.begin());
    } else {
      s.next = static_cast<int64_t>(static_cast<uint64_t>(s.next) + n);
    }
  }
  if (!batch_.records.empty()) Emit(batch_);
  return splits_.empty() ? detail::SourceStatus::kEndOfInput : detail::SourceStatus::kMoreAvailable;
}

void SequenceSource::SnapshotState(int64_t, detail::OperatorSnapshot* out) {
  detail::OperatorStateList list{kStateName, detail::OperatorStateList::Mode::kSplit, {}};
  for (const Split& s : splits_) {
    list.elements.push_back(EncodeToString(std::pair<int64_t, int64_t>(s.next, s.last)));
  }
  out->state.push_back(std::move(list));
}

}  // namespace weir
