// The Kafka source's enumerator and the non-template part of its reader, on librdkafka
// (weir/connectors/kafka_source.h).
#include "weir/connectors/kafka_source.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#include "base/logging.h"
#include "connectors/kafka/client_config.h"

namespace weir {
namespace kafka {
namespace {

// How long the enumerator waits for the brokers when the job starts, and in a periodic
// discovery (shorter: the enumerator's lock is held meanwhile, and checkpoints wait for it).
constexpr int kMetadataTimeoutMs = 15'000;
constexpr int kDiscoveryTimeoutMs = 3'000;
// The source's own property (not librdkafka's), with Flink's default for unbounded sources.
constexpr std::string_view kDiscoveryInterval = "partition.discovery.interval.ms";
constexpr std::chrono::milliseconds kDefaultDiscoveryInterval = std::chrono::minutes(5);

std::runtime_error Failure(const std::string& what) {
  return std::runtime_error("Kafka source: " + what);
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafka = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// The consumer configuration both sides use: the user's properties over weir's defaults.
Properties ConsumerProperties(const KafkaSourceOptions& options) {
  Properties p;
  p["isolation.level"] = "read_committed";
  p["enable.auto.commit"] = "false";
  p["enable.auto.offset.store"] = "false";
  // A split's offset that is no longer there (retention deleted the records before it, or the
  // topic was made anew) goes on from the earliest record still there: librdkafka's default,
  // the end, skipped every record the broker still held.
  p["auto.offset.reset"] = "earliest";
  for (const auto& [k, v] : options.properties) p[k] = v;
  p.erase(std::string(kDiscoveryInterval));
  p["bootstrap.servers"] = options.bootstrap_servers;
  // librdkafka's consumer queue exists only with a group; without one, a private group no
  // offsets are committed to.
  p["group.id"] = options.group_id.empty() ? "weir-kafka-source" : options.group_id;
  p["enable.partition.eof"] = "true";
  return p;
}

RdKafka NewConsumer(const KafkaSourceOptions& options) {
  auto conf = NewRdKafkaConf(ConsumerProperties(options));
  if (!conf.ok()) throw Failure(conf.status().ToString());
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), err, sizeof err);
  if (rk == nullptr) throw Failure(std::string("cannot create a consumer: ") + err);
  conf->release();  // rd_kafka_new took it
  return RdKafka(rk);
}

// What a partition just created, or one whose leader or group coordinator is moving, answers
// for a while: worth asking again (librdkafka refreshes its metadata meanwhile).
bool Transient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
      return true;
    default:
      return false;
  }
}

// `err`, or else the first transient error of a partition in `list`.
rd_kafka_resp_err_t WithTransientPartitionError(rd_kafka_resp_err_t err,
                                                const rd_kafka_topic_partition_list_t& list) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
  for (int i = 0; i < list.cnt; ++i) {
    if (Transient(list.elems[i].err)) return list.elems[i].err;
  }
  return err;
}

using Clock = std::chrono::steady_clock;
constexpr auto kRetryBackoff = std::chrono::milliseconds(100);

// What is left until `deadline`, in librdkafka's milliseconds (at least 1).
int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(1, left.count()));
}

// Calls `query(timeout_ms)` until it answers other than a transient error or `deadline`
// passes; its last answer. A topic created just before the job starts has no partition
// leaders for a moment, and librdkafka's offset queries do not wait for them.
template <typename Query>
rd_kafka_resp_err_t AskWhileTransient(Clock::time_point deadline, Query&& query) {
  for (;;) {
    rd_kafka_resp_err_t err = query(MillisLeft(deadline));
    if (!Transient(err) || Clock::now() + kRetryBackoff >= deadline) return err;
    std::this_thread::sleep_for(kRetryBackoff);
  }
}

uint32_t StableHash(std::string_view s) {
  uint32_t h = 0;  // Java's String.hashCode, as Flink's owner computation uses
  for (char c : s) h = 31 * h + static_cast<uint8_t>(c);
  return h;
}

