// KafkaSource: reads Apache Kafka topics on the source API (weir/source.h), with Flink's
// KafkaSource builder and semantics, for env.FromSource.
//
//   auto source = weir::KafkaSource<int64_t>::Builder()
//                     .SetBootstrapServers("127.0.0.1:9092")
//                     .SetTopics({"numbers"})
//                     .SetGroupId("my-job")              // offsets committed here (monitoring)
//                     .SetStartingOffsets(weir::KafkaOffsetsInitializer::Earliest())
//                     .SetBounded()                      // stop at the offsets latest at start
//                     .SetValueOnlyDeserializer([](std::string_view v) { return ParseInt(v); })
//                     .SetProperty("fetch.min.bytes", "1")  // any librdkafka property
//                     .Build();
//   env.FromSource(source, weir::WatermarkStrategy<int64_t>::NoWatermarks(), "numbers");
//
// Each partition is a split (KafkaPartitionSplit: topic, partition, next offset, stopping
// offset). The enumerator lists the partitions of the source's topics (SetTopics) or of every
// topic whose name matches its pattern (SetTopicPattern) when the job starts, resolves their
// starting offsets (earliest, latest, the group's committed offset with a fallback, the first
// record at or after a timestamp, or explicit offsets with a fallback) and, bounded, their
// stopping offsets (the end of each partition at start), and assigns each partition to a
// subtask deterministically (as Flink: from the topic's hash and the partition number). Every
// checkpoint holds each partition's next offset; a restore, at any parallelism, resumes every
// partition there, neither skipping nor repeating a record. A topic that does not exist (named
// by SetTopics), an explicit offset outside its partition, or brokers that cannot be reached
// fail the job at start with an error naming them.
//
// A reader has one librdkafka consumer (manual assignment, no group rebalancing) with
// isolation.level=read_committed unless set otherwise, and never blocks its task: when
// librdkafka has nothing fetched it says "nothing available" and librdkafka's queue callback
// wakes the task when records arrive. Each record carries its Kafka timestamp into the
// watermark strategy, with a watermark per partition. When a checkpoint completes, its offsets
// are committed to the group (if a group id is set): for monitoring only, as in Flink; fault
// tolerance uses the checkpoint. An unbounded source looks for partitions added to its topics,
// and for new topics matching its pattern, every partition.discovery.interval.ms (a property of
// the source, not librdkafka's; default 5 min as in Flink, 0 turns it off) and reads new ones
// from their earliest offset; so does a restore (where brokers that do not answer yet only
// delay that discovery to its next round). A bounded source reads the partitions there were at
// the start.
//
// Thread-safety: as weir::Source: a KafkaSource is an immutable description.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/source.h"

namespace weir {

// A partition and where its reader is: the offset of the next record to emit, and (bounded)
// the offset it stops before; kUnbounded reads on.
struct KafkaPartitionSplit {
  static constexpr int64_t kUnbounded = -1;
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  int64_t stopping_offset = kUnbounded;
  // "topic-partition": the split's id (its watermark's).
  std::string id() const { return topic + "-" + std::to_string(partition); }
};

// What the enumerator keeps in checkpoints: the partitions it assigned.
struct KafkaEnumeratorState {
  std::vector<std::string> assigned;  // split ids
};

template <>
struct Codec<KafkaPartitionSplit>
    : FieldsCodec<KafkaPartitionSplit, &KafkaPartitionSplit::topic, &KafkaPartitionSplit::partition,
                  &KafkaPartitionSplit::next_offset, &KafkaPartitionSplit::stopping_offset> {};
template <>
struct Codec<KafkaEnumeratorState>
    : FieldsCodec<KafkaEnumeratorState, &KafkaEnumeratorState::assigned> {};

// A topic's partition, as a key of explicit starting offsets.
struct KafkaTopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const KafkaTopicPartition&) const = default;
};

