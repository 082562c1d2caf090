// The Kafka sink on the two-phase-commit contract (weir/sink.h), on librdkafka.
//
// NONE and AT_LEAST_ONCE write through one producer. AT_LEAST_ONCE counts records per
// checkpoint period: a barrier closes the period (Prepare returns a marker of it) and, off the
// task thread, the checkpoint waits until every record of it and of earlier periods is
// acknowledged (Persist) while later records flow.
//
// EXACTLY_ONCE, per subtask s, transactional ids "<prefix>-s-n" (sink_state.h):
//
//   open      on the first record after a barrier: a producer of its own with the next id;
//             init_transactions fences whatever that id held, then DescribeTransactions
//             tells the producer id and epoch librdkafka got (librdkafka does not say)
//   prepare   at the barrier: the transaction's records are flushed and acknowledged (a
//             delivery failure fails the checkpoint), and it is sealed; the checkpoint
//             records its id, producer id and epoch, and the subtask's next n. The flush is
//             on the task thread, as in Flink: the next transaction has a producer of its
//             own, and records it sent while this one's were in flight would land before
//             them, so a partition would not keep the order its records were written in
//   persist   off the task thread, before the checkpoint may complete: checks the flush
//   commit    when the checkpoint completes: commit_transaction on its producer
//   recover   on restore, for each transaction the checkpoint holds: DescribeTransactions,
//             then, if still open as that producer id and epoch, EndTxn(commit) sent by weir
//             itself as that producer (cluster_client.h). Already committed: nothing to do.
//             Aborted (its epoch moved on: the transaction timeout passed, or something
//             fenced it): its records are lost, which is logged as an error (as Flink does)
//   clean up  transactions a crashed run left open (ids of this sink the cluster lists as
//             Ongoing, other than those just committed) are aborted, by a producer with the
//             same id (init_transactions fences and aborts) -- but only once the restored
//             job runs (OnRestoreConfirmed): a restore that fails must not destroy the open
//             transaction of a newer checkpoint. Until then new transactions take ids above
//             every id the cluster knows, never one a checkpoint may still refer to
//
// Why a read_committed consumer then sees every record exactly once: a record is in exactly
// one transaction. If that transaction belongs to a checkpoint that completed, it is either
// committed when the checkpoint completes or, if the process dies first, by the restore of
// that checkpoint (or of a later one, whose commits came after it), because a restore commits
// every transaction its checkpoint holds: EndTxn is idempotent, and a transaction is only
// committed as the exact producer id and epoch that wrote it, so nothing else can be committed
// in its place. If it belongs to no completed checkpoint, no restore commits it: it stays open
// until the restored job aborts it (or the broker's transaction timeout does), and the records
// are written again from the restored state. A restore of an older checkpoint than the newest
// one whose transactions were committed would write those records twice: it is refused,
// unless execution.state-recovery.rewind-output accepts the duplicates.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "base/fault_points.h"
#include "base/logging.h"
#include "checkpoint/checkpoint_options.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/cluster_client.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/sink_state.h"
#include "weir/configuration.h"
#include "weir/connectors/kafka.h"

