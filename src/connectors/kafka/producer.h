// Producer: one librdkafka producer, with its delivery reports counted and its errors turned
// into Status values that say what was refused and why.
//
// Records are counted per "period" (a stretch between two checkpoint barriers): a caller
// asks whether every record of the periods up to one has been acknowledged, which is what an
// at-least-once checkpoint waits for while later records keep flowing. The first delivery
// failure is kept and returned by every later call, so a lost record fails the task that
// wrote it.
//
// Per record, Produce touches one atomic counter (the records of its period not yet
// reported) and no lock: the counters are a ring of kPeriodSlots, and BeginPeriod (once per
// checkpoint) waits until the slot it reuses is empty, so each slot counts one period only.
//
// Thread-safety: Produce, BeginPeriod and the transaction calls on the owner's thread (the
// sink subtask's); WaitForPeriod, Flush and error() from any thread (a snapshot thread waits
// while the subtask writes on). Delivery reports run on whichever thread polls.
#pragma once

#include <librdkafka/rdkafka.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "connectors/kafka/client_config.h"
#include "weir/connectors/kafka.h"
#include "weir/status.h"

namespace weir::kafka {

// How Producer::InSlices goes on with a transaction call.
struct SliceOptions {
  bool retriable_errors = false;  // after librdkafka's retriable errors too, not only timeouts
  bool cancellable = true;        // a cancellation ends it
};

class Producer {
 public:
  // `properties` are librdkafka's (already checked); `default_topic` takes the records that
  // name none. Once stop is requested on `cancellation`, the waits below end with Aborted.
  static Result<std::unique_ptr<Producer>> Create(const Properties& properties,
                                                  std::string default_topic,
                                                  std::stop_token cancellation = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a record; waits (serving delivery reports) while librdkafka's queue is full, up to
  // message.timeout.ms (when what is queued fails) or the cancellation.
  Status Produce(const KafkaRecord& record);
  // Fetches the partitions and leaders of `topic` now (nothing for an empty name). A new
  // librdkafka producer learns them only on its next periodic metadata scan, up to a second
  // after the first record, which a producer per transaction would pay at every checkpoint
  // (its barrier waits for its records).
  void WarmUp(const std::string& topic, std::chrono::milliseconds timeout);
  // Serves delivery reports that are ready, without waiting.
  void Poll();
  // Records produced from now on belong to a new period; returns the period that just ended.
  uint64_t BeginPeriod();
  // Waits until every record of the periods up to `period` is acknowledged or failed; the
  // first delivery error, if any.
  Status WaitForPeriod(uint64_t period, std::chrono::milliseconds timeout);
  // Waits until every record produced so far is acknowledged or failed.
  Status Flush(std::chrono::milliseconds timeout);
  // The first delivery or fatal error so far (OK if none).
  Status error() const;
  uint64_t records_in_period() const { return in_period_; }

  // Transactions (transactional.id set): librdkafka's calls, their errors as Status; init and
  // commit end with Aborted once the cancellation is requested, abort waits its timeout out.
  Status InitTransactions(std::chrono::milliseconds timeout);
  Status BeginTransaction();
  Status CommitTransaction(std::chrono::milliseconds timeout);
  Status AbortTransaction(std::chrono::milliseconds timeout);

  const std::string& name() const { return name_; }

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void Fail(Status s);
  // A record the brokers refused as too large. They refuse a whole batch, small records too:
  // the error names the largest record refused, the likely culprit.
  void FailTooLarge(std::string_view topic, int32_t partition, size_t bytes);
  Status TxnError(rd_kafka_error_t* error, std::string_view doing);
  // A transaction call, given `timeout` in slices between which a cancellation ends it: the
  // calls may be repeated after timing out, and go on where they were.
  Status InSlices(std::chrono::milliseconds timeout, std::string_view doing,
                  rd_kafka_error_t* (*call)(rd_kafka_t*, int), SliceOptions options = {});
  bool AllDelivered(uint64_t period);
  Status Cancelled() const;

  rd_kafka_t* rk_ = nullptr;
  std::vector<rd_kafka_topic_t*> topics_;  // warmed up: held so librdkafka keeps their metadata
  std::string name_;                       // the client's name, for messages
  std::string default_topic_;
  std::stop_token cancellation_;
  int64_t message_max_bytes_ = 1'000'000;
  static constexpr uint64_t kPeriodSlots = 64;
  std::atomic<uint64_t> period_{0};  // written by the owner's thread only
  uint64_t in_period_ = 0;           // records produced in the current period; owner's thread
  // Records produced and not yet reported, of period p in slot p % kPeriodSlots.
  std::array<std::atomic<int64_t>, kPeriodSlots> outstanding_{};
  std::atomic<bool> failed_{false};  // error_ is set
  mutable std::mutex mu_;
  Status error_;  // mu_
  size_t largest_refused_ = 0;  // mu_: FailTooLarge's largest record so far
};

}  // namespace weir::kafka