// Where a partition the job has not read yet starts (Flink's OffsetsInitializer).
struct KafkaOffsetsInitializer {
  enum class Kind { kEarliest, kLatest, kCommitted, kTimestamp, kOffsets };
  Kind kind = Kind::kEarliest;
  // kCommitted and kOffsets: where a partition without a committed or given offset starts
  // (kEarliest or kLatest).
  Kind fallback = Kind::kEarliest;
  int64_t timestamp_ms = 0;                        // kTimestamp
  std::map<KafkaTopicPartition, int64_t> offsets;  // kOffsets

  static KafkaOffsetsInitializer Earliest() { return Of(Kind::kEarliest, Kind::kEarliest); }
  static KafkaOffsetsInitializer Latest() { return Of(Kind::kLatest, Kind::kLatest); }
  // The group's committed offsets; `fallback` (Earliest() or Latest()) where there is none.
  static KafkaOffsetsInitializer Committed(KafkaOffsetsInitializer fallback = Earliest()) {
    return Of(Kind::kCommitted, fallback.kind == Kind::kLatest ? Kind::kLatest : Kind::kEarliest);
  }
  // Each partition from its first record whose timestamp is >= `timestamp_ms` (milliseconds
  // since the epoch; Kafka's ListOffsets by time); a partition without one starts at its end.
  static KafkaOffsetsInitializer Timestamp(int64_t timestamp_ms) {
    KafkaOffsetsInitializer i = Of(Kind::kTimestamp, Kind::kEarliest);
    i.timestamp_ms = timestamp_ms;
    return i;
  }
  // Each partition in `offsets` from the offset given there (which must lie between the
  // partition's earliest and end offsets); any other partition from the group's committed
  // offset if a group id is set and it has one, else from `fallback` (Earliest() or Latest()),
  // as Flink's OffsetsInitializer.offsets(map, resetStrategy).
  static KafkaOffsetsInitializer Offsets(std::map<KafkaTopicPartition, int64_t> offsets,
                                         KafkaOffsetsInitializer fallback = Earliest()) {
    KafkaOffsetsInitializer i =
        Of(Kind::kOffsets, fallback.kind == Kind::kLatest ? Kind::kLatest : Kind::kEarliest);
    i.offsets = std::move(offsets);
    return i;
  }

 private:
  static KafkaOffsetsInitializer Of(Kind kind, Kind fallback) {
    KafkaOffsetsInitializer i;
    i.kind = kind;
    i.fallback = fallback;
    return i;
  }
};

// What a KafkaSource was built with.
struct KafkaSourceOptions {
  std::string bootstrap_servers;    // required: "host:port,host:port"
  // Required: topics, or a topic pattern (not both).
  std::vector<std::string> topics;  // each must exist at start
  // A regular expression (ECMAScript syntax) a topic's whole name must match; matching topics
  // are found at start and at every partition discovery. Internal topics ("__...") never match.
  std::string topic_pattern;
  // The consumer group offsets are committed to when a checkpoint completes, and read from by
  // Committed(). Default: none (nothing committed; Committed() needs one).
  std::string group_id;
  KafkaOffsetsInitializer starting_offsets =
      KafkaOffsetsInitializer::Earliest();  // Flink's default
  bool bounded = false;  // true: stop at each partition's end offset as of the start
  // librdkafka consumer properties, passed through. isolation.level defaults to read_committed.
  // And the source's partition.discovery.interval.ms (milliseconds; default 300000; 0: off).
  std::map<std::string, std::string> properties;
};

// One Kafka record as a deserializer sees it: the views are valid during the call only.
struct KafkaConsumerRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;             // the record's Kafka timestamp (create or log append time)
  std::optional<std::string_view> key;  // empty: a null key
  std::optional<std::string_view> value;  // empty: a null value (a tombstone)
  // The record's headers (name, value), in their order, duplicates kept; a null value is empty.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

namespace kafka {

// The non-template part of a reader: a librdkafka consumer of the reader's partitions.
// Implemented in src/connectors/kafka/kafka_source.cc. Owned by the task thread.
class KafkaSplitReader {
 public:
  KafkaSplitReader(const KafkaSourceOptions& options, SourceReaderContext& context);
  ~KafkaSplitReader();
  KafkaSplitReader(const KafkaSplitReader&) = delete;
  KafkaSplitReader& operator=(const KafkaSplitReader&) = delete;