class KafkaEnumerator final : public SplitEnumerator<KafkaPartitionSplit, KafkaEnumeratorState> {
 public:
  KafkaEnumerator(SplitEnumeratorContext<KafkaPartitionSplit>& context,
                  const KafkaSourceOptions& options, std::optional<KafkaEnumeratorState> restored)
      : context_(context), options_(options), restored_(restored.has_value()) {
    if (restored) assigned_.insert(restored->assigned.begin(), restored->assigned.end());
    // Checked by the builder; std::regex_error would name no source otherwise.
    if (!options_.topic_pattern.empty()) pattern_.emplace(options_.topic_pattern);
  }

  void Start() override {
    if (options_.bounded) {
      // A restored job resumes the partitions its checkpoint holds; the readers have them.
      if (!restored_) AssignNew(/*starting=*/true);
      for (int s = 0; s < context_.parallelism(); ++s) context_.SignalNoMoreSplits(s);
      return;
    }
    auto interval =
        DurationProperty(options_.properties, kDiscoveryInterval, kDefaultDiscoveryInterval);
    if (!interval.ok()) throw Failure(interval.status().ToString());
    // Restored: partitions added while the job was down are new ones, read from the earliest.
    // The readers resume the checkpoint's partitions without the enumerator, so brokers that
    // do not answer now (a restart after they went away) do not fail the restore: the next
    // discovery looks again.
    try {
      AssignNew(/*starting=*/!restored_);
    } catch (const std::exception& e) {
      if (!restored_ || interval->count() == 0) throw;
      spdlog::warn("{} (partition discovery after a restore; tried again in {} ms)", e.what(),
                   interval->count());
    }
    if (interval->count() > 0) {
      context_.CallPeriodically(
          [this] {
            try {
              AssignNew(/*starting=*/false);
            } catch (const std::exception& e) {
              // The brokers may be back at the next round; the readers go on meanwhile.
              spdlog::warn("{} (partition discovery; tried again in a while)", e.what());
            }
          },
          *interval);
    }
  }

  void Close() override { rk_.reset(); }

  void HandleSplitRequest(int) override {}  // splits are pushed to their owners

  KafkaEnumeratorState SnapshotState(int64_t) override {
    return KafkaEnumeratorState{std::vector<std::string>(assigned_.begin(), assigned_.end())};
  }

