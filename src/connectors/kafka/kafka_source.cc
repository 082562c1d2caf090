// The Kafka source's enumerator and the non-template part of its reader, on librdkafka
// (weir/connectors/kafka_source.h).
#include "weir/connectors/kafka_source.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

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
    AssignNew(/*starting=*/!restored_);
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
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 1, nullptr, &md, starting ? kMetadataTimeoutMs : kDiscoveryTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw Failure(fmt::format("cannot reach the brokers at {}: {}", options_.bootstrap_servers,
                                RdKafkaErrorText(err)));
    }
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> hold(
        md, &rd_kafka_metadata_destroy);
    std::vector<KafkaPartitionSplit> splits;
    for (const std::string& topic : options_.topics) {
      const rd_kafka_metadata_topic_t* found = nullptr;
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (topic == md->topics[i].topic) found = &md->topics[i];
      }
      if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
          found->partition_cnt == 0) {
        throw Failure(fmt::format("topic '{}' does not exist on {}{}", topic,
                                  options_.bootstrap_servers,
                                  found && found->err ? ": " + RdKafkaErrorText(found->err) : ""));
      }
      for (int i = 0; i < found->partition_cnt; ++i) {
        KafkaPartitionSplit split{topic, found->partitions[i].id, 0,
                                  KafkaPartitionSplit::kUnbounded};
        if (assigned_.count(split.id()) == 0) splits.push_back(std::move(split));
      }
    }
    std::sort(splits.begin(), splits.end(), [](const auto& a, const auto& b) {
      return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    if (splits.empty()) return;
    ResolveOffsets(rk, splits,
                   starting ? options_.starting_offsets : KafkaOffsetsInitializer::Earliest());
    if (!starting) spdlog::info("Kafka source: {} new partition(s) found", splits.size());
    for (const KafkaPartitionSplit& s : splits) {
      assigned_.insert(s.id());
      context_.AssignSplit(SplitOwner(s.topic, s.partition, context_.parallelism()), s);
    }
  }

  // Concrete starting offsets (so that a restore before the first record does not resolve
  // "latest" again) and, bounded, stopping offsets.
  void ResolveOffsets(rd_kafka_t* rk, std::vector<KafkaPartitionSplit>& splits,
                      KafkaOffsetsInitializer starting_offsets) {
    using Kind = KafkaOffsetsInitializer::Kind;
    std::map<std::string, int64_t> committed;
    if (starting_offsets.kind == Kind::kCommitted) {
      PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(splits.size())));
      for (const auto& s : splits) {
        rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition);
      }
      rd_kafka_resp_err_t err = rd_kafka_committed(rk, list.get(), kMetadataTimeoutMs);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw Failure(fmt::format("reading the committed offsets of group '{}': {}",
                                  options_.group_id, RdKafkaErrorText(err)));
      }
      for (int i = 0; i < list->cnt; ++i) {
        const auto& p = list->elems[i];
        if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR && p.offset >= 0) {
          committed[fmt::format("{}-{}", p.topic, p.partition)] = p.offset;
        }
      }
    }
    for (auto& s : splits) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, s.topic.c_str(), s.partition,
                                                                 &low, &high, kMetadataTimeoutMs);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw Failure(
            fmt::format("the offsets of partition {}: {}", s.id(), RdKafkaErrorText(err)));
      }
      Kind kind = starting_offsets.kind;
      auto c = committed.find(s.id());
      if (kind == Kind::kCommitted && c != committed.end()) {
        s.next_offset = c->second;
      } else {
        if (kind == Kind::kCommitted) kind = starting_offsets.fallback;
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
};

}  // namespace

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
      records_.push_back(r);
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
