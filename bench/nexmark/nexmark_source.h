// NexmarkSource: the Nexmark event stream as a weir source (weir/source.h), the twin of the
// Flink NexmarkSource in flink/.../source/.
//
//   GeneratorConfig config;                       // the events of all splits together
//   config.first_event_rate = 10'000'000;
//   config.num_event_generators = p;              // as the suite: one generator per split
//   config.max_events = 100'000'000;
//   auto events = env.FromSource(NexmarkSource(config, p), NexmarkSource::Watermarks(), "nexmark");
//
// The events are cut into `num_splits` slices as the suite's GeneratorConfig.split does
// (GeneratorConfig::Split): disjoint id ranges, each on its own timeline and in event-time
// order. A split is a slice's index and the number of events emitted from it, so a restore
// resumes exactly after the last event a checkpoint covers (event k of a slice is a pure
// function of the config and k). On a fresh start split i goes to subtask i; on a restore at
// another parallelism the engine deals the checkpointed splits out again, and a reader holding
// several reads them in turn. Records carry Event::Timestamp() as their timestamp; with
// Watermarks() each split has its own bounded-out-of-orderness (4 s) watermark, and a reader's
// watermark is the minimum over its splits.
//
// Each record is an Event the generator fills in place in the reader's batch (a poll's worth at
// a time, see NexmarkGenerator::NextBatch) and the reader then hands on: the text it takes from
// the generator's tables is a view of them (SharedText), the rest is made once, at its size.
// The engine hands the events of the batch before back (ReaderOutput::ExchangeAll), as the
// operators they went through left them (moved from, fewer if one dropped some), and the
// generator refills them where they are.
//
// Thread-safety: as weir::Source (its Create* methods are const and share nothing mutable).
#pragma once

#include <weir/codec.h>
#include <weir/source.h>
#include <weir/watermark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nexmark_event.h"
#include "nexmark_generator.h"

namespace weir::nexmark {

// One slice of the stream and how many of its events were emitted.
struct NexmarkSplit {
  int32_t index = 0;
  int64_t events_so_far = 0;
};

}  // namespace weir::nexmark

template <>
struct weir::Codec<weir::nexmark::NexmarkSplit>
    : weir::FieldsCodec<weir::nexmark::NexmarkSplit, &weir::nexmark::NexmarkSplit::index,
                        &weir::nexmark::NexmarkSplit::events_so_far> {};

namespace weir::nexmark {

class NexmarkSource final : public Source<Event, NexmarkSplit, std::vector<NexmarkSplit>> {
 public:
  using Enumerator = SplitEnumerator<NexmarkSplit, std::vector<NexmarkSplit>>;

  // `config` describes all events (max_events: the total over the splits; set
  // num_event_generators to num_splits, as the suite does). Throws std::invalid_argument if
  // config.Validate() complains or num_splits < 1.
  NexmarkSource(const GeneratorConfig& config, int num_splits);

  // The suite's watermark: 4 s of bounded out-of-orderness, per split.
  static WatermarkStrategy<Event> Watermarks();

  const std::vector<GeneratorConfig>& slices() const { return slices_; }

  std::unique_ptr<Enumerator> CreateEnumerator(
      SplitEnumeratorContext<NexmarkSplit>& context) const override;
  std::unique_ptr<Enumerator> RestoreEnumerator(SplitEnumeratorContext<NexmarkSplit>& context,
                                                std::vector<NexmarkSplit> state) const override;
  std::unique_ptr<SourceReader<Event, NexmarkSplit>> CreateReader(
      SourceReaderContext& context) const override;
  std::string split_state_name() const override { return "nexmark-splits"; }

 private:
  std::vector<GeneratorConfig> slices_;  // slice i is split i
};

}  // namespace weir::nexmark
