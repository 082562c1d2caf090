// Internal: records move between operators and tasks in batches, never one by one.
//
// Within a task, operators are chained: each calls the next one's Accept() once per batch (one
// virtual call per batch, none per record). Between tasks, a RecordWriter fills Batch<T>
// objects and pushes them into OutputChannels; the consumer hands them back for reuse, so
// steady-state exchange allocates nothing.
//
// A batch's records carry event timestamps only when the job gives them some (an event-time
// source, a timestamp assigner): then `timestamps` holds one per record, otherwise it stays
// empty and costs nothing. Every record of one batch has a timestamp, or none has.
//
// Watermarks travel the same way, in order with the records: after each operator handles one,
// it passes it on through the chain, and a writer sends it over every channel after the
// records before it.
//
// Thread-safety: a BatchConsumer belongs to its task thread. OutputChannel is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace weir::detail {

// A watermark w says event time reached w: records with timestamps at or below w are late.
// The maximum ends event time (end of input, or a stop that drains).
inline constexpr int64_t kMinWatermark = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxWatermark = std::numeric_limits<int64_t>::max();

// What besides records flows along a stream: watermarks, and whether the stream is idle (an
// idle stream sends neither records nor watermarks for a while; consumers stop waiting for
// its watermark until it is active again).
class WatermarkConsumer {
 public:
  virtual ~WatermarkConsumer() = default;
  virtual void AcceptWatermark(int64_t watermark) = 0;
  virtual void AcceptWatermarkStatus(bool idle) = 0;
};

class BatchBase {
 public:
  virtual ~BatchBase() = default;
  virtual size_t size() const = 0;
  virtual void clear() = 0;
};

template <typename T>
class Batch final : public BatchBase {
 public:
  size_t size() const override { return records.size(); }
  void clear() override {
    records.clear();
    timestamps.clear();
  }
  bool has_timestamps() const { return !timestamps.empty(); }

  std::vector<T> records;
  // Event time in milliseconds since the epoch, one per record, or empty.
  std::vector<int64_t> timestamps;
};

// The typed input of an operator: what its predecessor in the chain emits into.
template <typename T>
class BatchConsumer : public WatermarkConsumer {
 public:
  // Processes a batch. The callee may move from the records (and timestamps) or reorder them;
  // the caller clears the batch afterwards.
  virtual void Accept(Batch<T>& batch) = 0;

  // Processes a batch that consumers after this one get as well, so it stays as it is (a
  // fan-out's, Tee). `scratch` is an empty batch of the caller's that the callee may fill and
  // hand on. By default the whole batch is copied into it; a consumer that keeps some records
  // only (a filter) copies just those.
  virtual void AcceptShared(const Batch<T>& batch, Batch<T>& scratch) {
    if constexpr (std::is_copy_constructible_v<T>) {
      scratch.records.assign(batch.records.begin(), batch.records.end());
      scratch.timestamps.assign(batch.timestamps.begin(), batch.timestamps.end());
      Accept(scratch);
    } else {
      throw std::logic_error("records of a type that cannot be copied went to two consumers");
    }
  }
};

// The producer's end of a channel between two subtasks.
class OutputChannel {
 public:
  virtual ~OutputChannel() = default;
  // An empty batch handed back by the consumer, or null.
  virtual std::unique_ptr<BatchBase> TakeRecycled() = 0;
  // Queues a batch. Capacity is checked before a task processes input (backpressure); a push
  // blocks only when a single input batch expands far past the channel's capacity.
  virtual void PushBatch(std::unique_ptr<BatchBase> batch) = 0;
  // Queues a watermark, or a change of the stream's idleness, after the batches before it.
  virtual void PushWatermark(int64_t watermark) = 0;
  virtual void PushWatermarkStatus(bool idle) = 0;
  // How many records a batch should hold now (shrinks when the consumer is slow, so that
  // checkpoint barriers do not wait behind a large backlog).
  virtual size_t target_batch_size() const = 0;
};

}  // namespace weir::detail
