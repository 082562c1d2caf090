// SequenceSource: the numbers from..to (inclusive), behind env.FromSequence.
//
// The range is cut into one contiguous split per parallel subtask, as Flink's
// NumberSequenceSource does. Each split's next number is checkpointed (as a split list, so a
// rescale deals the unfinished splits out again), and a restore resumes right after the last
// number the checkpoint covers. Thread-safety: owned by its task thread.
#pragma once

#include <cstdint>
#include <vector>

#include "weir/detail/sources.h"

namespace weir {

class SequenceSource final : public detail::SourceOperator<int64_t> {
 public:
  SequenceSource(int64_t from, int64_t to) : from_(from), to_(to) {}

  void InitializeState(const detail::OperatorState& restored) override;
  detail::SourceStatus EmitNext(size_t max_records) override;
  void SnapshotState(int64_t checkpoint_id, detail::OperatorSnapshot* out) override;

 private:
  struct Split {
    int64_t next;
    int64_t last;  // inclusive
  };

  int64_t from_;
  int64_t to_;
  std::vector<Split> splits_;  // unfinished splits of this subtask, read in order
  detail::Batch<int64_t> batch_;
};

}  // namespace weir
