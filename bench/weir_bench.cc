// weir_bench: end-to-end benchmark workloads, one result line per run (JSON with --json).
//
//   seed      the seed pipeline without its delay: sequence -> map -> key by -> running sum
//             in keyed state -> one line of text per record. One key (the seed's) or many.
//             With --emit sum the sums stay numbers (for engines compared that emit them).
//   baseline  the same computation as a plain single-threaded loop: the hardware floor.
//   recovery  the seed pipeline over many keys, failed once mid-stream after a checkpoint;
//             reports the time from the failure until processing resumed and caught up.
//   window    a windowed count: record i has event time i ms; per key, a count and sum in
//             tumbling event-time windows of --window-ms, one line per fired window. Small
//             windows over many keys make it a timer benchmark (a window, so a timer, per
//             record); large ones an aggregation benchmark.
//
// Throughput is records per second of wall time and per second of CPU time (user + system of
// the whole process, from getrusage), so "per core" counts every thread the engine used.
// Latency is source to sink, sampled on one record in 1024 (stamped right after the source,
// read where the keyed operator emits the record's line, in the sink's thread: the job is the
// seed's, with no stage added to measure it). Checkpoint figures come from the job's metrics:
// duration percentiles, sizes and the longest barrier alignment. Time to first record is from
// the job's start until the keyed operator emits its first line. After each seed run the plain loop
// runs too, for the ratio to the hardware floor, unless --no-baseline (bench/flink/compare.py
// measures the process from outside, so it must do nothing but the job).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/logging.h"
#include "process_usage.h"
#include "weir/cli.h"
#include "weir/weir.h"
#include "workloads.h"

namespace {

using weir::bench::CpuSeconds;
using weir::bench::NowNanos;
using weir::bench::PeakRssKb;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Latency samples from every sink subtask.
class LatencyRecorder {
 public:
  void Add(int64_t nanos) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(static_cast<double>(nanos) / 1e6);
  }
  std::vector<double> TakeMillis() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(samples_);
  }

 private:
  std::mutex mu_;
  std::vector<double> samples_;
};

LatencyRecorder g_latency;

// When the keyed operator emitted its first line (NowNanos); 0 until then.
std::atomic<int64_t> g_first_record_ns{0};

// A line is about to go to the sink, for the record stamped at `stamp_ns` (0: not sampled).
inline void NoteLine(int64_t stamp_ns) {
  if (stamp_ns != 0) [[unlikely]]
    g_latency.Add(NowNanos() - stamp_ns);
  if (g_first_record_ns.load(std::memory_order_relaxed) == 0) [[unlikely]] {
    int64_t none = 0;
    g_first_record_ns.compare_exchange_strong(none, NowNanos());
  }
}

// Failure injection and timing for the recovery workload (process-wide: one job at a time).
struct RecoveryProbe {
  std::atomic<int64_t> fail_at{-1};
  std::atomic<bool> failed{false};
  std::atomic<int64_t> failed_ns{0};
  std::atomic<int64_t> resumed_ns{0};
  std::atomic<int64_t> caught_up_ns{0};
};
RecoveryProbe g_probe;

// The seed's KeyedProcessFunction: the running sum, emitted as text (Out = std::string) or,
// for a comparison with an engine that emits the number, as the number.
template <typename Out>
class RunningSum final : public weir::KeyedProcessFunction<int64_t, Record, Out> {
 public:
  using Context = typename weir::KeyedProcessFunction<int64_t, Record, Out>::Context;

  void Open(weir::RuntimeContext& ctx) override {
    sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
    restarted_ = ctx.attempt_number() > 0;
  }
  void ProcessElement(const Record& r, Context&, weir::Collector<Out>& out) override {
    if (restarted_) [[unlikely]] {
      if (g_probe.resumed_ns.load(std::memory_order_relaxed) == 0) {
        int64_t zero = 0;
        g_probe.resumed_ns.compare_exchange_strong(zero, NowNanos());
      }
      if (r.seq == g_probe.fail_at.load(std::memory_order_relaxed)) {
        g_probe.caught_up_ns.store(NowNanos());
      }
    }
    int64_t sum = sum_.ValueOr(0) + r.value;
    sum_.Update(sum);
    NoteLine(r.stamp_ns);
    if constexpr (std::is_same_v<Out, std::string>) {
      out.Collect(std::to_string(sum));
    } else {
      out.Collect(sum);
    }
  }

