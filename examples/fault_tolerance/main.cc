// The seed job, in weir: Flink's "Fault Tolerant Zero Generator with Final 1000".
//
// A sequence 0..end is mapped to `end` zeros followed by a single 1000, keyed by a constant,
// and summed in keyed state; every running sum is written as a line to the output file, with
// exactly-once checkpoints every second. The output is `end` lines of "0" and a last "1000".
// Kill it at any moment and run it again with --restore latest: the file ends up byte for
// byte the same as an uninterrupted run's.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "weir/cli.h"
#include "weir/weir.h"

namespace {

// Keeps a running sum per key; sleeps per element to simulate a slow operator (backpressure).
class RunningSum final : public weir::KeyedProcessFunction<int, int64_t, std::string> {
 public:
  explicit RunningSum(int64_t delay_ms) : delay_(delay_ms) {}

  void Open(weir::RuntimeContext& ctx) override {
    sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
  }

  void ProcessElement(const int64_t& value, Context&, weir::Collector<std::string>& out) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    int64_t sum = sum_.ValueOr(0) + value;
    sum_.Update(sum);
    out.Collect(std::to_string(sum));
  }

 private:
  std::chrono::milliseconds delay_;
  weir::ValueState<int64_t> sum_;
};

// Applies the seed's settings where the command line and --config left a key unset.
void SetDefault(weir::Configuration& config, std::string_view key, std::string value) {
  if (!config.GetRaw(key)) config.Set(key, std::move(value), "fault_tolerance default");
}

}  // namespace

int main(int argc, char** argv) {
  weir::CommandLine cli("fault_tolerance",
                        "The seed job: a running sum over 0..END mapped to END zeros and a final "
                        "1000, with exactly-once checkpoints every second. Writes one line per "
                        "sum to the output file.");
  int64_t end = 20'000;
  int64_t delay_ms = 1;
  std::string output = "output/sum_results.txt";
  int64_t fail_at = -1;
  cli.AddOption("--end", &end, "Last sequence number: the job emits END zeros and one 1000");
  cli.AddOption("--delay-ms", &delay_ms, "Milliseconds the running sum sleeps per element");
  cli.AddOption("--output", &output, "Output file (a directory of files when parallelism > 1)");
  cli.AddOption("--fail-at", &fail_at,
                "Throw once at sequence element N, to show in-process recovery (-1: never)");
  if (auto exit_code = cli.Parse(argc, argv)) return *exit_code;
  if (end < 0) {
    std::fprintf(stderr, "fault_tolerance: --end must not be negative (got %lld)\n",
                 static_cast<long long>(end));
    return 2;
  }
  if (delay_ms < 0 || delay_ms > 60'000) {
    std::fprintf(stderr, "fault_tolerance: --delay-ms must be between 0 and 60000 (got %lld)\n",
                 static_cast<long long>(delay_ms));
    return 2;
  }
  if (output.empty()) {
    std::fprintf(stderr, "fault_tolerance: --output must not be empty\n");
    return 2;
  }

  weir::StreamExecutionEnvironment env(cli.configuration());
  weir::Configuration& config = env.config();
  SetDefault(config, "execution.checkpointing.interval", "1 s");
  SetDefault(config, "execution.checkpointing.mode", "EXACTLY_ONCE");
  SetDefault(config, "execution.checkpointing.dir", "checkpoints");
  SetDefault(config, "execution.checkpointing.savepoint-dir", "savepoints");
  // The seed job keeps its state in RocksDB; -D state.backend.type=hashmap switches.
  SetDefault(config, "state.backend.type", "rocksdb");
  // Kept when the job is cancelled or fails, so `--restore latest` can resume it.
  SetDefault(config, "execution.checkpointing.externalized-checkpoint-retention",
             "RETAIN_ON_CANCELLATION");

  static std::atomic<bool> failed_once{false};
  env.FromSequence(0, end)
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
      .Process(RunningSum(delay_ms))
      .Name("running-sum")
      .Uid("running-sum")
      .WriteAsText(output, weir::WriteMode::kOverwrite)
      .Name("sum-file")
      .Uid("sum-file");

  return weir::RunJob(env, "Fault Tolerant Zero Generator with Final 1000", cli);
}