  // Fetches up to `max` records, without waiting, into records() (valid until the next call).
  // Splits that reached their stopping offset are in finished() (their ids) until the next call.
  void Fetch(size_t max);
  const std::vector<KafkaConsumerRecord>& records() const { return records_; }
  const std::vector<std::string>& finished() const { return finished_; }
  // Split ids not announced yet (their watermark starts now), cleared by the call.
  std::vector<std::string> TakeNewSplitIds();

  void AddSplits(std::vector<KafkaPartitionSplit> splits);
  bool empty() const;
  std::vector<KafkaPartitionSplit> Snapshot(int64_t checkpoint_id);
  void CommitOffsets(int64_t checkpoint_id);
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<KafkaConsumerRecord> records_;
  std::vector<std::string> finished_;
};

std::unique_ptr<SplitEnumerator<KafkaPartitionSplit, KafkaEnumeratorState>> NewKafkaEnumerator(
    SplitEnumeratorContext<KafkaPartitionSplit>& context, const KafkaSourceOptions& options,
    std::optional<KafkaEnumeratorState> restored);

// Throws std::invalid_argument naming what is wrong with options a builder was given: no or
// both of topics and topic pattern, a pattern that is not a regular expression, an empty topic
// name, committed offsets without a group id, a negative timestamp or offset.
void CheckSourceOptions(const KafkaSourceOptions& options);

// Flink's KafkaSourceEnumerator.getSplitOwner: the subtask a partition is assigned to.
int SplitOwner(const std::string& topic, int32_t partition, int parallelism);

}  // namespace kafka

template <typename T>
class KafkaSourceReader final : public SourceReader<T, KafkaPartitionSplit> {
 public:
  using Deserializer = std::function<T(const KafkaConsumerRecord&)>;

  KafkaSourceReader(const KafkaSourceOptions& options, SourceReaderContext& context,
                    Deserializer deserialize)
      : bounded_(options.bounded),
        reader_(options, context),
        deserialize_(std::move(deserialize)) {}

  InputStatus PollNext(ReaderOutput<T>& output) override {
    for (const std::string& id : reader_.TakeNewSplitIds()) output.ForSplit(id);
    reader_.Fetch(output.room());
    std::string_view topic;
    int32_t partition = -1;
    for (const KafkaConsumerRecord& r : reader_.records()) {
      if (r.partition != partition || r.topic != topic) {
        topic = r.topic;
        partition = r.partition;
        split_id_.assign(topic);
        split_id_ += '-';
        split_id_ += std::to_string(partition);
        output.ForSplit(split_id_);
      }
      output.Collect(deserialize_(r), r.timestamp_ms);
    }
    for (const std::string& id : reader_.finished()) output.ReleaseSplit(id);
    if (!reader_.records().empty()) return InputStatus::kMoreAvailable;
    if (reader_.empty() && no_more_splits_) return InputStatus::kEndOfInput;
    if (!reader_.finished().empty()) return InputStatus::kMoreAvailable;
    return InputStatus::kNothingAvailable;
  }
  void AddSplits(std::vector<KafkaPartitionSplit> splits) override {
    reader_.AddSplits(std::move(splits));
  }
  void NotifyNoMoreSplits() override { no_more_splits_ = bounded_; }
  std::vector<KafkaPartitionSplit> SnapshotState(int64_t checkpoint_id) override {
    return reader_.Snapshot(checkpoint_id);
  }
  void NotifyCheckpointComplete(int64_t checkpoint_id) override {
    reader_.CommitOffsets(checkpoint_id);
  }
  void Close() override { reader_.Close(); }

 private:
  bool bounded_;
  bool no_more_splits_ = false;
  kafka::KafkaSplitReader reader_;
  Deserializer deserialize_;
  std::string split_id_;
};

template <typename T>
class KafkaSourceBuilder;

template <typename T>
class KafkaSource final : public Source<T, KafkaPartitionSplit, KafkaEnumeratorState> {
 public:
  using Enumerator = SplitEnumerator<KafkaPartitionSplit, KafkaEnumeratorState>;