 private:
  // Lists the topics' partitions and assigns those not assigned yet: from the starting offsets
  // when the job starts, from the earliest offset when found later (as Flink does).
  void AssignNew(bool starting) {
    if (!rk_) rk_ = NewConsumer(options_);
    rd_kafka_t* rk = rk_.get();
    // One deadline for all of it: the enumerator's lock is held meanwhile. The first listing
    // (at start, or after a restore) may wait for brokers coming back, and for the leaders of
    // a topic just created (for half of its time; the rest is for the offsets); a discovery
    // does not wait long, the next one looks again.
    const bool first = first_listing_;
    first_listing_ = false;
    const auto budget = std::chrono::milliseconds(first ? kMetadataTimeoutMs : kDiscoveryTimeoutMs);
    const Clock::time_point deadline = Clock::now() + budget;
    const Clock::time_point leaders_by = Clock::now() + budget / 2;
    Metadata md = ListTopics(rk, deadline);
    if (!md) {
      throw Failure(fmt::format("cannot reach the brokers at {}: {}", options_.bootstrap_servers,
                                RdKafkaErrorText(md.error)));
    }
    Listing listing = ListSplits(*md);
    // librdkafka answers offset queries of a partition without a leader from its cached
    // metadata, without asking again: ask for the metadata until the new partitions' leaders
    // are known. A listing that fails meanwhile, or lists less (a broker whose metadata lags),
    // leaves the last one.
    while (first && AnyLeaderless(*md, listing.splits) &&
           Clock::now() + kRetryBackoff < leaders_by) {
      std::this_thread::sleep_for(kRetryBackoff);
      Metadata again = ListTopics(rk, leaders_by);
      if (!again) break;
      Listing next;
      try {
        next = ListSplits(*again);
      } catch (const std::exception&) {
        break;
      }
      if (!std::includes(next.present.begin(), next.present.end(), listing.present.begin(),
                         listing.present.end())) {
        break;
      }
      md = std::move(again);
      listing = std::move(next);
    }
    std::vector<KafkaPartitionSplit>& splits = listing.splits;
    const std::set<KafkaTopicPartition>& present = listing.present;
    if (starting) {
      for (const auto& [tp, offset] : options_.starting_offsets.offsets) {
        if (present.count(tp) == 0) {
          throw Failure(fmt::format(
              "a starting offset ({}) is given for partition {}-{}, which is not one of the "
              "source's partitions on {}",
              offset, tp.topic, tp.partition, options_.bootstrap_servers));
        }
      }
    }
    std::sort(splits.begin(), splits.end(), [](const auto& a, const auto& b) {
      return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    if (splits.empty()) return;
    ResolveOffsets(rk, splits,
                   starting ? options_.starting_offsets : KafkaOffsetsInitializer::Earliest(),
                   deadline);
    if (!starting) spdlog::info("Kafka source: {} new partition(s) found", splits.size());
    for (const KafkaPartitionSplit& s : splits) {
      assigned_.insert(s.id());
      context_.AssignSplit(SplitOwner(s.topic, s.partition, context_.parallelism()), s);
    }
  }

  // A metadata listing of every topic, or the error that came instead.
  struct Metadata {
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> md{
        nullptr, &rd_kafka_metadata_destroy};
    rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
    explicit operator bool() const { return md != nullptr; }
    const rd_kafka_metadata_t& operator*() const { return *md; }
  };
  static Metadata ListTopics(rd_kafka_t* rk, Clock::time_point deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    Metadata out;
    out.error = rd_kafka_metadata(rk, 1, nullptr, &md, MillisLeft(deadline));
    if (out.error == RD_KAFKA_RESP_ERR_NO_ERROR) out.md.reset(md);
    return out;
  }

  // The source's partitions in a listing, and those of them not assigned yet.
  struct Listing {
    std::vector<KafkaPartitionSplit> splits;  // the new ones
    std::set<KafkaTopicPartition> present;
  };
  Listing ListSplits(const rd_kafka_metadata_t& md) const {
    Listing out;
    auto add_partitions = [&](const rd_kafka_metadata_topic_t& t) {
      for (int i = 0; i < t.partition_cnt; ++i) {
        KafkaPartitionSplit split{t.topic, t.partitions[i].id, 0, KafkaPartitionSplit::kUnbounded};
        out.present.insert({split.topic, split.partition});
        if (assigned_.count(split.id()) == 0) out.splits.push_back(std::move(split));
      }
    };
    if (pattern_) {
      for (int i = 0; i < md.topic_cnt; ++i) {
        const rd_kafka_metadata_topic_t& t = md.topics[i];
        // A topic being created may have no partitions yet: the next discovery finds them.
        if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt == 0) continue;
        std::string_view name(t.topic);
        if (name.substr(0, 2) == "__" || !std::regex_match(name.begin(), name.end(), *pattern_)) {
          continue;
        }
        add_partitions(t);
      }
    }
    for (const std::string& topic : options_.topics) {
      const rd_kafka_metadata_topic_t* found = nullptr;
      for (int i = 0; i < md.topic_cnt; ++i) {
        if (topic == md.topics[i].topic) found = &md.topics[i];
      }
      if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
          found->partition_cnt == 0) {
        throw Failure(fmt::format("topic '{}' does not exist on {}{}", topic,
                                  options_.bootstrap_servers,
                                  found && found->err ? ": " + RdKafkaErrorText(found->err) : ""));
      }
      add_partitions(*found);
    }
    return out;
  }

  // Whether one of `splits` has no leader in `md`.
  static bool AnyLeaderless(const rd_kafka_metadata_t& md,
                            const std::vector<KafkaPartitionSplit>& splits) {
    for (const KafkaPartitionSplit& s : splits) {
      for (int i = 0; i < md.topic_cnt; ++i) {
        const rd_kafka_metadata_topic_t& t = md.topics[i];
        if (s.topic != t.topic) continue;
        for (int p = 0; p < t.partition_cnt; ++p) {
          if (t.partitions[p].id == s.partition && t.partitions[p].leader < 0) return true;
        }
      }
    }
    return false;
  }

