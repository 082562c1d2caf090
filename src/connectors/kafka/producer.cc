#include "connectors/kafka/producer.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <thread>

#include "base/logging.h"

namespace weir::kafka {

namespace {

// The longest a wait on the brokers goes without looking at the cancellation. Not much
// shorter: each resumed transaction call skips librdkafka's 500 ms retry backoff.
constexpr std::chrono::milliseconds kWaitSlice{500};

std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }

// What a failed delivery means for the job, in the user's terms.
Status DeliveryError(rd_kafka_resp_err_t err, std::string_view topic, int32_t partition,
                     size_t bytes) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return Status::InvalidArgument(fmt::format(
          "the brokers refused records for topic '{}'{} as too large, the largest of them {} "
          "bytes (the limit is the broker's message.max.bytes or the topic's max.message.bytes)",
          topic, partition >= 0 ? fmt::format(" partition {}", partition) : std::string(),
          bytes));
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return Status::InvalidArgument(fmt::format(
          "'{}' is not a valid Kafka topic name (at most 249 of the characters a-z A-Z 0-9 . _ "
          "-)",
          topic));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return Status::FailedPrecondition(fmt::format(
          "topic '{}' does not exist, and the brokers did not create it (their "
          "auto.create.topics.enable is false, or this client may not create topics): create it "
          "first ({})",
          topic, RdKafkaErrorText(err)));
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::InvalidArgument(
          fmt::format("topic '{}' has no partition {}", topic, partition));
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      return Status::FailedPrecondition(fmt::format("this client may not write to topic '{}' ({})",
                                                    topic, RdKafkaErrorText(err)));
    default:
      return Status::IOError(
          fmt::format("delivering a record of {} bytes to topic '{}'{}: {}", bytes, topic,
                      partition >= 0 ? fmt::format(" partition {}", partition) : std::string(),
                      RdKafkaErrorText(err)));
  }
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Create(const Properties& properties,
                                                   std::string default_topic,
                                                   std::stop_token cancellation) {
  auto conf = NewRdKafkaConf(properties);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Producer> p(new Producer());
  p->default_topic_ = std::move(default_topic);
  p->cancellation_ = std::move(cancellation);
  char value[64];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf->get(), "message.max.bytes", value, &size) == RD_KAFKA_CONF_OK) {
    p->message_max_bytes_ = std::atoll(value);
  }
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
  rd_kafka_conf_set_error_cb(conf->get(), &Producer::OnError);
  char err[512];
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof err);
  if (p->rk_ == nullptr) {
    return Status::InvalidArgument(fmt::format("creating a Kafka producer: {}", err));
  }
  (void)conf->release();  // rd_kafka_new owns it now
  p->name_ = rd_kafka_name(p->rk_);
  return p;
}

Producer::~Producer() {
  if (rk_ == nullptr) return;
  // Whatever is still queued is not waited for: a caller that needs it delivered flushed.
  (void)rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
  for (rd_kafka_topic_t* t : topics_) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk_);
}

void Producer::Fail(Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_.ok()) error_ = std::move(s);
  failed_.store(true, std::memory_order_release);
}

void Producer::FailTooLarge(std::string_view topic, int32_t partition, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  // The first error stays, unless it is an earlier record of this kind, smaller.
  if (!error_.ok() && largest_refused_ == 0) return;
  if (bytes <= largest_refused_) return;
  largest_refused_ = bytes;
  error_ = DeliveryError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, topic, partition, bytes);
  failed_.store(true, std::memory_order_release);
}

Status Producer::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

Status Producer::Cancelled() const {
  return Status::Aborted(
      fmt::format("Kafka producer {}: the job was cancelled while it waited for the brokers", name_));
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  auto period = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
  // The error first: a waiter that sees the period done then sees the error too.
  if (msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
    self->FailTooLarge(msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?", msg->partition,
                       msg->len + msg->key_len);
  } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->Fail(DeliveryError(msg->err, msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?",
                             msg->partition, msg->len + msg->key_len));
  }
  self->outstanding_[period % kPeriodSlots].fetch_sub(1, std::memory_order_release);
}

