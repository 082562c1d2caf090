// nexmark_bench: runs one Nexmark query on weir and prints one JSON line with its throughput,
// with the flags and the JSON fields of the Flink NexmarkBench (flink/.../NexmarkBench.java),
// so the two compare run for run:
//
//   nexmark_bench --query q3 [--events N] [--parallelism P] [--checkpoint-interval MS|off]
//       [--backend hashmap|rocksdb] [--output FILE|none] [--rate EVENTS_PER_S]
//       [--checkpoint-dir DIR]
//   -> {"engine":"weir","query":"q3","events":...,"events_per_second":...,"output_lines":...}
//
// The source splits the events over P generators as the Nexmark suite does, so the events and
// the results depend on P: Flink at the same P sees the same events.
#include <weir/weir.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "line_file_sink.h"
#include "nexmark_source.h"
#include "queries.h"

namespace {

using weir::nexmark::AllQueries;
using weir::nexmark::Query;

constexpr const char* kUsage =
    "usage: nexmark_bench --query qN [--events N] [--parallelism P]\n"
    "    [--checkpoint-interval MS|off] [--backend hashmap|rocksdb] [--output FILE|none]\n"
    "    [--rate EVENTS_PER_S] [--checkpoint-dir DIR]\n"
    "  --query             one of %s\n"
    "  --events            events to generate (default 10000000)\n"
    "  --parallelism       parallelism of every operator and number of generators (default 1)\n"
    "  --checkpoint-interval  ms between checkpoints, or off (default off)\n"
    "  --backend           state backend (default hashmap)\n"
    "  --output            file for the result lines (FILE.i per sink subtask when P > 1),\n"
    "                      or none to discard them (default none)\n"
    "  --rate              events per second of event time (default 10000000, the suite's)\n"
    "  --checkpoint-dir    where checkpoints go (default /tmp/nexmark-weir-checkpoints)\n";

std::string QueryNames() {
  std::string names;
  for (const Query& q : AllQueries()) {
    if (!names.empty()) names += ' ';
    names += q.name;
  }
  return names;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "nexmark_bench: %s\n", message.c_str());
  std::fprintf(stderr, kUsage, QueryNames().c_str());
  std::exit(2);
}

// A whole decimal number in [min, max], or a clear error naming the flag.
int64_t ParseNumber(std::string_view flag, const std::string& v, int64_t min, int64_t max) {
  int64_t n = 0;
  size_t used = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size()) Fail("bad value '" + v + "' for " + std::string(flag));
  if (n < min || n > max) {
    Fail(std::string(flag) + " must be between " + std::to_string(min) + " and " +
         std::to_string(max) + ", not " + v);
  }
  return n;
}

int64_t CountLines(const std::string& output, int parallelism) {
  int64_t n = 0;
  for (int i = 0; i < parallelism; ++i) {
    std::string name = weir::nexmark::LineFileSink::FileOf(output, i, parallelism);
    std::ifstream in(name, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "nexmark_bench: cannot read %s\n", name.c_str());
      std::exit(1);
    }
    std::string line;
    while (std::getline(in, line)) ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string query;
  int64_t events = 10'000'000;
  int64_t parallelism = 1;
  int64_t checkpoint_ms = 0;
  std::string backend = "hashmap";
  std::string output = "none";
  int64_t rate = 10'000'000;
  std::string checkpoint_dir = "/tmp/nexmark-weir-checkpoints";
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf(kUsage, QueryNames().c_str());
      return 0;
    }
    if (i + 1 >= argc) Fail("flag " + flag + " needs a value");
    std::string v = argv[++i];
    if (flag == "--query") {
      query = v;
    } else if (flag == "--events") {
      events = ParseNumber(flag, v, 1, INT64_MAX);
    } else if (flag == "--parallelism") {
      parallelism = ParseNumber(flag, v, 1, 1024);
    } else if (flag == "--checkpoint-interval") {
      checkpoint_ms = v == "off" ? 0 : ParseNumber(flag, v, 1, INT64_MAX);
    } else if (flag == "--backend") {
      backend = v;
    } else if (flag == "--output") {
      output = v;
    } else if (flag == "--rate") {
      rate = ParseNumber(flag, v, 1, INT32_MAX);
    } else if (flag == "--checkpoint-dir") {
      checkpoint_dir = v;
    } else {
      Fail("unknown flag " + flag);
    }
  }
  const Query* q = nullptr;
  for (const Query& candidate : AllQueries()) {
    if (candidate.name == query) q = &candidate;
  }
  if (q == nullptr) Fail("--query must be one of " + QueryNames());
  if (backend != "hashmap" && backend != "rocksdb") Fail("--backend must be hashmap or rocksdb");

  weir::Configuration config;
  config.Set("state.backend.type", backend);
  config.Set("restart-strategy.type", "none");
  if (checkpoint_ms > 0) {
    config.Set("execution.checkpointing.interval", std::to_string(checkpoint_ms) + " ms");
    config.Set("execution.checkpointing.mode", "EXACTLY_ONCE");
    config.Set("execution.checkpointing.dir", checkpoint_dir);
    config.Set("execution.checkpointing.incremental", backend == "rocksdb" ? "true" : "false");
  }
  weir::StreamExecutionEnvironment env(config);
  env.SetParallelism(static_cast<int>(parallelism));

  weir::nexmark::GeneratorConfig generator;
  generator.first_event_rate = static_cast<int32_t>(rate);
  generator.num_event_generators = static_cast<int32_t>(parallelism);
  generator.max_events = events;
  auto source =
      env.FromSource(weir::nexmark::NexmarkSource(generator, static_cast<int>(parallelism)),
                     weir::nexmark::NexmarkSource::Watermarks(), "Nexmark Source");
  weir::DataStream<std::string> lines = q->build(source);
  if (output == "none") {
    lines.AddSink([](const std::string&) {}).Name("discard");
  } else {
    lines.SinkTo([output] { return std::make_shared<weir::nexmark::LineFileSink>(output); })
        .Name("file");
  }

  auto start = std::chrono::steady_clock::now();
  weir::JobResult result = env.Execute("Nexmark " + query);
  double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    std::fprintf(stderr, "nexmark_bench: the job failed: %s\n", result.error().c_str());
    return 1;
  }
  double run_seconds = static_cast<double>(result.duration.count()) / 1000.0;
  int64_t output_lines =
      output == "none" ? -1 : CountLines(output, static_cast<int>(parallelism));
  std::printf(
      "{\"engine\":\"weir\",\"query\":\"%s\",\"events\":%lld,\"parallelism\":%lld,"
      "\"backend\":\"%s\",\"checkpoint_interval_ms\":%lld,\"run_seconds\":%.3f,"
      "\"wall_seconds\":%.3f,\"events_per_second\":%.0f,\"output_lines\":%lld}\n",
      query.c_str(), static_cast<long long>(events), static_cast<long long>(parallelism),
      backend.c_str(), static_cast<long long>(checkpoint_ms), run_seconds, wall_seconds,
      static_cast<double>(events) / run_seconds, static_cast<long long>(output_lines));
  return 0;
}