  // The group's committed offsets of `splits`, by split id (those without one left out).
  std::map<std::string, int64_t> CommittedOffsets(rd_kafka_t* rk,
                                                  const std::vector<KafkaPartitionSplit>& splits,
                                                  Clock::time_point deadline) {
    std::map<std::string, int64_t> committed;
    PartitionList list;
    rd_kafka_resp_err_t err = AskWhileTransient(deadline, [&](int timeout_ms) {
      list.reset(rd_kafka_topic_partition_list_new(static_cast<int>(splits.size())));
      for (const auto& s : splits) {
        rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition);
      }
      return WithTransientPartitionError(rd_kafka_committed(rk, list.get(), timeout_ms), *list);
    });
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw Failure(fmt::format("reading the committed offsets of group '{}': {}",
                                options_.group_id, RdKafkaErrorText(err)));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      // Starting such a partition from the fallback instead would read records twice or skip
      // them.
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw Failure(fmt::format("reading the committed offset of group '{}' in partition {}-{}: {}",
                                  options_.group_id, p.topic, p.partition,
                                  RdKafkaErrorText(p.err)));
      }
      if (p.offset >= 0) committed[fmt::format("{}-{}", p.topic, p.partition)] = p.offset;
    }
    return committed;
  }

  // For each split, the offset of its first record with a timestamp >= `timestamp_ms`, by
  // split id; a partition without one is left out.
  std::map<std::string, int64_t> OffsetsForTime(rd_kafka_t* rk,
                                                const std::vector<KafkaPartitionSplit>& splits,
                                                int64_t timestamp_ms, Clock::time_point deadline) {
    std::map<std::string, int64_t> out;
    PartitionList list;
    rd_kafka_resp_err_t err = AskWhileTransient(deadline, [&](int timeout_ms) {
      list.reset(rd_kafka_topic_partition_list_new(static_cast<int>(splits.size())));
      for (const auto& s : splits) {
        rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition)->offset =
            timestamp_ms;
      }
      return WithTransientPartitionError(rd_kafka_offsets_for_times(rk, list.get(), timeout_ms),
                                         *list);
    });
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw Failure(fmt::format("looking up the offsets of timestamp {} on {}: {}", timestamp_ms,
                                options_.bootstrap_servers, RdKafkaErrorText(err)));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      std::string id = fmt::format("{}-{}", p.topic, p.partition);
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw Failure(fmt::format("looking up the offset of timestamp {} in partition {}: {}",
                                  timestamp_ms, id, RdKafkaErrorText(p.err)));
      }
      if (p.offset >= 0) out[id] = p.offset;  // -1: no record that late
    }
    return out;
  }

  // Concrete starting offsets (so that a restore before the first record does not resolve
  // "latest" again) and, bounded, stopping offsets.
  void ResolveOffsets(rd_kafka_t* rk, std::vector<KafkaPartitionSplit>& splits,
                      const KafkaOffsetsInitializer& starting_offsets,
                      Clock::time_point deadline) {
    using Kind = KafkaOffsetsInitializer::Kind;
    std::map<std::string, int64_t> given;  // committed, found by time, or explicit
    switch (starting_offsets.kind) {
      case Kind::kCommitted:
        given = CommittedOffsets(rk, splits, deadline);
        break;
      case Kind::kTimestamp:
        given = OffsetsForTime(rk, splits, starting_offsets.timestamp_ms, deadline);
        break;
      case Kind::kOffsets:
        // As Flink: a partition not in the map tries the group's committed offset first.
        if (!options_.group_id.empty()) given = CommittedOffsets(rk, splits, deadline);
        for (const auto& [tp, offset] : starting_offsets.offsets) {
          given[fmt::format("{}-{}", tp.topic, tp.partition)] = offset;
        }
        break;
      case Kind::kEarliest:
      case Kind::kLatest:
        break;
    }
    for (auto& s : splits) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err = AskWhileTransient(deadline, [&](int timeout_ms) {
        return rd_kafka_query_watermark_offsets(rk, s.topic.c_str(), s.partition, &low, &high,
                                                timeout_ms);
      });
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw Failure(
            fmt::format("the offsets of partition {}: {}", s.id(), RdKafkaErrorText(err)));
      }
      auto g = given.find(s.id());
      if (g != given.end()) {
        s.next_offset = g->second;
        const bool outside = s.next_offset < low || s.next_offset > high;
        if (starting_offsets.kind == Kind::kOffsets && outside) {
          auto explicit_offset = starting_offsets.offsets.find({s.topic, s.partition});
          if (explicit_offset != starting_offsets.offsets.end()) {
            throw Failure(fmt::format(
                "the starting offset {} given for partition {} is outside its offsets {}..{} "
                "(earliest..end)",
                s.next_offset, s.id(), low, high));
          }
        }
        // The group's offset is no longer there (the records before it deleted, or the topic
        // made anew): from the earliest record still there, losing none the broker holds.
        if (outside) {
          spdlog::warn(
              "Kafka source: the committed offset {} of partition {} is outside its offsets "
              "{}..{} (earliest..end); reading it from its earliest record",
              s.next_offset, s.id(), low, high);
          s.next_offset = low;
        }
      } else if (starting_offsets.kind == Kind::kTimestamp) {
        s.next_offset = high;  // no record at or after the timestamp: the end, as Flink
      } else {
        Kind kind = starting_offsets.kind;
        if (kind == Kind::kCommitted || kind == Kind::kOffsets) kind = starting_offsets.fallback;
        s.next_offset = kind == Kind::kLatest ? high : low;
      }
      if (options_.bounded) s.stopping_offset = high;
    }
  }

  SplitEnumeratorContext<KafkaPartitionSplit>& context_;
  KafkaSourceOptions options_;
  bool restored_;
  std::set<std::string> assigned_;
  RdKafka rk_;  // for metadata and offsets; kept for discovery
  std::optional<std::regex> pattern_;  // options_.topic_pattern, compiled
  bool first_listing_ = true;
};

}  // namespace

