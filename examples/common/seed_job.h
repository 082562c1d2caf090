// The seed job's computation, shared by the examples that run it (to a file, to Kafka):
// numbers mapped to zeros and a final 1000, keyed by a constant, summed in keyed state.
// Operator names and uids are the seed's, so checkpoints of one build restore in the next.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "weir/weir.h"

namespace seed {

// Keeps a running sum per key; sleeps per element to simulate a slow operator (backpressure).
// Emits each sum as Out: an int64_t, or its decimal text.
template <typename Out>
class RunningSum final : public weir::KeyedProcessFunction<int, int64_t, Out> {
 public:
  using Context = typename weir::KeyedProcessFunction<int, int64_t, Out>::Context;

  explicit RunningSum(int64_t delay_ms) : delay_(delay_ms) {}

  void Open(weir::RuntimeContext& ctx) override {
    sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
  }

  void ProcessElement(const int64_t& value, Context&, weir::Collector<Out>& out) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    int64_t sum = sum_.ValueOr(0) + value;
    sum_.Update(sum);
    if constexpr (std::is_same_v<Out, std::string>) {
      out.Collect(std::to_string(sum));
    } else {
      out.Collect(sum);
    }
  }

 private:
  std::chrono::milliseconds delay_;
  weir::ValueState<int64_t> sum_;
};

// The running sums of `numbers`: `end` maps to 1000, everything else to 0. `fail_at` (-1:
// never) throws once at that number, to show in-process recovery.
template <typename Out>
weir::DataStream<Out> RunningSums(const weir::DataStream<int64_t>& numbers, int64_t end,
                                  int64_t fail_at, int64_t delay_ms) {
  static std::atomic<bool> failed_once{false};
  return numbers
      .Map([end, fail_at](int64_t i) -> int64_t {
        if (i == fail_at && !failed_once.exchange(true)) {
          throw std::runtime_error("injected failure at element " + std::to_string(i) +
                                   " (--fail-at)");
        }
        return i < end ? 0 : 1000;
      })
      .Name("zero-or-thousand")
      .Uid("zero-or-thousand")
      .KeyBy([](int64_t) { return 0; })
      .Process(RunningSum<Out>(delay_ms))
      .Name("running-sum")
      .Uid("running-sum");
}

// The seed's settings where the command line and --config left a key unset: exactly-once
// checkpoints every second into checkpoints/, kept when the job is cancelled or fails (so
// `--restore latest` can resume it), savepoints in savepoints/, state in RocksDB (-D
// state.backend.type=hashmap switches).
// A key set under Flink's older name (state.checkpoints.dir, state.backend), which weir reads
// too, counts as set.
inline void ApplyDefaults(weir::Configuration& config, const char* program) {
  struct Default {
    const char* key;
    const char* older_key;  // or ""
    const char* value;
  };
  const Default defaults[] = {
      {"execution.checkpointing.interval", "", "1 s"},
      {"execution.checkpointing.mode", "", "EXACTLY_ONCE"},
      {"execution.checkpointing.dir", "state.checkpoints.dir", "checkpoints"},
      {"execution.checkpointing.savepoint-dir", "state.savepoints.dir", "savepoints"},
      {"state.backend.type", "state.backend", "rocksdb"},
      {"execution.checkpointing.externalized-checkpoint-retention", "", "RETAIN_ON_CANCELLATION"}};
  for (const auto& d : defaults) {
    if (config.GetRaw(d.key) || (*d.older_key != '\0' && config.GetRaw(d.older_key))) continue;
    config.Set(d.key, d.value, std::string(program) + " default");
  }
}

}  // namespace seed
