// The seed job with its sums written to Kafka: Flink's "Fault Tolerant Zero Generator with
// Final 1000" on the Kafka sink (weir/connectors/kafka.h).
//
// The numbers 0..end (UTF-8 decimal values) are read from the input topic with the Kafka
// source (weir/connectors/kafka_source.h; bounded by default: up to the end of the topic as it
// was at the start), mapped to `end` zeros followed by a single 1000, keyed by a constant, and
// summed in keyed state (RocksDB); every running sum goes as UTF-8 text to the output topic, by
// default exactly-once: one Kafka transaction per checkpoint, committed when the checkpoint
// completes. The source's offsets are in every checkpoint. Kill it at any moment and run it
// again with --restore latest: a read_committed consumer of the output topic sees `end` zeros
// and a last 1000, each exactly once. scripts/run_kafka.sh writes the input topic first.
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "../common/seed_job.h"
#include "weir/cli.h"
#include "weir/connectors/kafka.h"
#include "weir/connectors/kafka_source.h"
#include "weir/weir.h"

namespace {

std::optional<weir::DeliveryGuarantee> ParseGuarantee(const std::string& s) {
  if (s == "exactly-once") return weir::DeliveryGuarantee::kExactlyOnce;
  if (s == "at-least-once") return weir::DeliveryGuarantee::kAtLeastOnce;
  if (s == "none") return weir::DeliveryGuarantee::kNone;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  weir::CommandLine cli(
      "kafka_fault_tolerance",
      "The seed job on Kafka: reads 0..END from the input topic, maps it to END zeros and a "
      "final 1000 and keeps a running sum, with checkpoints every second. Writes each sum as "
      "text to the output topic.");
  int64_t end = 20'000;
  int64_t delay_ms = 1;
  std::string bootstrap_servers = "127.0.0.1:19092";
  std::string input_topic = "numbers";
  std::string output_topic = "sums";
  bool unbounded = false;
  std::string guarantee_name = "exactly-once";
  std::string prefix = "kafka-fault-tolerance";
  int64_t fail_at = -1;
  cli.AddOption("--end", &end, "Last sequence number: the job emits END zeros and one 1000");
  cli.AddOption("--delay-ms", &delay_ms, "Milliseconds the running sum sleeps per element");
  cli.AddOption("--bootstrap-servers", &bootstrap_servers,
                "Kafka bootstrap servers (host:port,...); scripts/kafka.sh start prints one");
  cli.AddOption("--input-topic", &input_topic,
                "Topic the numbers are read from (UTF-8 decimal values, 0..END)");
  cli.AddOption("--output-topic", &output_topic, "Topic the sums go to");
  cli.AddFlag("--unbounded", &unbounded,
              "Read the input topic without end (default: up to its end as of the start)");
  cli.AddOption("--delivery-guarantee", &guarantee_name, "exactly-once, at-least-once or none");
  cli.AddOption("--transactional-id-prefix", &prefix,
                "Prefix of the sink's Kafka transactional ids (exactly-once); keep it across "
                "restores, and unique per job on the cluster");
  cli.AddOption("--fail-at", &fail_at,
                "Throw once at sequence element N, to show in-process recovery (-1: never)");
  if (auto exit_code = cli.Parse(argc, argv)) return *exit_code;
  auto guarantee = ParseGuarantee(guarantee_name);
  if (!guarantee) {
    std::fprintf(stderr,
                 "kafka_fault_tolerance: --delivery-guarantee must be exactly-once, "
                 "at-least-once or none (got '%s')\n",
                 guarantee_name.c_str());
    return 2;
  }
  if (end < 0) {
    std::fprintf(stderr, "kafka_fault_tolerance: --end must not be negative (got %lld)\n",
                 static_cast<long long>(end));
    return 2;
  }
  if (delay_ms < 0 || delay_ms > 60'000) {
    std::fprintf(stderr,
                 "kafka_fault_tolerance: --delay-ms must be between 0 and 60000 (got %lld)\n",
                 static_cast<long long>(delay_ms));
    return 2;
  }

  weir::StreamExecutionEnvironment env(cli.configuration());
  seed::ApplyDefaults(env.config(), "kafka_fault_tolerance");

  auto sink = weir::KafkaSink<int64_t>::Builder()
                  .SetBootstrapServers(bootstrap_servers)
                  .SetTopic(output_topic)
                  .SetDeliveryGuarantee(*guarantee)
                  .SetTransactionalIdPrefix(prefix)
                  .Build();

  auto source_builder =
      weir::KafkaSource<int64_t>::Builder()
          .SetBootstrapServers(bootstrap_servers)
          .SetTopics({input_topic})
          .SetGroupId(prefix)  // the source's offsets, committed at checkpoints (monitoring)
          .SetStartingOffsets(weir::KafkaOffsetsInitializer::Earliest())
          .SetValueOnlyDeserializer([](std::string_view v) -> int64_t {
            int64_t n = 0;
            auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || ptr != v.data() + v.size()) {
              throw std::runtime_error("input record '" + std::string(v) +
                                       "' is not a decimal number");
            }
            return n;
          });
  if (!unbounded) source_builder.SetBounded();

  seed::RunningSums<int64_t>(
      env.FromSource(source_builder.Build(), weir::WatermarkStrategy<int64_t>::NoWatermarks(),
                     "numbers-from-kafka")
          .Uid("numbers-from-kafka"),
      end, fail_at, delay_ms)
      .SinkTo(sink)
      .Name("sums-to-kafka")
      .Uid("sums-to-kafka");

  return weir::RunJob(env, "Fault Tolerant Zero Generator with Final 1000 (Kafka)", cli);
}