void CheckSourceOptions(const KafkaSourceOptions& options) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("Kafka source: " + what); };
  if (options.topics.empty() && options.topic_pattern.empty()) {
    fail("no topics (SetTopics or SetTopicPattern)");
  }
  if (!options.topics.empty() && !options.topic_pattern.empty()) {
    fail("both topics and a topic pattern are set; use one (SetTopics or SetTopicPattern)");
  }
  for (const std::string& t : options.topics) {
    if (t.empty()) fail("an empty topic name in SetTopics");
  }
  if (!options.topic_pattern.empty()) {
    try {
      std::regex check(options.topic_pattern);
    } catch (const std::regex_error& e) {
      fail(fmt::format("the topic pattern '{}' is not a regular expression: {}",
                       options.topic_pattern, e.what()));
    }
  }
  using Kind = KafkaOffsetsInitializer::Kind;
  const KafkaOffsetsInitializer& start = options.starting_offsets;
  if (start.kind == Kind::kCommitted && options.group_id.empty()) {
    fail("committed starting offsets need a group id (SetGroupId)");
  }
  if (start.kind == Kind::kTimestamp && start.timestamp_ms < 0) {
    fail(fmt::format("the starting timestamp {} is negative (milliseconds since the epoch)",
                     start.timestamp_ms));
  }
  for (const auto& [tp, offset] : start.offsets) {
    if (tp.topic.empty() || tp.partition < 0 || offset < 0) {
      fail(fmt::format("the starting offset {} of partition '{}'-{} is not valid (a topic name, a "
                       "partition >= 0 and an offset >= 0)",
                       offset, tp.topic, tp.partition));
    }
  }
}

int SplitOwner(const std::string& topic, int32_t partition, int parallelism) {
  int start = static_cast<int>(((StableHash(topic) * 31) & 0x7FFFFFFF) % parallelism);
  return (start + partition) % parallelism;
}

std::unique_ptr<SplitEnumerator<KafkaPartitionSplit, KafkaEnumeratorState>> NewKafkaEnumerator(
    SplitEnumeratorContext<KafkaPartitionSplit>& context, const KafkaSourceOptions& options,
    std::optional<KafkaEnumeratorState> restored) {
  return std::make_unique<KafkaEnumerator>(context, options, std::move(restored));
}

