// Helpers for the tests against a real Kafka broker (scripts/kafka.sh): starting a broker,
// creating topics, and reading a topic back as a read_committed (or read_uncommitted)
// consumer would see it. For tests only.
//
// The shared test broker listens on a port derived from the build directory (so that two
// checkouts' test runs do not meet) with its data under the build directory; WEIR_KAFKA_PORT
// and WEIR_KAFKA_DIR override both, as for scripts/kafka.sh. ctest starts it before the Kafka
// tests and stops it after them (the kafka_broker fixture); a test binary run by hand starts
// it itself (a running one is reused).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weir::testing {

// A broker run through scripts/kafka.sh with its own scratch directory and port.
class KafkaBroker {
 public:
  KafkaBroker(std::string dir, int port, std::vector<std::string> env = {});
  // The shared test broker (started if it does not run).
  static KafkaBroker& Shared();

  // scripts/kafka.sh start / stop. Each returns the script's output on failure, "" on success.
  std::string Start();
  std::string Stop();
  // scripts/kafka.sh pause / resume: stopped keeping its data, started again on its address.
  std::string Pause();
  std::string Resume();
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  std::string Run(const std::string& command, int timeout_ms);
  std::string dir_;
  int port_;
  std::vector<std::string> env_;
};

// A name no earlier run used: "<base>-<random hex>".
std::string UniqueName(const std::string& base);

// Creates a topic with `partitions` partitions; "" on success, else the error. Returns once
// the broker lists every partition with a leader.
std::string CreateTopic(const std::string& bootstrap, const std::string& topic, int partitions);
// As CreateTopic, but returns as soon as the controller took the request: the broker may still
// be electing the partitions' leaders.
std::string CreateTopicWithoutWaiting(const std::string& bootstrap, const std::string& topic,
                                      int partitions);

// Grows `topic` to `total_partitions` partitions; "" on success, else the error.
std::string AddPartitions(const std::string& bootstrap, const std::string& topic,
                          int total_partitions);

// The offsets `group` committed for the partitions of `topic` (those without one are left out).
std::map<int32_t, int64_t> CommittedOffsets(const std::string& bootstrap, const std::string& group,
                                            const std::string& topic, int partitions);

// Deletes the records of `topic` partition 0 before `offset` (retention would, in time);
// "" on success, else the error.
std::string DeleteRecordsBefore(const std::string& bootstrap, const std::string& topic,
                                int64_t offset);

// Commits `offset` for partition 0 of `topic` as `group`'s offset; "" on success, else the error.
std::string CommitOffset(const std::string& bootstrap, const std::string& group,
                         const std::string& topic, int64_t offset);

// Writes `values` to `topic`, value i to partition partition_of(i) (idempotent producer,
// flushed before it returns); "" on success, else the error.
std::string ProduceValues(const std::string& bootstrap, const std::string& topic,
                          const std::vector<std::string>& values,
                          int32_t (*partition_of)(size_t index) = nullptr);

// A record for ProduceRecords.
struct TestRecord {
  int32_t partition = 0;
  std::string value;
  std::optional<int64_t> timestamp_ms;  // empty: the producer's clock
  std::vector<std::pair<std::string, std::string>> headers;
};

// Writes `records` to `topic`, in order (idempotent producer, flushed before it returns); ""
// on success, else the error.
std::string ProduceRecords(const std::string& bootstrap, const std::string& topic,
                           const std::vector<TestRecord>& records);

// Creates a topic with `partitions` partitions and topic configuration `config` (e.g.
// max.message.bytes); "" on success, else the error.
std::string CreateTopicWithConfig(const std::string& bootstrap, const std::string& topic,
                                  int partitions,
                                  const std::map<std::string, std::string>& config);

struct ConsumedRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Every record of `topic` a consumer with isolation.level read_committed (or
// read_uncommitted) sees now, from the beginning to the end of each partition (for
// read_committed, the last stable offset: an open transaction hides what follows it). In
// partition, then offset order. Fails the test on an error.
std::vector<ConsumedRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                      bool read_committed = true);

// Reads until at least `count` records are visible (transaction markers are written just
// after a commit returns) or `timeout` passed; returns the last read.
std::vector<ConsumedRecord> ReadTopicAtLeast(
    const std::string& bootstrap, const std::string& topic, size_t count,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The values of each partition, in offset order.
std::map<int32_t, std::vector<std::string>> ValuesByPartition(
    const std::vector<ConsumedRecord>& records);

}  // namespace weir::testing