 private:
  weir::ValueState<int64_t> sum_;
  bool restarted_ = false;
};

struct Options {
  std::string workload = "seed";
  int64_t records = 100'000'000;
  int64_t keys = 1;
  std::string backend = "hashmap";
  std::string checkpoint = "off";  // off, or a duration
  std::string mode = "EXACTLY_ONCE";
  std::string sink = "file";  // file (exactly-once text file) or discard
  std::string emit = "text";  // text (the seed's lines) or sum (the number, discard sink only)
  int64_t window_ms = 1000;
  std::string dir;  // empty: a temporary directory, removed at exit
  bool json = false;
  bool no_baseline = false;
  int repeat = 1;
};

struct RunResult {
  double seconds = 0;
  double cpu_seconds = 0;
  double first_record_ms = 0;
  std::vector<double> latency_ms;
  weir::JobMetrics metrics;
  long peak_rss_kb = 0;
  std::string error;
  double recovery_resume_ms = 0;
  double recovery_catch_up_ms = 0;
};

RunResult Measure(weir::StreamExecutionEnvironment& env, const Options& o);

RunResult RunSeed(const Options& o, const weir::Configuration& base) {
  weir::Configuration config = base;
  config.Set("state.backend.type", o.backend);
  config.Set("execution.checkpointing.dir", o.dir + "/checkpoints");
  config.Set("restart-strategy.type", o.workload == "recovery" ? "fixed-delay" : "none");
  config.Set("restart-strategy.fixed-delay.delay", "0 ms");
  if (o.checkpoint != "off") {
    config.Set("execution.checkpointing.interval", o.checkpoint);
    config.Set("execution.checkpointing.mode", o.mode);
  }
  weir::StreamExecutionEnvironment env(config);
  const int64_t n = o.records;
  const int64_t keys = o.keys;
  auto records =
      env.FromSequence(0, n - 1)
          .Map([n, keys, recovery = o.workload == "recovery"](int64_t i) {
            if (recovery && !g_probe.failed.load(std::memory_order_relaxed)) {
              if (i == g_probe.fail_at.load(std::memory_order_relaxed) &&
                  !g_probe.failed.exchange(true)) {
                g_probe.failed_ns.store(NowNanos());
                throw std::runtime_error("benchmark failure injection");
              }
              // Past the middle, idle a little per batch until the failure, so a
              // checkpoint holding the state built so far can complete first.
              if (i >= n / 2 && i % 1024 == 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
              }
            }
            // The seed's values: zeros, and 1000 for the last element.
            int64_t value = keys == 1 ? (i < n - 1 ? 0 : 1000) : 1 + i % 7;
            return Record{keys == 1 ? 0 : i % keys, value, i, (i & 1023) == 0 ? NowNanos() : 0};
          })
          .Name("map");
  auto by_key = [](const Record& r) { return r.key; };
  if (o.emit == "sum") {
    records.KeyBy(by_key)
        .Process(RunningSum<int64_t>())
        .Name("running-sum")
        .AddSink([](int64_t) {})
        .Name("discard");
    return Measure(env, o);
  }
  auto lines = [&] {
    if (o.workload != "window") {
      return records.KeyBy(by_key).Process(RunningSum<std::string>()).Name("running-sum");
    }
    return WindowedCounts(records, o.window_ms, [] { NoteLine(0); });
  }();
  if (o.sink == "file") {
    lines.WriteAsText(o.dir + "/sums", weir::WriteMode::kOverwrite).Name("file");
  } else {
    lines.AddSink([](const std::string&) {}).Name("discard");
  }
  return Measure(env, o);
}