// The reader's consumer: its partitions are assigned by hand (incremental assign), fetched
// into librdkafka's consumer queue, and taken from there without waiting.
struct KafkaSplitReader::Impl {
  explicit Impl(const KafkaSourceOptions& o, SourceReaderContext& c) : options(o), context(c) {}

  KafkaSourceOptions options;
  SourceReaderContext& context;
  RdKafka rk;
  rd_kafka_queue_t* queue = nullptr;
  std::map<std::string, KafkaPartitionSplit> splits;  // by id
  std::vector<std::string> new_ids;
  std::vector<rd_kafka_message_t*> messages;  // what records() points into
  std::map<int64_t, std::vector<KafkaPartitionSplit>> pending_commits;  // by checkpoint

  void EnsureConsumer() {
    if (rk) return;
    rk = NewConsumer(options);
    rd_kafka_poll_set_consumer(rk.get());
    queue = rd_kafka_queue_get_consumer(rk.get());
    // Called on a librdkafka thread when the queue turns non-empty: wakes the task.
    rd_kafka_queue_cb_event_enable(
        queue, [](rd_kafka_t*, void* ctx) { static_cast<SourceReaderContext*>(ctx)->WakeUp(); },
        &context);
  }

  void Assign(const std::vector<const KafkaPartitionSplit*>& add) {
    if (add.empty()) return;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(add.size())));
    for (const auto* s : add) {
      rd_kafka_topic_partition_list_add(list.get(), s->topic.c_str(), s->partition)->offset =
          s->next_offset;
    }
    rd_kafka_error_t* e = rd_kafka_incremental_assign(rk.get(), list.get());
    if (e != nullptr) {
      std::string msg = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw Failure("assigning partitions: " + msg);
    }
  }

  void Unassign(const KafkaPartitionSplit& s) {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition);
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk.get(), list.get());
    if (e != nullptr) rd_kafka_error_destroy(e);
  }

  void ReleaseMessages() {
    for (rd_kafka_message_t* m : messages) rd_kafka_message_destroy(m);
    messages.clear();
  }
};

KafkaSplitReader::KafkaSplitReader(const KafkaSourceOptions& options, SourceReaderContext& context)
    : impl_(std::make_unique<Impl>(options, context)) {}

KafkaSplitReader::~KafkaSplitReader() { Close(); }

void KafkaSplitReader::AddSplits(std::vector<KafkaPartitionSplit> splits) {
  impl_->EnsureConsumer();
  std::vector<const KafkaPartitionSplit*> add;
  for (auto& s : splits) {
    std::string id = s.id();
    impl_->new_ids.push_back(id);
    auto [it, inserted] = impl_->splits.emplace(std::move(id), std::move(s));
    if (!inserted) continue;
    if (it->second.stopping_offset != KafkaPartitionSplit::kUnbounded &&
        it->second.next_offset >= it->second.stopping_offset) {
      continue;  // finished: Fetch reports it
    }
    add.push_back(&it->second);
  }
  impl_->Assign(add);
}

std::vector<std::string> KafkaSplitReader::TakeNewSplitIds() {
  std::vector<std::string> out;
  out.swap(impl_->new_ids);
  return out;
}

bool KafkaSplitReader::empty() const { return impl_->splits.empty(); }

