// The Nexmark generator alone, per event, as the source uses it: a batch of 1024 events made in
// place, each then moved out (the source moves its events downstream). Repeatable to a few
// percent where whole queries on this machine vary by twenty; the generator is most of
// q0-q3's and q8's CPU.
//
//   build/release/bin/nexmark_generator_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <vector>

#include "nexmark_generator.h"

namespace weir::nexmark {
namespace {

void BM_GenerateBatchAndMoveOut(benchmark::State& state) {
  GeneratorConfig config;
  config.first_event_rate = 10'000'000;
  NexmarkGenerator generator(config);
  std::vector<Event> batch;
  std::vector<Event> moved;
  moved.reserve(1024);
  for (auto _ : state) {
    generator.NextBatch(1024, &batch);
    for (Event& e : batch) moved.push_back(std::move(e));
    benchmark::DoNotOptimize(moved.data());
    moved.clear();
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_GenerateBatchAndMoveOut);

}  // namespace
}  // namespace weir::nexmark

BENCHMARK_MAIN();
