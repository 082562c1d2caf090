// KafkaSink: writes a stream to Apache Kafka, with Flink's KafkaSink builder and semantics.
//
//   auto sink = weir::KafkaSink<int64_t>::Builder()
//                   .SetBootstrapServers("127.0.0.1:9092")
//                   .SetTopic("sums")                        // values: the record as text
//                   .SetDeliveryGuarantee(weir::DeliveryGuarantee::kExactlyOnce)
//                   .SetTransactionalIdPrefix("sums-job")    // unique per job, stable across runs
//                   .SetProperty("linger.ms", "20")          // any librdkafka property
//                   .Build();
//   stream.SinkTo(sink).Name("sums to Kafka").Uid("kafka-sink");
//
// A record becomes a Kafka record through a record serializer (topic, partition, key, value,
// headers, timestamp: SetRecordSerializer), or a key and value serializer with the sink's
// topic; by default the value is the record's text form (as WriteAsText writes it) and the
// key is null. Delivery guarantees (Flink's DeliveryGuarantee):
//
//   kNone         records are sent as they come; nothing is waited for at a checkpoint, so a
//                 failure may lose what was in flight. Flushed at the end of input.
//   kAtLeastOnce  a checkpoint completes only once every record written before its barrier
//                 is acknowledged by the brokers (acks=all); after a failure the records since
//                 the checkpoint are written again (duplicates, nothing lost).
//   kExactlyOnce  one Kafka transaction per checkpoint and subtask, committed when the
//                 checkpoint completes: a read_committed consumer sees every record exactly
//                 once, whatever crashes and restores happen. Needs checkpointing, a
//                 transactional id prefix and Kafka 3.0 or newer (PLAINTEXT listeners).
//
// Exactly-once, in short (README, "Kafka"): subtask s writes the transaction that follows its
// k-th one as transactional id "<prefix>-<s>-<k+1>", with a producer of its own. At a barrier
// the transaction's records are flushed, it is sealed, and its transactional id, producer id
// and epoch go into the checkpoint; it is committed when the checkpoint completes. A restore commits the transactions the
// checkpoint holds: librdkafka cannot resume a transaction of another process, so weir sends
// EndTxn itself, as the producer id and epoch the checkpoint recorded, after asking the
// coordinator (DescribeTransactions) whether the transaction is still open, committed or was
// aborted. Transactions a crashed run left open are aborted (fenced) once the restored job
// runs. transaction.timeout.ms (default: the brokers' transaction.max.timeout.ms) bounds how
// long a prepared transaction waits for its commit, a restore after a crash included; a larger
// value than the brokers allow is refused at start.
//
// Thread-safety: a KafkaSink is an immutable description, copied into each parallel subtask;
// each subtask's writer belongs to that subtask (weir/sink.h says which of its methods run on
// a snapshot thread). Serializers are called on the subtask's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/detail/sinks.h"
#include "weir/sink.h"

namespace weir {

// How a sink's output survives failures (Flink's org.apache.flink.connector.base).
enum class DeliveryGuarantee {
  kNone,
  kAtLeastOnce,
  kExactlyOnce,
};

// "NONE", "AT_LEAST_ONCE", "EXACTLY_ONCE".
std::string_view DeliveryGuaranteeName(DeliveryGuarantee guarantee);

// One record as Kafka stores it.
struct KafkaRecord {
  std::string topic;                 // empty: the sink's topic (SetTopic)
  std::optional<int32_t> partition;  // empty: librdkafka's partitioner (by key; "partitioner")
  std::optional<std::string> key;    // empty: a null key
  std::optional<std::string> value;  // empty: a null value (a tombstone)
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<int64_t> timestamp_ms;  // empty: the time it is produced
};

// What a KafkaSink was built with.
struct KafkaSinkOptions {
  std::string bootstrap_servers;  // required: "host:port,host:port"
  std::string topic;              // records that name no topic go here; checked at start
  DeliveryGuarantee delivery_guarantee = DeliveryGuarantee::kNone;  // Flink's default
  // kExactlyOnce: required. Transactional ids are "<prefix>-<subtask>-<n>"; the prefix must
  // be unique among the jobs writing to a cluster and stay the same across restores.
  std::string transactional_id_prefix;
  // librdkafka properties, passed through ("linger.ms", "compression.type", ...). The sink
  // sets transactional.id itself; transaction.timeout.ms defaults to the brokers' maximum;
  // enable.idempotence defaults to true (records keep their order through retries).
  std::map<std::string, std::string> properties;
};

// The non-template core of the Kafka sink: writes KafkaRecords under the two-phase-commit
// contract (weir/sink.h). Implemented in src/connectors/kafka/kafka_writer.cc, on librdkafka.
class KafkaWriter {
 public:
  explicit KafkaWriter(KafkaSinkOptions options);
  ~KafkaWriter();
  KafkaWriter(const KafkaWriter&) = delete;
  KafkaWriter& operator=(const KafkaWriter&) = delete;

  Status Open(const SinkContext& context);
  Status Commit(std::string_view transaction);
  Status Initialize(const std::vector<SinkOutput>& restored);
  Status OnRestoreConfirmed();
  Status Write(const KafkaRecord& record);
  Result<std::optional<std::string>> Prepare(int64_t checkpoint_id);
  Status Persist(std::string_view transaction);
  std::vector<SinkOutput> SnapshotOutputs() const;
  Status Finish();
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One parallel subtask of a KafkaSink: serializes records and hands them to a KafkaWriter.
template <typename T>
class KafkaSinkWriter final : public TwoPhaseCommitSink<T> {
 public:
  using Serializer = std::function<void(const T&, KafkaRecord*)>;