void KafkaSplitReader::Fetch(size_t max) {
  Impl& m = *impl_;
  m.ReleaseMessages();
  records_.clear();
  for (const std::string& id : finished_) m.splits.erase(id);
  finished_.clear();
  // Splits that were finished when they arrived (a restore at their stopping offset).
  for (auto& [id, s] : m.splits) {
    if (s.stopping_offset != KafkaPartitionSplit::kUnbounded &&
        s.next_offset >= s.stopping_offset) {
      finished_.push_back(id);
    }
  }
  if (!finished_.empty() || m.splits.empty() || max == 0) return;

  m.messages.resize(max);
  ssize_t n = rd_kafka_consume_batch_queue(m.queue, 0, m.messages.data(), max);
  if (n < 0) {
    m.messages.clear();
    throw Failure("consuming: " + RdKafkaErrorText(rd_kafka_last_error()));
  }
  m.messages.resize(static_cast<size_t>(n));
  KafkaPartitionSplit* split = nullptr;
  std::string id;
  for (rd_kafka_message_t* msg : m.messages) {
    if (msg->rkt == nullptr) {
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("Kafka source: {}", rd_kafka_message_errstr(msg));
      }
      continue;
    }
    const char* topic = rd_kafka_topic_name(msg->rkt);
    if (split == nullptr || split->partition != msg->partition || split->topic != topic) {
      id = fmt::format("{}-{}", topic, msg->partition);
      auto it = m.splits.find(id);
      split = it == m.splits.end() ? nullptr : &it->second;
      if (split == nullptr) continue;  // unassigned meanwhile
    }
    const bool bounded = split->stopping_offset != KafkaPartitionSplit::kUnbounded;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // At the end of what is there: past any transaction markers before it.
      split->next_offset = std::max(split->next_offset, msg->offset);
    } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        std::string what = rd_kafka_message_errstr(msg);
        throw Failure(fmt::format("reading partition {}: {}", id, what));
      }
      spdlog::warn("Kafka source: partition {}: {}", id, rd_kafka_message_errstr(msg));
      continue;
    } else if (msg->offset < split->next_offset) {
      continue;  // fetched before a restore moved the position on
    } else if (!bounded || msg->offset < split->stopping_offset) {
      KafkaConsumerRecord r;
      r.topic = split->topic;
      r.partition = msg->partition;
      r.offset = msg->offset;
      r.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
      if (msg->key != nullptr) r.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
      if (msg->payload != nullptr) {
        r.value.emplace(static_cast<const char*>(msg->payload), msg->len);
      }
      rd_kafka_headers_t* headers = nullptr;
      // Points into the message, which is kept until the next Fetch.
      if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          std::string_view bytes;  // a null value stays empty
          if (value != nullptr) bytes = std::string_view(static_cast<const char*>(value), size);
          r.headers.emplace_back(name, bytes);
        }
      }
      records_.push_back(std::move(r));
      split->next_offset = msg->offset + 1;
    } else {
      split->next_offset = split->stopping_offset;
    }
    if (bounded && split->next_offset >= split->stopping_offset &&
        std::find(finished_.begin(), finished_.end(), id) == finished_.end()) {
      finished_.push_back(id);
      m.Unassign(*split);
    }
  }
}

std::vector<KafkaPartitionSplit> KafkaSplitReader::Snapshot(int64_t checkpoint_id) {
  std::vector<KafkaPartitionSplit> out;
  for (const auto& [id, s] : impl_->splits) {
    // A finished split not yet released is still finished: keep it out.
    if (s.stopping_offset != KafkaPartitionSplit::kUnbounded &&
        s.next_offset >= s.stopping_offset) {
      continue;
    }
    out.push_back(s);
  }
  if (!impl_->options.group_id.empty()) impl_->pending_commits[checkpoint_id] = out;
  return out;
}

void KafkaSplitReader::CommitOffsets(int64_t checkpoint_id) {
  Impl& m = *impl_;
  auto it = m.pending_commits.find(checkpoint_id);
  if (it == m.pending_commits.end() || !m.rk) return;
  if (!it->second.empty()) {
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(it->second.size())));
    for (const auto& s : it->second) {
      rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition)->offset =
          s.next_offset;
    }
    // Asynchronous: for monitoring only; a failure is logged by librdkafka.
    rd_kafka_resp_err_t err = rd_kafka_commit(m.rk.get(), list.get(), 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("Kafka source: committing offsets of checkpoint {} to group '{}': {}",
                   checkpoint_id, m.options.group_id, RdKafkaErrorText(err));
    }
  }
  m.pending_commits.erase(m.pending_commits.begin(), std::next(it));
}

void KafkaSplitReader::Close() {
  Impl& m = *impl_;
  m.ReleaseMessages();
  records_.clear();
  if (m.queue != nullptr) {
    rd_kafka_queue_cb_event_enable(m.queue, nullptr, nullptr);
    rd_kafka_queue_destroy(m.queue);
    m.queue = nullptr;
  }
  if (m.rk) {
    rd_kafka_consumer_close(m.rk.get());
    m.rk.reset();
  }
}

}  // namespace kafka
}  // namespace weir
