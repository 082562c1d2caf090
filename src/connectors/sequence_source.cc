#include "connectors/sequence_source.h"

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
      if (!DecodeFromString(e, split) || split.first > split.second + 1) {
        throw detail::StateError("sequence source: a restored split does not decode");
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
  auto total = static_cast<unsigned __int128>(to_ - from_) + 1;
  auto begin = static_cast<int64_t>(total * static_cast<unsigned>(i) / static_cast<unsigned>(p));
  auto end = static_cast<int64_t>(total * static_cast<unsigned>(i + 1) / static_cast<unsigned>(p));
  if (begin < end) splits_.push_back(Split{from_ + begin, from_ + end - 1});
}

detail::SourceStatus SequenceSource::EmitNext(size_t max_records) {
  while (!splits_.empty() && batch_.size() < max_records) {
    Split& s = splits_.front();
    auto room = static_cast<int64_t>(max_records - batch_.size());
    int64_t n = std::min<int64_t>(room, s.last - s.next + 1);
    for (int64_t k = 0; k < n; ++k) batch_.push_back(s.next + k);
    s.next += n;
    if (s.next > s.last) splits_.erase(splits_.begin());
  }
  if (!batch_.empty()) Emit(batch_);
  return splits_.empty() ? detail::SourceStatus::kEndOfInput
                         : detail::SourceStatus::kMoreAvailable;
}

void SequenceSource::SnapshotState(int64_t, detail::OperatorSnapshot* out) {
  detail::OperatorStateList list{kStateName, detail::OperatorStateList::Mode::kSplit, {}};
  for (const Split& s : splits_) {
    list.elements.push_back(EncodeToString(std::pair<int64_t, int64_t>(s.next, s.last)));
  }
  out->state.push_back(std::move(list));
}

}  // namespace weir
