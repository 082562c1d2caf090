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

#include "../common/seed_job.h"
#include "weir/cli.h"
#include "weir/weir.h"


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
  seed::ApplyDefaults(env.config(), "fault_tolerance");

  seed::RunningSums<std::string>(env.FromSequence(0, end), end, fail_at, delay_ms)
      .WriteAsText(output, weir::WriteMode::kOverwrite)
      .Name("sum-file")
      .Uid("sum-file");

  return weir::RunJob(env, "Fault Tolerant Zero Generator with Final 1000", cli);
}
