// SequenceSource: the numbers from..to (inclusive), behind env.FromSequence, on the source API
// (weir/source.h).
//
// The range is cut into one contiguous split per parallel subtask, as Flink's
// NumberSequenceSource does; on a fresh start the enumerator hands split i to subtask i. Each
// reader's unfinished splits, with their next number, are checkpointed in the split list
// "sequence-splits" (each element the pair (next, last), as before the source API), so a
// rescale deals them out again and a restore resumes right after the last number the
// checkpoint covers. Thread-safety: as weir::Source.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/sources.h"
#include "weir/source.h"

namespace weir {

// The numbers next..last (inclusive) of a sequence still to emit.
struct SequenceSplit {
  int64_t next = 0;
  int64_t last = 0;

  bool operator==(const SequenceSplit&) const = default;
};

// The same bytes as std::pair<int64_t, int64_t>(next, last).
template <>
struct Codec<SequenceSplit> : FieldsCodec<SequenceSplit, &SequenceSplit::next, &SequenceSplit::last> {};

class SequenceSource final : public Source<int64_t, SequenceSplit, std::vector<SequenceSplit>> {
 public:
  using Enumerator = SplitEnumerator<SequenceSplit, std::vector<SequenceSplit>>;

  SequenceSource(int64_t from, int64_t to) : from_(from), to_(to) {}

  std::unique_ptr<Enumerator> CreateEnumerator(
      SplitEnumeratorContext<SequenceSplit>& context) const override;
  std::unique_ptr<Enumerator> RestoreEnumerator(SplitEnumeratorContext<SequenceSplit>& context,
                                                std::vector<SequenceSplit> state) const override;
  std::unique_ptr<SourceReader<int64_t, SequenceSplit>> CreateReader(
      SourceReaderContext& context) const override;
  std::string split_state_name() const override { return "sequence-splits"; }

  // Split i of `parallelism` contiguous splits of from..to; false if it is empty.
  static bool SplitOf(int64_t from, int64_t to, int i, int parallelism, SequenceSplit* out);

 private:
  int64_t from_;
  int64_t to_;
};

}  // namespace weir