namespace weir {

std::string_view DeliveryGuaranteeName(DeliveryGuarantee guarantee) {
  switch (guarantee) {
    case DeliveryGuarantee::kNone:
      return "NONE";
    case DeliveryGuarantee::kAtLeastOnce:
      return "AT_LEAST_ONCE";
    case DeliveryGuarantee::kExactlyOnce:
      return "EXACTLY_ONCE";
  }
  return "?";
}

namespace {

using kafka::PreparedTransaction;
using kafka::Producer;
using kafka::SubtaskState;

constexpr std::chrono::milliseconds kDefaultSocketTimeout{60'000};    // librdkafka's default
constexpr std::chrono::milliseconds kDefaultMessageTimeout{300'000};  // librdkafka's default
constexpr char kTransactionMaxTimeout[] = "transaction.max.timeout.ms";
constexpr char kAutoCreateTopics[] = "auto.create.topics.enable";
// Topics whose metadata a new producer fetches before its first record, at most.
constexpr size_t kMaxWarmTopics = 16;
// Records between two calls that serve delivery reports.
constexpr uint64_t kPollEvery = 1024;

bool IsCommitted(std::string_view state) {
  return state == "PrepareCommit" || state == "CompleteCommit";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

struct KafkaWriter::Impl {
  // A transaction this subtask opened and has not committed yet.
  struct Txn {
    std::string id;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    std::shared_ptr<Producer> producer;
  };

  KafkaSinkOptions options;
  SinkContext ctx;
  kafka::Properties properties;  // librdkafka's, bootstrap.servers included
  std::string where;             // "Kafka sink to <servers>", for messages
  std::chrono::milliseconds operation_timeout = kDefaultSocketTimeout;
  std::chrono::milliseconds delivery_timeout = kDefaultMessageTimeout;
  std::chrono::milliseconds transaction_timeout{0};
  bool rewind_allowed = false;
  std::unique_ptr<kafka::ClusterClient> cluster;

  // NONE and AT_LEAST_ONCE: the producer. Persist reads it on a snapshot thread.
  std::mutex producer_mu;
  std::shared_ptr<Producer> producer;
  uint64_t written = 0;
  // The topics written to so far (up to kMaxWarmTopics): each new producer fetches their
  // metadata before its first record (Producer::WarmUp). `last_topic` spares a search per
  // record.
  std::vector<std::string> topics;
  std::string last_topic;

  // EXACTLY_ONCE. The task thread owns all of it; `sealed` is shared with Persist.
  std::optional<Txn> current;
  std::mutex sealed_mu;
  std::map<std::string, Txn> sealed;  // prepared, not committed yet; sealed_mu
  // A prepared transaction the broker no longer had open (CheckStillOpen); sealed_mu. The next
  // barrier fails the task with it: every later checkpoint would persist it again, and fail.
  Status lost_transaction;
  uint64_t next = 0;                  // the n of this subtask's next transactional id
  uint64_t first_own = 0;             // this run's ids of this subtask start here
  std::set<std::string> recovered;    // ids the restore committed
  std::optional<SubtaskState> restored_own;
  std::vector<SubtaskState> adopted;   // states of subtasks a rescale removed (subtask 0)
  std::vector<std::string> lingering;  // transactions to abort once the restore is confirmed
  bool initialized = false;

  bool exactly_once() const {
    return options.delivery_guarantee == DeliveryGuarantee::kExactlyOnce;
  }
  const std::string& prefix() const { return options.transactional_id_prefix; }

  Status Configure();
  Status CheckCluster();
  Status OpenTransaction();
  Status RecoverCommit(const PreparedTransaction& t);
  Status CheckStillOpen(const PreparedTransaction& t);
  Status ListOwnTransactions();
  Status AbortLingering();
  // AT_LEAST_ONCE after EXACTLY_ONCE: the cleanup of the earlier run's transactions failed.
  void WarnLingeringLeft(const Status& why) {
    spdlog::warn(
        "{}: could not abort the transactions the exactly-once run before this one left open "
        "({}); until the broker times them out (transaction.timeout.ms), read_committed "
        "consumers see nothing past them",
        where, why.ToString());
    lingering.clear();
  }
  std::shared_ptr<Producer> CurrentProducer() {
    std::lock_guard<std::mutex> lock(producer_mu);
    return producer;
  }
};

// Settings: what the builder gave, checked, and librdkafka's properties for the producers.
Status KafkaWriter::Impl::Configure() {
  properties = options.properties;
  std::string servers = options.bootstrap_servers;
  if (auto p = kafka::FindProperty(properties, "bootstrap.servers")) {
    if (!servers.empty() && *p != servers) {
      return Status::InvalidArgument(fmt::format(
          "Kafka sink: bootstrap servers '{}' (SetBootstrapServers) differ from the property "
          "bootstrap.servers '{}'; set them once",
          servers, *p));
    }
    servers = *p;
  }
  if (servers.empty()) {
    return Status::InvalidArgument(
        "Kafka sink: no bootstrap servers (KafkaSinkBuilder::SetBootstrapServers)");
  }
  WEIR_RETURN_IF_ERROR(kafka::ParseBootstrapServers(servers).status().WithContext("Kafka sink"));
  properties["bootstrap.servers"] = servers;
  where = "Kafka sink to " + servers;
  if (!options.topic.empty()) where += " (topic '" + options.topic + "')";
  if (!properties.contains("client.id")) {
    properties["client.id"] = fmt::format("weir-kafka-sink-{}", ctx.subtask_index);
  }
  if (properties.contains("transactional.id")) {
    return Status::InvalidArgument(where +
                                   ": the sink names its transactions itself; set a prefix with "
                                   "SetTransactionalIdPrefix instead of transactional.id");
  }
  if (!exactly_once() && !properties.contains("enable.idempotence")) {
    // Retries neither duplicate nor reorder records (Kafka's Java client does so by default
    // since 3.0). Without it, a batch refused once (say, by a partition whose leader is not
    // ready yet) lands after the batches sent behind it.
    properties["enable.idempotence"] = "true";
  }
  auto socket_timeout =
      kafka::DurationProperty(properties, "socket.timeout.ms", kDefaultSocketTimeout);
  if (!socket_timeout.ok()) return socket_timeout.status().WithContext(where);
  operation_timeout = *socket_timeout;
  auto message_timeout =
      kafka::DurationProperty(properties, "message.timeout.ms", kDefaultMessageTimeout);
  if (!message_timeout.ok()) return message_timeout.status().WithContext(where);
  // librdkafka fails every record it could not deliver within message.timeout.ms.
  delivery_timeout = *message_timeout + operation_timeout;
  if (ctx.configuration != nullptr) {
    auto rewind = ctx.configuration->Get(checkpointing_options::kRewindOutput);
    if (!rewind.ok()) return rewind.status();
    rewind_allowed = *rewind;
  }
  auto security = kafka::FindProperty(properties, "security.protocol");
  const bool plaintext = !security || Lower(*security) == "plaintext";
  if (exactly_once()) {
    if (prefix().empty()) {
      return Status::InvalidArgument(
          where +
          ": EXACTLY_ONCE needs a transactional id prefix (SetTransactionalIdPrefix), "
          "unique per job and the same across restores");
    }
    if (!ctx.checkpointing) {
      return Status::InvalidArgument(
          where +
          ": EXACTLY_ONCE commits a transaction per checkpoint and needs checkpointing "
          "(EnableCheckpointing or execution.checkpointing.interval); without it use "
          "AT_LEAST_ONCE");
    }
    if (!plaintext) {
      return Status::InvalidArgument(fmt::format(
          "{}: EXACTLY_ONCE works with PLAINTEXT listeners only (security.protocol is '{}'): "
          "the requests that recover its transactions are weir's own and speak neither TLS "
          "nor SASL yet",
          where, *security));
    }
  }
  // librdkafka checks every property now, so a typo fails the start, not the first record.
  auto conf = kafka::NewRdKafkaConf(properties);
  if (!conf.ok()) return conf.status().WithContext(where);
  if (plaintext) {
    kafka::ClusterClientOptions o;
    o.bootstrap_servers = servers;
    o.client_id = properties["client.id"];
    o.request_timeout = operation_timeout;
    o.cancellation = ctx.cancellation;
    cluster = std::make_unique<kafka::ClusterClient>(std::move(o));
  }
  return Status::OK();
}

// At start: a broker answers, the sink's topic can exist, and the transaction timeout is one
// the brokers accept (default: their maximum).
Status KafkaWriter::Impl::CheckCluster() {
  std::vector<std::string> topics;
  if (!options.topic.empty()) topics.push_back(options.topic);
  auto metadata = cluster->Metadata(topics);
  if (!metadata.ok()) return metadata.status().WithContext(where);
  if (metadata->brokers.empty()) {
    return Status::IOError(where + ": the cluster has no brokers");
  }
  std::vector<std::string> keys = {kAutoCreateTopics};
  if (exactly_once()) keys.push_back(kTransactionMaxTimeout);
  // The least of the brokers' maximums: any of them may coordinate a transaction.
  std::optional<int64_t> max_timeout;
  std::string max_timeout_broker;
  bool auto_create = true;
  for (const auto& broker : metadata->brokers) {
    auto configs = cluster->BrokerConfigs(broker, keys);
    if (!configs.ok()) return configs.status().WithContext(where);
    auto value = [&](const char* key) -> std::optional<std::string> {
      auto it = configs->find(key);
      return it == configs->end() ? std::nullopt : it->second;
    };
    if (value(kAutoCreateTopics) == "false") auto_create = false;
    if (auto v = value(kTransactionMaxTimeout)) {
      int64_t ms = std::atoll(v->c_str());
      if (ms > 0 && (!max_timeout || ms < *max_timeout)) {
        max_timeout = ms;
        max_timeout_broker =
            fmt::format("broker {} ({}:{})", broker.node_id, broker.host, broker.port);
      }
    }
  }
  for (const auto& t : metadata->topics) {
    if (t.error_code == kafka::error_code::kInvalidTopic) {
      return Status::InvalidArgument(fmt::format(
          "{}: '{}' is not a valid Kafka topic name (at most 249 of the characters a-z A-Z 0-9 . "
          "_ -)",
          where, t.name));
    }
    if (t.error_code == kafka::error_code::kUnknownTopicOrPartition && !auto_create) {
      return Status::FailedPrecondition(fmt::format(
          "{}: topic '{}' does not exist, and the brokers do not create topics on first use "
          "(auto.create.topics.enable=false): create it first",
          where, t.name));
    }
  }
  if (exactly_once()) {
    if (!max_timeout) {
      return Status::IOError(where + ": the brokers did not say their " + kTransactionMaxTimeout);
    }
    auto configured =
        kafka::DurationProperty(properties, "transaction.timeout.ms", std::chrono::milliseconds(0));
    if (!configured.ok()) return configured.status().WithContext(where);
    if (configured->count() == 0) {
      transaction_timeout = std::chrono::milliseconds(*max_timeout);
      properties["transaction.timeout.ms"] = std::to_string(*max_timeout);
    } else if (configured->count() > *max_timeout) {
      return Status::InvalidArgument(fmt::format(
          "{}: transaction.timeout.ms is {} ({}), more than the {} of {} allows ({}); lower "
          "transaction.timeout.ms, or raise transaction.max.timeout.ms on the brokers",
          where, configured->count(), kafka::FormatDuration(*configured), kTransactionMaxTimeout,
          max_timeout_broker, kafka::FormatDuration(std::chrono::milliseconds(*max_timeout))));
    } else {
      transaction_timeout = *configured;
    }
    if (ctx.configuration != nullptr) {
      auto interval = ctx.configuration->GetOptional(checkpointing_options::kInterval);
      if (interval.ok() && interval->has_value() && **interval >= transaction_timeout) {
        return Status::InvalidArgument(fmt::format(
            "{}: transaction.timeout.ms ({}) must be longer than the checkpoint interval ({}): "
            "a transaction stays open from its first record until the checkpoint after it "
            "completes",
            where, kafka::FormatDuration(transaction_timeout), kafka::FormatDuration(**interval)));
      }
    }
    // librdkafka wants a record to be delivered or failed before its transaction times out.
    if (!properties.contains("message.timeout.ms") &&
        transaction_timeout < kDefaultMessageTimeout) {
      properties["message.timeout.ms"] = std::to_string(transaction_timeout.count());
      delivery_timeout = transaction_timeout + operation_timeout;
    }
  }
  return Status::OK();
}

Status KafkaWriter::Impl::OpenTransaction() {
  Txn t;
  t.id = kafka::TransactionalId(prefix(), ctx.subtask_index, next++);
  kafka::Properties p = properties;
  p["transactional.id"] = t.id;
  auto created = Producer::Create(p, options.topic, ctx.cancellation);
  if (!created.ok()) return created.status().WithContext(where);
  t.producer = std::move(*created);
  for (const std::string& topic : topics) t.producer->WarmUp(topic, operation_timeout);
  // Fences whatever this id held before (an id is never reused, so normally nothing).
  WEIR_RETURN_IF_ERROR_CTX(t.producer->InitTransactions(operation_timeout), where);
  // librdkafka keeps the producer id and epoch to itself; the coordinator tells them.
  auto d = cluster->DescribeTransaction(t.id);
  if (!d.ok()) return d.status().WithContext(where);
  if (d->error_code != kafka::error_code::kNone || d->producer_id < 0) {
    return Status::IOError(
        fmt::format("{}: the coordinator does not know transactional id '{}' "
                    "right after it was initialized ({})",
                    where, t.id, kafka::ErrorCodeName(d->error_code)));
  }
  t.producer_id = d->producer_id;
  t.producer_epoch = d->producer_epoch;
  WEIR_RETURN_IF_ERROR_CTX(t.producer->BeginTransaction(), where);
  current = std::move(t);
  return Status::OK();
}

// Finishes a transaction a checkpoint holds as the producer that wrote it: EndTxn(commit) with
// its producer id and epoch, if the coordinator still has it open. Idempotent.
Status KafkaWriter::Impl::RecoverCommit(const PreparedTransaction& t) {
  WEIR_FAULT_POINT(fault_points::kKafkaSinkRecoveryCommit);
  const std::string& id = t.transactional_id;
  auto lost = [&](const std::string& why) {
    // As Flink does: the records cannot be brought back, and refusing to restore would only
    // lose the job's state too. Loud, so that an operator sees it.
    spdlog::error(
        "{}: the records of checkpoint {} in transaction '{}' (producer id {}, epoch {}) are "
        "LOST: {}. A prepared transaction must be committed within transaction.timeout.ms "
        "({}) of its start, a restore after a crash included",
        where, t.checkpoint_id, id, t.producer_id, t.producer_epoch, why,
        kafka::FormatDuration(transaction_timeout));
    return Status::OK();
  };
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto d = cluster->DescribeTransaction(id);
    if (!d.ok()) return d.status().WithContext(where + ": recovering transaction '" + id + "'");
    if (d->error_code == kafka::error_code::kTransactionalIdNotFound) {
      // Ids are forgotten transactional.id.expiration.ms (7 days) after their last use.
      spdlog::warn(
          "{}: transaction '{}' of checkpoint {} is unknown to the cluster: it ended longer ago "
          "than transactional.id.expiration.ms; if it was aborted, not committed, its records "
          "are lost",
          where, id, t.checkpoint_id);
      return Status::OK();
    }
    if (d->producer_id != t.producer_id || d->producer_epoch != t.producer_epoch) {
      return lost(fmt::format(
          "the transactional id now holds producer id {} epoch {} in state {}: the transaction "
          "was aborted by the broker or fenced by another producer",
          d->producer_id, d->producer_epoch, d->state));
    }
    if (IsCommitted(d->state)) {
      spdlog::info("{}: transaction '{}' of checkpoint {} was committed already", where, id,
                   t.checkpoint_id);
      return Status::OK();
    }
    if (d->state != "Ongoing") {
      return lost(fmt::format("the transaction is in state {}", d->state));
    }
    auto code = cluster->EndTransaction(id, t.producer_id, t.producer_epoch, /*commit=*/true);
    if (!code.ok())
      return code.status().WithContext(where + ": recovering transaction '" + id + "'");
    if (*code == kafka::error_code::kNone) {
      spdlog::info(
          "{}: committed transaction '{}' of checkpoint {} left open by an earlier run, as its "
          "producer (id {}, epoch {})",
          where, id, t.checkpoint_id, t.producer_id, t.producer_epoch);
      WEIR_FAULT_POINT(fault_points::kKafkaSinkAfterRecoveryCommit);
      return Status::OK();
    }
    // Fenced or in another state meanwhile (the transaction timeout struck): ask again.
    spdlog::warn("{}: EndTxn for transaction '{}' answered {}; describing it again", where, id,
                 kafka::ErrorCodeName(*code));
  }
  return Status::IOError(
      fmt::format("{}: transaction '{}' of checkpoint {} could not be committed "
                  "after 20 attempts",
                  where, id, t.checkpoint_id));
}

// Before the checkpoint that holds `t` completes, the broker must still have it open, as the
// producer that wrote it. One the broker aborted (open longer than transaction.timeout.ms: a
// slow checkpoint, a long pause) would be found only at its commit, its records lost then,
// with the source's offsets in the checkpoint past them. Found now, the checkpoint fails, the
// next barrier fails the task, and the job resumes from the last checkpoint, which reads them
// again. No margin: one that times out between this and its commit is still lost.
Status KafkaWriter::Impl::CheckStillOpen(const PreparedTransaction& t) {
  if (!cluster) return Status::OK();  // no way to ask (not PLAINTEXT)
  const std::string& id = t.transactional_id;
  auto d = cluster->DescribeTransaction(id);
  if (!d.ok()) {
    return d.status().WithContext(where + ": asking whether transaction '" + id +
                                  "' is still open before its checkpoint completes");
  }
  if (d->error_code == kafka::error_code::kNone && d->producer_id == t.producer_id &&
      ((d->state == "Ongoing" && d->producer_epoch == t.producer_epoch) ||
       IsCommitted(d->state))) {
    return Status::OK();  // open; or an earlier checkpoint's, persisted again, committed since
  }
  std::lock_guard<std::mutex> lock(sealed_mu);
  // Committed meanwhile by the task thread (whatever epoch the broker gives it after that).
  if (!sealed.contains(id)) return Status::OK();
  Status lost = Status::Aborted(fmt::format(
      "{}: transaction '{}' of checkpoint {} is no longer open on the broker ({}, state "
      "'{}', producer id {} epoch {}; written as {} epoch {}): it was open longer than "
      "transaction.timeout.ms ({}), or another producer fenced it. The checkpoint fails, so "
      "that the job resumes from the one before and writes its records again; give "
      "transaction.timeout.ms more room over the checkpoints' interval and duration",
      where, id, t.checkpoint_id, kafka::ErrorCodeName(d->error_code), d->state, d->producer_id,
      d->producer_epoch, t.producer_id, t.producer_epoch,
      kafka::FormatDuration(transaction_timeout)));
  if (lost_transaction.ok()) lost_transaction = lost;
  return lost;
}

// Reads which transactional ids of this sink the cluster knows: the next id of this subtask
// goes above all of them; committed ones after the restored checkpoint mean the restore is
// older than the output; open ones (not just committed by the restore) are a crashed run's.
Status KafkaWriter::Impl::ListOwnTransactions() {
  // AT_LEAST_ONCE needs no unique prefix: only the restored run's ids are its own.
  std::set<std::string> prefixes;
  if (exactly_once() && !prefix().empty()) prefixes.insert(prefix());
  if (restored_own && !restored_own->prefix.empty()) prefixes.insert(restored_own->prefix);
  for (const auto& s : adopted) {
    if (!s.prefix.empty()) prefixes.insert(s.prefix);
  }
  // The restored next n of each (prefix, subtask) the restore covers.
  std::map<std::pair<std::string, int>, uint64_t> restored_next;
  if (restored_own)
    restored_next[{restored_own->prefix, restored_own->subtask}] = restored_own->next;
  for (const auto& s : adopted) restored_next[{s.prefix, s.subtask}] = s.next;

  const int me = ctx.subtask_index;
  uint64_t next_free = restored_own && restored_own->prefix == prefix() ? restored_own->next : 0;
  std::vector<std::string> beyond;
  for (const std::string& pfx : prefixes) {
    auto listed = cluster->ListTransactions(kafka::TransactionalIdPattern(pfx));
    if (!listed.ok()) return listed.status().WithContext(where);
    for (const auto& l : *listed) {
      auto parts = kafka::ParseTransactionalId(l.transactional_id, pfx);
      if (!parts) continue;
      if (pfx == prefix() && parts->subtask == me) next_free = std::max(next_free, parts->n + 1);
      auto r = restored_next.find({pfx, parts->subtask});
      if (r != restored_next.end() && parts->n >= r->second && IsCommitted(l.state) &&
          !recovered.contains(l.transactional_id)) {
        beyond.push_back(l.transactional_id);
      }
      // This subtask cleans up after itself, subtask 0 after the subtasks that no longer run.
      bool owned = parts->subtask == me || (me == 0 && parts->subtask >= ctx.parallelism);
      if (owned && l.state == "Ongoing" && !recovered.contains(l.transactional_id)) {
        lingering.push_back(l.transactional_id);
      }
    }
  }
  // AT_LEAST_ONCE takes duplicates as they come.
  if (exactly_once() && !beyond.empty()) {
    std::sort(beyond.begin(), beyond.end());
    std::string msg = fmt::format(
        "the restored checkpoint is older than what this sink already committed to Kafka: "
        "transaction '{}'{} was committed after it, so the records it holds are in the topic "
        "and this restore would write them again",
        beyond.front(),
        beyond.size() > 1 ? fmt::format(" (and {} more)", beyond.size() - 1) : std::string());
    if (!rewind_allowed) {
      return Status::FailedPrecondition(
          fmt::format("{}: {}; restore the latest checkpoint, or set "
                      "execution.state-recovery.rewind-output: true to accept the duplicates",
                      where, msg));
    }
    spdlog::warn("{}: {}; execution.state-recovery.rewind-output is true: writing them again",
                 where, msg);
  }
  next = next_free;
  first_own = next;
  return Status::OK();
}

Status KafkaWriter::Impl::AbortLingering() {
  for (const std::string& id : lingering) {
    WEIR_FAULT_POINT(fault_points::kKafkaSinkBeforeAbort);
    auto d = cluster->DescribeTransaction(id);
    if (!d.ok()) return d.status().WithContext(where);
    if (d->state != "Ongoing") continue;
    kafka::Properties p = properties;
    p["transactional.id"] = id;
    if (!exactly_once()) {
      // Settings an AT_LEAST_ONCE producer may have that a transactional one refuses.
      for (const char* key : {"message.timeout.ms", "delivery.timeout.ms", "enable.idempotence"}) {
        p.erase(key);
      }
    }
    auto fencer = Producer::Create(p, options.topic, ctx.cancellation);
    if (!fencer.ok()) return fencer.status().WithContext(where);
    // A new producer of the id fences the old one, and the coordinator aborts its transaction.
    Status s = (*fencer)->InitTransactions(operation_timeout);
    if (!s.ok()) return s.WithContext(where + ": aborting transaction '" + id + "'");
    spdlog::info(
        "{}: aborted transaction '{}' (producer id {}, epoch {}) that an earlier run "
        "left open",
        where, id, d->producer_id, d->producer_epoch);
  }
  lingering.clear();
  return Status::OK();
}

KafkaWriter::KafkaWriter(KafkaSinkOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

KafkaWriter::~KafkaWriter() = default;

Status KafkaWriter::Open(const SinkContext& context) {
  Impl& m = *impl_;
  m.ctx = context;
  if (!m.options.topic.empty()) m.topics.push_back(m.options.topic);
  WEIR_RETURN_IF_ERROR(m.Configure());
  if (m.cluster) WEIR_RETURN_IF_ERROR(m.CheckCluster());
  if (!m.exactly_once()) {
    auto p = Producer::Create(m.properties, m.options.topic, m.ctx.cancellation);
    if (!p.ok()) return p.status().WithContext(m.where);
    for (const std::string& topic : m.topics) (*p)->WarmUp(topic, m.operation_timeout);
    std::lock_guard<std::mutex> lock(m.producer_mu);
    m.producer = std::move(*p);
  }
  return Status::OK();
}

Status KafkaWriter::Commit(std::string_view transaction) {
  Impl& m = *impl_;
  auto t = kafka::DecodePreparedTransaction(transaction);
  if (!t.ok()) return t.status().WithContext(m.where).AsPermanent();
  if (t->kind == PreparedTransaction::Kind::kFlush) return Status::OK();  // acknowledged already
  if (!m.cluster) {
    return Status::InvalidArgument(m.where +
                                   ": the checkpoint holds Kafka transactions, which "
                                   "only a PLAINTEXT connection can recover");
  }
  if (!m.initialized) {
    // Recovery: the engine commits what the restored checkpoint prepared.
    WEIR_RETURN_IF_ERROR(m.RecoverCommit(*t));
    m.recovered.insert(t->transactional_id);
    return Status::OK();
  }
  std::optional<Impl::Txn> txn;
  {
    std::lock_guard<std::mutex> lock(m.sealed_mu);
    auto it = m.sealed.find(t->transactional_id);
    if (it != m.sealed.end()) {
      txn = std::move(it->second);
      m.sealed.erase(it);
    }
  }
  if (!txn) return m.RecoverCommit(*t);  // prepared by an earlier attempt
  WEIR_FAULT_POINT(fault_points::kKafkaSinkBeforeCommit);
  Status s = txn->producer->CommitTransaction(m.operation_timeout);
  if (s.ok() || m.ctx.cancellation.stop_requested()) return s;
  spdlog::warn("{}: {}; finishing transaction '{}' as its producer (id {}, epoch {}) instead",
               m.where, s.message(), txn->id, txn->producer_id, txn->producer_epoch);
  txn.reset();
  return m.RecoverCommit(*t);
}

Status KafkaWriter::Initialize(const std::vector<SinkOutput>& restored) {
  Impl& m = *impl_;
  for (const SinkOutput& output : restored) {
    // The engine lists a subtask that prepared transactions but keeps no state of its own
    // (NONE, AT_LEAST_ONCE) with an empty state.
    if (output.state.empty()) continue;
    auto s = kafka::DecodeSubtaskState(output.state);
    if (!s.ok()) return s.status().WithContext(m.where).AsPermanent();
    if (s->subtask == m.ctx.subtask_index) {
      m.restored_own = std::move(*s);
    } else {
      m.adopted.push_back(std::move(*s));
    }
  }
  if (m.exactly_once()) {
    WEIR_RETURN_IF_ERROR(m.ListOwnTransactions());
    // A fresh start has nothing a failed restore could still need: clean up at once.
    if (!m.ctx.restored) WEIR_RETURN_IF_ERROR(m.AbortLingering());
  } else if (m.cluster && (m.restored_own || !m.adopted.empty())) {
    // Restored from an EXACTLY_ONCE run (only it keeps state): a transaction it left open
    // holds back every read_committed consumer of its partitions, these records included,
    // until the broker times it out. Aborted once the restore is confirmed, as above; at
    // least once, a cleanup that fails is a warning, not a failed job.
    Status listed = m.ListOwnTransactions();
    if (!listed.ok()) m.WarnLingeringLeft(listed);
  }
  m.initialized = true;
  return Status::OK();
}

Status KafkaWriter::OnRestoreConfirmed() {
  Impl& m = *impl_;
  if (m.lingering.empty()) return Status::OK();
  Status aborted = m.AbortLingering();
  if (m.exactly_once() || aborted.ok()) return aborted;
  m.WarnLingeringLeft(aborted);
  return Status::OK();
}

Status KafkaWriter::Write(const KafkaRecord& record) {
  Impl& m = *impl_;
  if (!record.topic.empty() && record.topic != m.last_topic) {
    m.last_topic = record.topic;
    if (m.topics.size() < kMaxWarmTopics &&
        std::find(m.topics.begin(), m.topics.end(), record.topic) == m.topics.end()) {
      m.topics.push_back(record.topic);
    }
  }
  Producer* p;
  if (m.exactly_once()) {
    if (!m.current) WEIR_RETURN_IF_ERROR(m.OpenTransaction());
    p = m.current->producer.get();
  } else {
    p = m.producer.get();
  }
  if (++m.written % kPollEvery == 0) p->Poll();
  Status s = p->Produce(record);
  return s.ok() ? s : s.WithContext(m.where);
}

Result<std::optional<std::string>> KafkaWriter::Prepare(int64_t checkpoint_id) {
  Impl& m = *impl_;
  if (m.exactly_once()) {
    {
      std::lock_guard<std::mutex> lock(m.sealed_mu);
      if (!m.lost_transaction.ok()) return m.lost_transaction;
    }
    if (!m.current || m.current->producer->records_in_period() == 0) {
      return std::optional<std::string>();
    }
    WEIR_FAULT_POINT(fault_points::kKafkaSinkBeforePrepare);
    // Every record of this transaction reaches its partition before the next transaction's
    // producer sends anything (see the top of this file). A record that failed fails this
    // checkpoint, not its commit.
    WEIR_RETURN_IF_ERROR_CTX(m.current->producer->Flush(m.delivery_timeout),
                             m.where + ": transaction '" + m.current->id + "'");
    PreparedTransaction t;
    t.transactional_id = m.current->id;
    t.producer_id = m.current->producer_id;
    t.producer_epoch = m.current->producer_epoch;
    t.checkpoint_id = checkpoint_id;
    {
      std::lock_guard<std::mutex> lock(m.sealed_mu);
      m.sealed[m.current->id] = std::move(*m.current);
    }
    m.current.reset();
    WEIR_FAULT_POINT(fault_points::kKafkaSinkAfterPrepare);
    return std::optional<std::string>(kafka::EncodePreparedTransaction(t));
  }
  m.producer->Poll();
  WEIR_RETURN_IF_ERROR_CTX(m.producer->error(), m.where);
  if (m.options.delivery_guarantee == DeliveryGuarantee::kNone ||
      m.producer->records_in_period() == 0) {
    return std::optional<std::string>();
  }
  PreparedTransaction t;
  t.kind = PreparedTransaction::Kind::kFlush;
  t.period = m.producer->BeginPeriod();
  t.checkpoint_id = checkpoint_id;
  return std::optional<std::string>(kafka::EncodePreparedTransaction(t));
}

Status KafkaWriter::Persist(std::string_view transaction) {
  Impl& m = *impl_;
  auto t = kafka::DecodePreparedTransaction(transaction);
  if (!t.ok()) return t.status().WithContext(m.where);
  if (t->kind == PreparedTransaction::Kind::kFlush) {
    std::shared_ptr<Producer> p = m.CurrentProducer();
    if (!p) return Status::Aborted(m.where + ": closed");
    Status s = p->WaitForPeriod(t->period, m.delivery_timeout);
    return s.ok() ? s : s.WithContext(m.where);
  }
  std::shared_ptr<Producer> p;
  {
    std::lock_guard<std::mutex> lock(m.sealed_mu);
    auto it = m.sealed.find(t->transactional_id);
    if (it == m.sealed.end()) return Status::OK();  // committed meanwhile, or an earlier run's
    p = it->second.producer;
  }
  Status s = p->Flush(m.delivery_timeout);
  if (!s.ok()) return s.WithContext(m.where + ": transaction '" + t->transactional_id + "'");
  WEIR_FAULT_POINT(fault_points::kKafkaSinkAfterPersistFlush);
  return m.CheckStillOpen(*t);
}

std::vector<SinkOutput> KafkaWriter::SnapshotOutputs() const {
  const Impl& m = *impl_;
  if (!m.exactly_once()) return {};
  std::vector<SinkOutput> outputs;
  outputs.push_back(SinkOutput{
      m.ctx.subtask_index, kafka::EncodeSubtaskState({m.prefix(), m.ctx.subtask_index, m.next})});
  for (const auto& s : m.adopted) {
    outputs.push_back(SinkOutput{s.subtask, kafka::EncodeSubtaskState(s)});
  }
  return outputs;
}

Status KafkaWriter::Finish() {
  Impl& m = *impl_;
  if (m.exactly_once()) return Status::OK();  // the final checkpoint commits
  Status s = m.producer->Flush(m.delivery_timeout);
  return s.ok() ? s : s.WithContext(m.where);
}

void KafkaWriter::Close() {
  Impl& m = *impl_;
  if (m.current && m.current->producer->records_in_period() > 0) {
    // No checkpoint holds it: abort, so that read_committed consumers need not wait for the
    // transaction timeout. Prepared transactions are left as they are: a restore commits them.
    Status s = m.current->producer->AbortTransaction(std::chrono::milliseconds(5'000));
    if (!s.ok()) spdlog::warn("{}: {}", m.where, s.message());
  }
  m.current.reset();
  {
    std::lock_guard<std::mutex> lock(m.sealed_mu);
    m.sealed.clear();
  }
  std::lock_guard<std::mutex> lock(m.producer_mu);
  m.producer.reset();
}

}  // namespace weir
