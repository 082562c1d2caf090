// Internal: records move between operators and tasks in batches, never one by one.
//
// Within a task, operators are chained: each calls the next one's Accept() once per batch (one
// virtual call per batch, none per record). Between tasks, a RecordWriter fills Batch<T>
// objects and pushes them into OutputChannels; the consumer hands them back for reuse, so
// steady-state exchange allocates nothing.
//
// Thread-safety: a BatchConsumer belongs to its task thread. OutputChannel is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace weir::detail {

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
  void clear() override { records.clear(); }
  std::vector<T> records;
};

// The typed input of an operator: what its predecessor in the chain emits into.
template <typename T>
class BatchConsumer {
 public:
  virtual ~BatchConsumer() = default;
  // Processes a batch. The callee may move from the records or reorder them; the caller
  // clears the vector afterwards.
  virtual void Accept(std::vector<T>& records) = 0;
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
  // How many records a batch should hold now (shrinks when the consumer is slow, so that
  // checkpoint barriers do not wait behind a large backlog).
  virtual size_t target_batch_size() const = 0;
};

}  // namespace weir::detail
