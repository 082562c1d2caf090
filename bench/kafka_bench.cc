// kafka_bench: throughput of weir's Kafka sink and source against a running broker, one result
// line per run. bench/kafka_bench.sh runs every case against the broker of scripts/kafka.sh.
//
//   --case sink    a sequence of --records values, each --value-bytes long (the record's number,
//                  zero-padded), written to --topic by the Kafka sink with --delivery-guarantee;
//                  checkpoints every --checkpoint. Source, map and sink are one chained task.
//   --case source  a bounded read of --topic (from its earliest offset to its end as of the
//                  start) by the Kafka source into a sink that counts records and value bytes.
//                  The run fails unless it read exactly --records records.
//
// Both run at parallelism 1 (weir's default: one producer, or one consumer of the topic's
// partitions) unless --parallelism says otherwise. Throughput is records and value bytes (the
// payload, without keys, headers or Kafka's framing) per second of wall time, from the job's
// start to its end (the last commit or flush included), and records per second of this
// process's CPU time (user + system of every thread, librdkafka's included, from getrusage).
// The broker's CPU is not in it: bench/kafka_bench.sh reports that beside it.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/logging.h"
#include "process_usage.h"
#include "weir/cli.h"
#include "weir/connectors/kafka.h"
#include "weir/connectors/kafka_source.h"
#include "weir/weir.h"

namespace {

using weir::bench::CpuSeconds;
using weir::bench::NowNanos;
using weir::bench::PeakRssKb;

std::optional<weir::DeliveryGuarantee> ParseGuarantee(const std::string& s) {
  if (s == "exactly-once") return weir::DeliveryGuarantee::kExactlyOnce;
  if (s == "at-least-once") return weir::DeliveryGuarantee::kAtLeastOnce;
  if (s == "none") return weir::DeliveryGuarantee::kNone;
  return std::nullopt;
}

struct Options {
  std::string test_case;
  std::string bootstrap_servers = "127.0.0.1:19092";
  std::string topic;
  int64_t records = 1'000'000;
  int64_t value_bytes = 100;
  std::string guarantee = "none";
  std::string checkpoint = "1s";
  std::string prefix;  // empty: kafka-bench-<topic>
};

// What the source's counting sink saw, from its subtasks.
std::atomic<int64_t> g_records_read{0};
std::atomic<int64_t> g_bytes_read{0};

// The value of record i: i in decimal, zero-padded on the left to `width` bytes (wider
// numbers keep all their digits).
std::string PaddedValue(int64_t i, int64_t width) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
  size_t n = static_cast<size_t>(end - digits);
  std::string value(std::max(n, static_cast<size_t>(width)), '0');
  std::copy(digits, end, value.end() - static_cast<std::ptrdiff_t>(n));
  return value;
}

void BuildSinkJob(weir::StreamExecutionEnvironment& env, const Options& o,
                  weir::DeliveryGuarantee guarantee) {
  auto sink = weir::KafkaSink<std::string>::Builder()
                  .SetBootstrapServers(o.bootstrap_servers)
                  .SetTopic(o.topic)
                  .SetDeliveryGuarantee(guarantee)
                  .SetTransactionalIdPrefix(o.prefix)
                  .Build();
  const int64_t width = o.value_bytes;
  env.FromSequence(0, o.records - 1)
      .Map([width](int64_t i) { return PaddedValue(i, width); })
      .Name("values")
      .SinkTo(sink)
      .Name("kafka-sink");
}

void BuildSourceJob(weir::StreamExecutionEnvironment& env, const Options& o) {
  auto source = weir::KafkaSource<int64_t>::Builder()
                    .SetBootstrapServers(o.bootstrap_servers)
                    .SetTopics({o.topic})
                    .SetStartingOffsets(weir::KafkaOffsetsInitializer::Earliest())
                    .SetBounded()
                    .SetDeserializer([](const weir::KafkaConsumerRecord& r) -> int64_t {
                      return r.value ? static_cast<int64_t>(r.value->size()) : 0;
                    })
                    .Build();
  env.FromSource(source, weir::WatermarkStrategy<int64_t>::NoWatermarks(), "kafka-source")
      .AddSink([](const int64_t& value_bytes) {
        g_records_read.fetch_add(1, std::memory_order_relaxed);
        g_bytes_read.fetch_add(value_bytes, std::memory_order_relaxed);
      })
      .Name("count");
}

}  // namespace