// Runs the job built in `env` and measures it.
RunResult Measure(weir::StreamExecutionEnvironment& env, const Options& o) {
  const int64_t n = o.records;
  g_first_record_ns = 0;
  double cpu0 = CpuSeconds();
  int64_t t0 = NowNanos();
  auto client = env.ExecuteAsync("weir-bench");
  if (o.workload == "recovery") {
    // Fail in the middle, once a checkpoint holds the state built so far: one that
    // completed after the source reached the middle.
    int64_t middle_checkpoints = -1;
    while (client->metrics().status == weir::JobStatus::kCreated ||
           client->metrics().status == weir::JobStatus::kRunning) {
      auto m = client->metrics();
      uint64_t done = m.operators.size() > 1 ? m.operators[1].records : 0;
      if (done >= static_cast<uint64_t>(n / 2)) {
        if (middle_checkpoints < 0) {
          middle_checkpoints = m.checkpoints.completed;
        } else if (m.checkpoints.completed > middle_checkpoints) {
          g_probe.fail_at.store(static_cast<int64_t>(done) + 1'000);
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  weir::JobResult r = client->Wait();
  RunResult out;
  out.seconds = static_cast<double>(NowNanos() - t0) / 1e9;
  out.cpu_seconds = CpuSeconds() - cpu0;
  out.latency_ms = g_latency.TakeMillis();
  if (g_first_record_ns > 0) {
    out.first_record_ms = static_cast<double>(g_first_record_ns - t0) / 1e6;
  }
  out.metrics = r.metrics;
  out.peak_rss_kb = PeakRssKb();
  if (!r.ok()) out.error = r.error();
  if (o.workload == "recovery") {
    if (g_probe.resumed_ns > 0) {
      out.recovery_resume_ms = static_cast<double>(g_probe.resumed_ns - g_probe.failed_ns) / 1e6;
    }
    if (g_probe.caught_up_ns > 0) {
      out.recovery_catch_up_ms =
          static_cast<double>(g_probe.caught_up_ns - g_probe.failed_ns) / 1e6;
    }
  }
  return out;
}

// The same computation without an engine: one thread, one hash map, one output buffer.
RunResult RunBaseline(const Options& o) {
  const int64_t n = o.records;
  const int64_t keys = o.keys;
  std::ofstream file;
  bool to_file = o.sink == "file";
  if (to_file) file.open(o.dir + "/baseline.txt", std::ios::binary | std::ios::trunc);
  std::string buffer;
  buffer.reserve(1 << 16);
  std::unordered_map<int64_t, int64_t> sums;
  int64_t single = 0;
  double cpu0 = CpuSeconds();
  int64_t t0 = NowNanos();
  for (int64_t i = 0; i < n; ++i) {
    int64_t value = keys == 1 ? (i < n - 1 ? 0 : 1000) : 1 + i % 7;
    int64_t sum = keys == 1 ? (single += value) : (sums[i % keys] += value);
    char text[24];
    auto res = std::to_chars(text, text + sizeof text, sum);
    buffer.append(text, res.ptr);
    buffer.push_back('\n');
    if (buffer.size() >= (1 << 16) - 32) {
      if (to_file) file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  if (to_file) {
    file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    file.flush();
  }
  RunResult out;
  out.seconds = static_cast<double>(NowNanos() - t0) / 1e9;
  out.cpu_seconds = CpuSeconds() - cpu0;
  out.peak_rss_kb = PeakRssKb();
  return out;
}

std::string Rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1fM", per_second / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fK", per_second / 1e3);
  }
  return buf;
}

void Report(const Options& o, const RunResult& r, double baseline_rate) {
  double rate = static_cast<double>(o.records) / r.seconds;
  double per_core = static_cast<double>(o.records) / std::max(r.cpu_seconds, 1e-9);
  std::vector<double> durations, sizes, written, sync, async;
  int64_t max_alignment = 0;
  for (const auto& c : r.metrics.checkpoints.history) {
    durations.push_back(static_cast<double>(c.duration_ms));
    sync.push_back(static_cast<double>(c.sync_ms));
    async.push_back(static_cast<double>(c.async_ms));
    sizes.push_back(static_cast<double>(c.size_bytes));
    written.push_back(static_cast<double>(c.checkpointed_bytes));
    max_alignment = std::max(max_alignment, c.alignment_ms);
  }
  if (o.json) {
    std::printf(
        "{\"workload\":\"%s\",\"records\":%lld,\"keys\":%lld,\"parallelism\":\"%s\","
        "\"backend\":\"%s\",\"checkpoint\":\"%s\",\"mode\":\"%s\",\"sink\":\"%s\","
        "\"emit\":\"%s\","
        "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"records_per_s\":%.0f,"
        "\"records_per_cpu_s\":%.0f,\"first_record_ms\":%.1f,"
        "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
        "\"checkpoints\":%zu,\"checkpoint_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
        "\"checkpoint_sync_ms_p50\":%.1f,\"checkpoint_async_ms_p50\":%.1f,"
        "\"checkpoint_bytes_p50\":%.0f,\"checkpoint_written_bytes_p50\":%.0f,"
        "\"alignment_ms_max\":%lld,\"peak_rss_kb\":%ld,"
        "\"baseline_ratio\":%.3f,\"recovery_resume_ms\":%.1f,\"recovery_catch_up_ms\":%.1f,"
        "\"error\":\"%s\"}\n",
        o.workload.c_str(), static_cast<long long>(o.records), static_cast<long long>(o.keys),
        r.metrics.operators.empty() ? "1"
                                    : std::to_string(r.metrics.operators[2].parallelism).c_str(),
        o.backend.c_str(), o.checkpoint.c_str(), o.mode.c_str(), o.sink.c_str(), o.emit.c_str(),
        r.seconds,
        r.cpu_seconds, rate, per_core, r.first_record_ms, Percentile(r.latency_ms, 50),
        Percentile(r.latency_ms, 99), Percentile(r.latency_ms, 99.9), durations.size(),
        Percentile(durations, 50), Percentile(durations, 99),
        durations.empty() ? 0.0 : *std::max_element(durations.begin(), durations.end()),
        Percentile(sync, 50), Percentile(async, 50), Percentile(sizes, 50),
        Percentile(written, 50), static_cast<long long>(max_alignment), r.peak_rss_kb,
        baseline_rate > 0 ? rate / baseline_rate : 0.0, r.recovery_resume_ms,
        r.recovery_catch_up_ms, r.error.c_str());
    std::fflush(stdout);
    return;
  }
  std::printf(
      "%-8s records=%lld keys=%lld backend=%s checkpoint=%s mode=%s sink=%s%s: "
      "%s rec/s, %s rec/s per CPU-second (cpu %.2f s, wall %.2f s)",
      o.workload.c_str(), static_cast<long long>(o.records), static_cast<long long>(o.keys),
      o.backend.c_str(), o.checkpoint.c_str(), o.mode.c_str(), o.sink.c_str(),
      o.emit == "sum" ? " emit=sum" : "", Rate(rate).c_str(),
      Rate(per_core).c_str(), r.cpu_seconds, r.seconds);
  if (!r.latency_ms.empty()) {
    std::printf(", latency p50 %.3f ms p99 %.3f ms p99.9 %.3f ms", Percentile(r.latency_ms, 50),
                Percentile(r.latency_ms, 99), Percentile(r.latency_ms, 99.9));
  }
  if (!durations.empty()) {
    std::printf(
        ", %zu checkpoints p50 %.0f ms p99 %.0f ms max %.0f ms (sync p50 %.0f ms, async p50 "
        "%.0f ms) size p50 %s (written %s), alignment max %lld ms",
        durations.size(), Percentile(durations, 50), Percentile(durations, 99),
        *std::max_element(durations.begin(), durations.end()), Percentile(sync, 50),
        Percentile(async, 50),
        weir::FormatBytes(static_cast<uint64_t>(Percentile(sizes, 50))).c_str(),
        weir::FormatBytes(static_cast<uint64_t>(Percentile(written, 50))).c_str(),
        static_cast<long long>(max_alignment));
  }
  if (o.workload == "window" && !r.metrics.operators.empty()) {
    double fired = static_cast<double>(r.metrics.operators.back().records);
    std::printf(", %.0f windows fired (%s per second)", fired, Rate(fired / r.seconds).c_str());
  }
  if (o.workload == "recovery") {
    std::printf(", recovery: resumed %.1f ms, caught up %.1f ms after the failure",
                r.recovery_resume_ms, r.recovery_catch_up_ms);
  }
  if (baseline_rate > 0) std::printf(", %.2fx of the plain loop", rate / baseline_rate);
  std::printf(", peak RSS %s",
              weir::FormatBytes(static_cast<uint64_t>(r.peak_rss_kb) * 1024).c_str());
  if (!r.error.empty()) std::printf(", ERROR: %s", r.error.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  weir::CommandLine cli("weir_bench", "End-to-end benchmarks of weir (see BENCH.md).");
  Options o;
  cli.AddOption("--workload", &o.workload, "seed | baseline | recovery | window");
  cli.AddOption("--window-ms", &o.window_ms, "window: the tumbling windows' size in ms");
  cli.AddOption("--records", &o.records, "Records to process");
  cli.AddOption("--keys", &o.keys, "Distinct keys (1: the seed's constant key)");
  cli.AddOption("--backend", &o.backend, "State backend: hashmap | rocksdb");
  cli.AddOption("--checkpoint", &o.checkpoint, "Checkpoint interval (e.g. 1s, 100ms) or off");
  cli.AddOption("--mode", &o.mode, "EXACTLY_ONCE | AT_LEAST_ONCE");
  cli.AddOption("--sink", &o.sink, "file (exactly-once text file) | discard");
  cli.AddOption("--emit", &o.emit,
                "text (each sum a line, as the seed) | sum (the number itself, with --sink "
                "discard: the same work as an engine that emits numbers)");
  cli.AddOption("--dir", &o.dir,
                "Directory for output and checkpoints (kept); default: a temporary directory, "
                "removed at exit");
  cli.AddOption("--repeat", &o.repeat, "Runs of the workload");
  cli.AddFlag("--json", &o.json, "One JSON object per run instead of a line of text");
  cli.AddFlag("--no-baseline", &o.no_baseline,
              "Skip the plain loop after each seed run (and its ratio), so the process runs "
              "only the job");
  if (auto code = cli.Parse(argc, argv)) return *code;
  if (o.records < 1 || o.keys < 1 || o.repeat < 1 || o.window_ms < 1) {
    std::fprintf(stderr,
                 "weir_bench: --records, --keys, --repeat and --window-ms must be positive\n");
    return 2;
  }
  if (o.workload != "seed" && o.workload != "baseline" && o.workload != "recovery" &&
      o.workload != "window") {
    std::fprintf(stderr, "weir_bench: unknown --workload '%s'\n", o.workload.c_str());
    return 2;
  }
  if (o.emit != "text" && (o.emit != "sum" || o.sink != "discard" || o.workload != "seed")) {
    std::fprintf(stderr,
                 "weir_bench: --emit is text, or sum with --workload seed and --sink discard\n");
    return 2;
  }
  if (o.workload == "recovery" && o.checkpoint == "off") o.checkpoint = "1s";
  // Benchmark output (gigabytes at times) must never land in the working tree by default.
  std::string temporary;
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/weir_bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("weir_bench: cannot create a temporary directory");
      return 1;
    }
    o.dir = temporary = pattern;
  }
  struct RemoveAtExit {
    std::string dir;
    ~RemoveAtExit() {
      std::error_code ignored;
      if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
    }
  } remove_at_exit{temporary};
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  weir::InitLogging();
  if (std::getenv("WEIR_LOG_LEVEL") == nullptr) spdlog::set_level(spdlog::level::warn);
  for (int i = 0; i < o.repeat; ++i) {
    if (o.workload == "baseline") {
      Report(o, RunBaseline(o), 0);
      continue;
    }
    g_probe.fail_at = -1;
    g_probe.failed = false;
    g_probe.failed_ns = g_probe.resumed_ns = g_probe.caught_up_ns = 0;
    RunResult r = RunSeed(o, cli.configuration());
    Options b = o;
    b.workload = "baseline";
    double baseline_rate = o.workload == "seed" && !o.no_baseline
                               ? static_cast<double>(o.records) / RunBaseline(b).seconds
                               : 0.0;
    Report(o, r, baseline_rate);
    if (!r.error.empty()) return 1;
  }
  return 0;
}