void Producer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char text[512];
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, text, sizeof text);
    self->Fail(Status::IOError(fmt::format("Kafka producer {} failed for good: {} ({})",
                                           rd_kafka_name(rk), text, rd_kafka_err2name(fatal))));
    return;
  }
  // Connection trouble: librdkafka retries; a record that cannot be delivered in time fails
  // on its own (message.timeout.ms).
  spdlog::warn("Kafka producer {}: {} ({})", rd_kafka_name(rk), reason,
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

Status Producer::Produce(const KafkaRecord& r) {
  const std::string& topic = r.topic.empty() ? default_topic_ : r.topic;
  if (topic.empty()) {
    return Status::InvalidArgument(
        "Kafka sink: a record names no topic, and the sink has none (KafkaSinkBuilder::SetTopic)");
  }
  if (failed_.load(std::memory_order_acquire)) return error();
  const uint64_t period = period_.load(std::memory_order_relaxed);
  std::atomic<int64_t>& outstanding = outstanding_[period % kPeriodSlots];
  outstanding.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_headers_t* headers = nullptr;
  if (!r.headers.empty()) {
    headers = rd_kafka_headers_new(r.headers.size());
    for (const auto& [name, value] : r.headers) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
  }
  const char* value = r.value ? r.value->data() : nullptr;
  size_t value_len = r.value ? r.value->size() : 0;
  const char* key = r.key ? r.key->data() : nullptr;
  size_t key_len = r.key ? r.key->size() : 0;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(r.partition.value_or(RD_KAFKA_PARTITION_UA)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value), value_len), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_TIMESTAMP(r.timestamp_ms.value_or(0)),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(period))), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++in_period_;
      return Status::OK();
    }
    const bool queue_full = err == RD_KAFKA_RESP_ERR__QUEUE_FULL;
    if (queue_full) {
      // Backpressure: wait for the brokers to take some of what is queued.
      rd_kafka_poll(rk_, 50);
      if (error().ok() && !cancellation_.stop_requested()) continue;
    }
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    outstanding.fetch_sub(1, std::memory_order_release);
    if (failed_.load(std::memory_order_acquire)) return error();
    if (queue_full) return Cancelled();
    size_t bytes = value_len + key_len;
    switch (err) {
      case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return Status::InvalidArgument(fmt::format(
            "a record of {} bytes for topic '{}' is larger than message.max.bytes ({} bytes, a "
            "producer property; the broker's message.max.bytes and the topic's "
            "max.message.bytes limit it too)",
            bytes, topic, message_max_bytes_));
      case RD_KAFKA_RESP_ERR__FATAL: {
        char text[512];
        rd_kafka_fatal_error(rk_, text, sizeof text);
        return Status::IOError(fmt::format("Kafka producer {} failed for good: {}", name_, text));
      }
      default:
        return DeliveryError(err, topic, r.partition.value_or(-1), bytes);
    }
  }
}

void Producer::WarmUp(const std::string& topic, std::chrono::milliseconds timeout) {
  if (topic.empty()) return;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  if (rkt == nullptr) return;  // an invalid name: the first record says so
  topics_.push_back(rkt);
  // In slices, between which a cancellation ends the wait.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_resp_err_t err;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto slice = std::clamp(left, std::chrono::milliseconds(1), kWaitSlice);
    err = rd_kafka_metadata(rk_, 0, rkt, &md, static_cast<int>(slice.count()));
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    // __TRANSPORT: no broker was up within the slice.
    const bool waiting =
        err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT;
    if (!waiting || cancellation_.stop_requested() ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
  }
  // Not an error yet: records fail on their own if the topic cannot be written.
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::debug("Kafka producer {}: metadata of topic '{}': {}", name_, topic,
                  RdKafkaErrorText(err));
  }
}

void Producer::Poll() { rd_kafka_poll(rk_, 0); }

uint64_t Producer::BeginPeriod() {
  const uint64_t ended = period_.load(std::memory_order_relaxed);
  // The slot of the next period last counted the period kPeriodSlots - 1 before the one that
  // ended: it must be empty before it counts again (librdkafka fails a record that is not
  // delivered within message.timeout.ms, so this ends; in practice it never waits). A
  // cancelled run stops waiting, and the producer fails: the slot counts two periods now.
  while (outstanding_[(ended + 1) % kPeriodSlots].load(std::memory_order_acquire) != 0) {
    if (cancellation_.stop_requested()) {
      Fail(Cancelled());
      break;
    }
    rd_kafka_poll(rk_, 10);
  }
  in_period_ = 0;
  period_.store(ended + 1, std::memory_order_release);
  return ended;
}