  KafkaSinkWriter(KafkaSinkOptions options, Serializer serialize)
      : writer_(std::move(options)), serialize_(std::move(serialize)) {}

  Status Open(const SinkContext& context) override {
    if (!serialize_) {
      return Status::InvalidArgument(
          "Kafka sink: the record type has no text form; set a value or record serializer");
    }
    return writer_.Open(context);
  }
  Status Commit(std::string_view txn) override { return writer_.Commit(txn); }
  Status Initialize(const std::vector<SinkOutput>& restored) override {
    return writer_.Initialize(restored);
  }
  Status OnRestoreConfirmed() override { return writer_.OnRestoreConfirmed(); }
  Status Write(const std::vector<T>& records) override {
    for (const T& r : records) {
      serialize_(r, &record_);
      WEIR_RETURN_IF_ERROR(writer_.Write(record_));
    }
    return Status::OK();
  }
  Result<std::optional<std::string>> Prepare(int64_t checkpoint_id) override {
    return writer_.Prepare(checkpoint_id);
  }
  Status Persist(std::string_view txn) override { return writer_.Persist(txn); }
  std::vector<SinkOutput> SnapshotOutputs() override { return writer_.SnapshotOutputs(); }
  Status Finish() override { return writer_.Finish(); }
  void Close() override { writer_.Close(); }

 private:
  KafkaWriter writer_;
  Serializer serialize_;
  KafkaRecord record_;  // reused: its strings keep their capacity from record to record
};

template <typename T>
class KafkaSinkBuilder;

// A Kafka sink, as built: stream.SinkTo(sink) makes one KafkaSinkWriter per parallel subtask.
template <typename T>
class KafkaSink {
 public:
  static KafkaSinkBuilder<T> Builder() { return KafkaSinkBuilder<T>(); }

  std::unique_ptr<TwoPhaseCommitSink<T>> operator()() const {
    return std::make_unique<KafkaSinkWriter<T>>(options_, serialize_);
  }
  const KafkaSinkOptions& options() const { return options_; }

 private:
  friend class KafkaSinkBuilder<T>;
  KafkaSinkOptions options_;
  typename KafkaSinkWriter<T>::Serializer serialize_;
};

// Flink's KafkaSinkBuilder. Every setter returns the builder; Build() makes the sink. Settings
// are checked when the sink starts (a missing bootstrap server, an unknown property, a topic
// that cannot exist): the job fails with an error that names them, and no restart is tried.
template <typename T>
class KafkaSinkBuilder {
 public:
  KafkaSinkBuilder& SetBootstrapServers(std::string servers) {
    options_.bootstrap_servers = std::move(servers);
    return *this;
  }
  // The topic of records whose serializer names none (all of them with SetValueSerializer).
  KafkaSinkBuilder& SetTopic(std::string topic) {
    options_.topic = std::move(topic);
    return *this;
  }
  KafkaSinkBuilder& SetDeliveryGuarantee(DeliveryGuarantee guarantee) {
    options_.delivery_guarantee = guarantee;
    return *this;
  }
  KafkaSinkBuilder& SetTransactionalIdPrefix(std::string prefix) {
    options_.transactional_id_prefix = std::move(prefix);
    return *this;
  }
  // Any librdkafka property (https://github.com/confluentinc/librdkafka, CONFIGURATION.md).
  KafkaSinkBuilder& SetProperty(std::string key, std::string value) {
    options_.properties[std::move(key)] = std::move(value);
    return *this;
  }
  KafkaSinkBuilder& SetProperties(const std::map<std::string, std::string>& properties) {
    for (const auto& [k, v] : properties) options_.properties[k] = v;
    return *this;
  }
  // The whole Kafka record of each stream record. Replaces key and value serializers.
  KafkaSinkBuilder& SetRecordSerializer(std::function<KafkaRecord(const T&)> serializer) {
    record_serializer_ = std::move(serializer);
    return *this;
  }
  // The value of each record (default: its text form), sent to the sink's topic.
  KafkaSinkBuilder& SetValueSerializer(std::function<std::string(const T&)> serializer) {
    value_serializer_ = std::move(serializer);
    return *this;
  }
  // The key of each record (default: a null key).
  KafkaSinkBuilder& SetKeySerializer(std::function<std::string(const T&)> serializer) {
    key_serializer_ = std::move(serializer);
    return *this;
  }

  KafkaSink<T> Build() const {
    KafkaSink<T> sink;
    sink.options_ = options_;
    if (record_serializer_) {
      sink.serialize_ = [f = record_serializer_](const T& v, KafkaRecord* out) { *out = f(v); };
      return sink;
    }
    auto key = key_serializer_;
    if (value_serializer_) {
      sink.serialize_ = [key, value = value_serializer_](const T& v, KafkaRecord* out) {
        if (key) out->key = key(v);
        out->value = value(v);
      };
    } else if constexpr (kHasTextForm) {
      sink.serialize_ = [key](const T& v, KafkaRecord* out) {
        if (key) out->key = key(v);
        if (!out->value) out->value.emplace();
        out->value->clear();
        detail::AppendText(v, &*out->value);
      };
    }
    return sink;
  }

 private:
  static constexpr bool kHasTextForm = std::is_convertible_v<const T&, std::string_view> ||
                                       std::is_arithmetic_v<T> || fmt::is_formattable<T>::value;

  KafkaSinkOptions options_;
  std::function<KafkaRecord(const T&)> record_serializer_;
  std::function<std::string(const T&)> value_serializer_;
  std::function<std::string(const T&)> key_serializer_;
};

}  // namespace weir