  static KafkaSourceBuilder<T> Builder() { return KafkaSourceBuilder<T>(); }
  const KafkaSourceOptions& options() const { return options_; }

  std::unique_ptr<Enumerator> CreateEnumerator(
      SplitEnumeratorContext<KafkaPartitionSplit>& context) const override {
    return kafka::NewKafkaEnumerator(context, options_, std::nullopt);
  }
  std::unique_ptr<Enumerator> RestoreEnumerator(
      SplitEnumeratorContext<KafkaPartitionSplit>& context,
      KafkaEnumeratorState state) const override {
    return kafka::NewKafkaEnumerator(context, options_, std::move(state));
  }
  std::unique_ptr<SourceReader<T, KafkaPartitionSplit>> CreateReader(
      SourceReaderContext& context) const override {
    return std::make_unique<KafkaSourceReader<T>>(options_, context, deserialize_);
  }
  std::string split_state_name() const override { return "kafka-splits"; }

 private:
  friend class KafkaSourceBuilder<T>;
  KafkaSourceOptions options_;
  typename KafkaSourceReader<T>::Deserializer deserialize_;
};

// Flink's KafkaSourceBuilder. Build() checks that servers, topics (or a pattern) and a
// deserializer are set and that the starting offsets make sense (std::invalid_argument
// otherwise); the rest is checked when the job starts.
template <typename T>
class KafkaSourceBuilder {
 public:
  KafkaSourceBuilder& SetBootstrapServers(std::string servers) {
    options_.bootstrap_servers = std::move(servers);
    return *this;
  }
  KafkaSourceBuilder& SetTopics(std::vector<std::string> topics) {
    options_.topics = std::move(topics);
    return *this;
  }
  // Every topic whose whole name matches `pattern` (ECMAScript regular expression), now and
  // at each partition discovery (Flink's setTopicPattern); instead of SetTopics.
  KafkaSourceBuilder& SetTopicPattern(std::string pattern) {
    options_.topic_pattern = std::move(pattern);
    return *this;
  }
  KafkaSourceBuilder& SetGroupId(std::string group_id) {
    options_.group_id = std::move(group_id);
    return *this;
  }
  KafkaSourceBuilder& SetStartingOffsets(KafkaOffsetsInitializer initializer) {
    options_.starting_offsets = initializer;
    return *this;
  }
  // Stops at each partition's end offset as of the job's start (Flink's
  // setBounded(OffsetsInitializer.latest())); the source then ends.
  KafkaSourceBuilder& SetBounded() {
    options_.bounded = true;
    return *this;
  }
  // Any librdkafka consumer property (CONFIGURATION.md of librdkafka).
  KafkaSourceBuilder& SetProperty(std::string key, std::string value) {
    options_.properties[std::move(key)] = std::move(value);
    return *this;
  }
  // The record from the value alone (a null value is passed as an empty one).
  KafkaSourceBuilder& SetValueOnlyDeserializer(std::function<T(std::string_view value)> f) {
    deserialize_ = [f = std::move(f)](const KafkaConsumerRecord& r) {
      return f(r.value.value_or(std::string_view()));
    };
    return *this;
  }
  // The record from the whole Kafka record: key, value, headers, timestamp, topic, partition,
  // offset.
  KafkaSourceBuilder& SetDeserializer(std::function<T(const KafkaConsumerRecord&)> f) {
    deserialize_ = std::move(f);
    return *this;
  }

  KafkaSource<T> Build() const {
    if (options_.bootstrap_servers.empty()) {
      throw std::invalid_argument("Kafka source: no bootstrap servers (SetBootstrapServers)");
    }
    kafka::CheckSourceOptions(options_);
    if (!deserialize_) {
      throw std::invalid_argument("Kafka source: no deserializer (SetValueOnlyDeserializer)");
    }
    KafkaSource<T> source;
    source.options_ = options_;
    source.deserialize_ = deserialize_;
    return source;
  }

 private:
  KafkaSourceOptions options_;
  std::function<T(const KafkaConsumerRecord&)> deserialize_;
};

}  // namespace weir