int main(int argc, char** argv) {
  weir::CommandLine cli("kafka_bench",
                        "Throughput of weir's Kafka sink and source (see BENCH.md, \"Kafka\").");
  Options o;
  cli.AddOption("--case", &o.test_case, "sink (write --records values) | source (read --topic)");
  cli.AddOption("--bootstrap-servers", &o.bootstrap_servers, "Kafka bootstrap servers");
  cli.AddOption("--topic", &o.topic, "Topic written (sink) or read (source)");
  cli.AddOption("--records", &o.records,
                "Records to write (sink), or the records the topic holds (source)");
  cli.AddOption("--value-bytes", &o.value_bytes, "sink: bytes per record value");
  cli.AddOption("--delivery-guarantee", &o.guarantee,
                "sink: none | at-least-once | exactly-once");
  cli.AddOption("--checkpoint", &o.checkpoint, "Checkpoint interval (e.g. 1s) or off");
  cli.AddOption("--transactional-id-prefix", &o.prefix,
                "sink, exactly-once: transactional id prefix (default kafka-bench-<topic>)");
  if (auto code = cli.Parse(argc, argv)) return *code;
  if (o.test_case != "sink" && o.test_case != "source") {
    std::fprintf(stderr, "kafka_bench: --case must be sink or source (got '%s')\n",
                 o.test_case.c_str());
    return 2;
  }
  if (o.topic.empty()) {
    std::fprintf(stderr, "kafka_bench: --topic is required\n");
    return 2;
  }
  if (o.records < 1 || o.value_bytes < 1 || o.value_bytes > 1'000'000) {
    std::fprintf(stderr,
                 "kafka_bench: --records must be positive and --value-bytes in 1..1000000\n");
    return 2;
  }
  auto guarantee = ParseGuarantee(o.guarantee);
  if (!guarantee) {
    std::fprintf(stderr,
                 "kafka_bench: --delivery-guarantee must be none, at-least-once or "
                 "exactly-once (got '%s')\n",
                 o.guarantee.c_str());
    return 2;
  }
  if (*guarantee == weir::DeliveryGuarantee::kExactlyOnce && o.checkpoint == "off") {
    std::fprintf(stderr, "kafka_bench: exactly-once needs checkpoints (--checkpoint)\n");
    return 2;
  }
  if (o.prefix.empty()) o.prefix = "kafka-bench-" + o.topic;

  // Checkpoints go to a temporary directory, removed at exit.
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/kafka_bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("kafka_bench: cannot create a temporary directory");
    return 1;
  }
  struct RemoveAtExit {
    std::string dir;
    ~RemoveAtExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_at_exit{dir};

  weir::InitLogging();
  spdlog::set_level(spdlog::level::warn);
  weir::Configuration config = cli.configuration();
  config.Set("restart-strategy.type", "none");
  config.Set("execution.checkpointing.dir", dir + "/checkpoints");
  if (o.checkpoint != "off") {
    config.Set("execution.checkpointing.interval", o.checkpoint);
    config.Set("execution.checkpointing.mode", "EXACTLY_ONCE");
  }
  weir::StreamExecutionEnvironment env(config);
  if (o.test_case == "sink") {
    BuildSinkJob(env, o, *guarantee);
  } else {
    BuildSourceJob(env, o);
  }

  double cpu0 = CpuSeconds();
  int64_t t0 = NowNanos();
  weir::JobResult r = env.ExecuteAsync("kafka-bench " + o.test_case)->Wait();
  double seconds = static_cast<double>(NowNanos() - t0) / 1e9;
  double cpu = CpuSeconds() - cpu0;

  std::string error = r.ok() ? "" : r.error();
  int64_t bytes = 0;
  if (o.test_case == "source") {
    bytes = g_bytes_read.load();
    if (error.empty() && g_records_read.load() != o.records) {
      error = "read " + std::to_string(g_records_read.load()) + " records from topic '" +
              o.topic + "', expected " + std::to_string(o.records);
    }
  } else {
    // PaddedValue keeps every digit, so values of numbers wider than --value-bytes are longer.
    bytes = 0;
    for (int64_t first = 0, limit = 10, digits = 1; first < o.records;
         first = limit, limit *= 10, ++digits) {
      int64_t count = std::min(limit, o.records) - first;  // the numbers with `digits` digits
      bytes += count * std::max(digits, o.value_bytes);
    }
  }

  std::vector<double> durations;
  for (const auto& c : r.metrics.checkpoints.history) {
    durations.push_back(static_cast<double>(c.duration_ms));
  }
  std::sort(durations.begin(), durations.end());
  double rate = static_cast<double>(o.records) / seconds;
  std::printf(
      "kafka %-6s guarantee=%s checkpoint=%s records=%lld: %.0f rec/s, %.1f MB/s, %.0f rec/s "
      "per CPU-second (cpu %.2f s, wall %.2f s)",
      o.test_case.c_str(), o.test_case == "sink" ? o.guarantee.c_str() : "-",
      o.checkpoint.c_str(), static_cast<long long>(o.records), rate,
      static_cast<double>(bytes) / seconds / 1e6, static_cast<double>(o.records) / cpu, cpu,
      seconds);
  if (!durations.empty()) {
    std::printf(", %zu checkpoints p50 %.0f ms max %.0f ms", durations.size(),
                durations[durations.size() / 2], durations.back());
  }
  std::printf(", peak RSS %ld MiB", PeakRssKb() / 1024);
  if (!error.empty()) std::printf(", ERROR: %s", error.c_str());
  std::printf("\n");
  std::fflush(stdout);
  return error.empty() ? 0 : 1;
}
