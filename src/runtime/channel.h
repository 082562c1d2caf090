// Channel: the bounded queue between one producer subtask and one consumer subtask.
//
// It carries batches of records and, in the same order, control events: watermarks and
// watermark status, checkpoint barriers, end of data (no more records; barriers may still
// follow, for the final checkpoint) and end of partition (nothing more at all). Capacity is counted in records. A producer checks
// HasCapacity() before it processes more input, which is how backpressure travels upstream;
// an event never waits for capacity. A producer that found the channel full is woken once the
// consumer has drained it to half its capacity, so it sleeps once per several batches, not
// once per batch. Emptied batches travel back to the producer for reuse.
//
// The consumer sets the capacity from its measured throughput (buffer debloating), so the
// data queued ahead of a barrier stays around the debloat target in processing time, and
// checkpoints stay fast even when the consumer is slow.
//
// Thread-safety: producer methods from the producer's task thread, consumer methods from the
// consumer's, Cancel() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/mailbox.h"
#include "checkpoint/checkpoint_messages.h"
#include "weir/detail/batch.h"

namespace weir {

enum class EventKind : uint8_t {
  kRecords,
  kWatermark,
  kWatermarkStatus,
  kBarrier,
  kEndOfData,
  kEndOfPartition,
};

struct Envelope {
  EventKind kind = EventKind::kRecords;
  std::unique_ptr<detail::BatchBase> batch;
  CheckpointBarrier barrier;
  int64_t watermark = 0;
  bool idle = false;  // kWatermarkStatus
};

class Channel final : public detail::OutputChannel {
 public:
  Channel(size_t initial_capacity, size_t max_capacity, size_t max_batch, TaskWaker* consumer,
          TaskWaker* producer);

  // Producer side.
  std::unique_ptr<detail::BatchBase> TakeRecycled() override;
  void PushBatch(std::unique_ptr<detail::BatchBase> batch) override;
  size_t target_batch_size() const override;
  void PushEvent(EventKind kind, const CheckpointBarrier& barrier = {});
  void PushWatermark(int64_t watermark) override;
  void PushWatermarkStatus(bool idle) override;
  bool HasCapacity() const {
    return queued_records_.load(std::memory_order_acquire) <
           capacity_.load(std::memory_order_relaxed);
  }

  // Consumer side.
  bool Poll(Envelope* out);
  void Recycle(std::unique_ptr<detail::BatchBase> batch);
  void SetCapacity(size_t records);
  size_t capacity() const { return capacity_.load(std::memory_order_relaxed); }
  size_t max_capacity() const { return max_capacity_; }

  // Unblocks a producer waiting in PushBatch; later pushes are dropped.
  void Cancel();

 private:
  // Queued records at which PushBatch blocks.
  size_t HardLimit() const;
  void PushEnvelope(Envelope e);

  mutable std::mutex mu_;
  std::condition_variable space_;
  std::deque<Envelope> queue_;                                // guarded by mu_
  std::vector<std::unique_ptr<detail::BatchBase>> recycled_;  // guarded by mu_
  bool cancelled_ = false;                                    // guarded by mu_
  std::atomic<size_t> queued_records_{0};
  std::atomic<size_t> capacity_;
  const size_t max_capacity_;
  const size_t max_batch_;
  TaskWaker* consumer_;
  TaskWaker* producer_;
};

}  // namespace weir