bool Producer::AllDelivered(uint64_t period) {
  // The periods that may still have records out: the current one and the kPeriodSlots - 1
  // before it (older ones emptied their slot before it was reused).
  const uint64_t current = period_.load(std::memory_order_acquire);
  const uint64_t last = std::min(period, current);
  const uint64_t first = current >= kPeriodSlots - 1 ? current - (kPeriodSlots - 1) : 0;
  for (uint64_t q = first; q <= last; ++q) {
    if (outstanding_[q % kPeriodSlots].load(std::memory_order_acquire) != 0) return false;
  }
  return true;
}

Status Producer::WaitForPeriod(uint64_t period, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!AllDelivered(period)) {
    if (cancellation_.stop_requested()) return Cancelled();
    if (std::chrono::steady_clock::now() >= deadline) {
      Status s = error();
      if (!s.ok()) return s;
      return Status::TimedOut(
          fmt::format("Kafka producer {}: records were not acknowledged within {}", name_,
                      FormatDuration(timeout)));
    }
    rd_kafka_poll(rk_, 10);
  }
  return error();
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  return WaitForPeriod(std::numeric_limits<uint64_t>::max(), timeout);
}

Status Producer::TxnError(rd_kafka_error_t* error, std::string_view doing) {
  if (error == nullptr) return Status::OK();
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  std::string text =
      fmt::format("Kafka producer {}: {}: {} ({}{})", name_, doing, rd_kafka_error_string(error),
                  rd_kafka_error_name(error), rd_kafka_error_is_fatal(error) ? ", fatal" : "");
  rd_kafka_error_destroy(error);
  if (code == RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT) return Status::InvalidArgument(text);
  return Status::IOError(text);
}

Status Producer::InSlices(std::chrono::milliseconds timeout, std::string_view doing,
                          rd_kafka_error_t* (*call)(rd_kafka_t*, int), SliceOptions options) {
  const auto deadline = Now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Now());
    auto slice = std::clamp(left, std::chrono::milliseconds(1), kWaitSlice);
    rd_kafka_error_t* e = call(rk_, static_cast<int>(slice.count()));
    if (e == nullptr) return Status::OK();
    // librdkafka goes on with the call where it was when called again: after a timeout, and
    // for init also after an error it retries itself (the coordinator aborting a transaction
    // the id held answers CONCURRENT_TRANSACTIONS until it has).
    const bool again =
        rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT ||
        (options.retriable_errors && rd_kafka_error_is_retriable(e) && !rd_kafka_error_is_fatal(e));
    if (again && options.cancellable && cancellation_.stop_requested()) {
      rd_kafka_error_destroy(e);
      return Cancelled();
    }
    if (!again || Now() >= deadline) return TxnError(e, doing);
    // After an error, librdkafka's own backoff: a call again at once would send again at once.
    const bool timed_out = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_error_destroy(e);
    if (!timed_out) std::this_thread::sleep_until(std::min(deadline, Now() + kWaitSlice));
  }
}

Status Producer::InitTransactions(std::chrono::milliseconds timeout) {
  return InSlices(timeout, "initializing transactions", &rd_kafka_init_transactions,
                  {.retriable_errors = true});
}

Status Producer::BeginTransaction() {
  return TxnError(rd_kafka_begin_transaction(rk_), "beginning a transaction");
}

Status Producer::CommitTransaction(std::chrono::milliseconds timeout) {
  return InSlices(timeout, "committing the transaction", &rd_kafka_commit_transaction);
}

Status Producer::AbortTransaction(std::chrono::milliseconds timeout) {
  // Not cut short by a cancellation: an open transaction holds read_committed consumers back
  // until it ends, and the caller bounds the wait.
  return InSlices(timeout, "aborting the transaction", &rd_kafka_abort_transaction,
                  {.cancellable = false});
}

}  // namespace weir::kafka
