#include "runtime/channel.h"

#include <algorithm>

namespace weir {
namespace {

// A push blocks only when one input batch expanded well past the capacity (a flat_map that
// explodes), so memory, and the data queued ahead of a barrier, stay bounded even then.
constexpr size_t kHardLimitFactor = 2;

}  // namespace

Channel::Channel(size_t initial_capacity, size_t max_capacity, size_t max_batch,
                 TaskWaker* consumer, TaskWaker* producer)
    : capacity_(std::clamp<size_t>(initial_capacity, 1, std::max<size_t>(max_capacity, 1))),
      max_capacity_(std::max<size_t>(max_capacity, 1)),
      max_batch_(std::max<size_t>(max_batch, 1)),
      consumer_(consumer),
      producer_(producer) {}

std::unique_ptr<detail::BatchBase> Channel::TakeRecycled() {
  std::lock_guard<std::mutex> lock(mu_);
  if (recycled_.empty()) return nullptr;
  auto b = std::move(recycled_.back());
  recycled_.pop_back();
  return b;
}

size_t Channel::target_batch_size() const {
  return std::clamp<size_t>(capacity() / 4, 1, max_batch_);
}

size_t Channel::HardLimit() const { return capacity() * kHardLimitFactor + target_batch_size(); }

void Channel::PushBatch(std::unique_ptr<detail::BatchBase> batch) {
  size_t n = batch->size();
  {
    std::unique_lock<std::mutex> lock(mu_);
    // The limit is re-read on every wakeup: the consumer may have grown the capacity since.
    space_.wait(lock, [&] { return cancelled_ || queued_records_.load() < HardLimit(); });
    if (cancelled_) return;
    Envelope e;
    e.batch = std::move(batch);
    queue_.push_back(std::move(e));
    queued_records_.fetch_add(n, std::memory_order_release);
  }
  consumer_->Wake();
}

void Channel::PushEvent(EventKind kind, const CheckpointBarrier& barrier) {
  Envelope e;
  e.kind = kind;
  e.barrier = barrier;
  PushEnvelope(std::move(e));
}

void Channel::PushWatermark(int64_t watermark) {
  Envelope e;
  e.kind = EventKind::kWatermark;
  e.watermark = watermark;
  PushEnvelope(std::move(e));
}

void Channel::PushWatermarkStatus(bool idle) {
  Envelope e;
  e.kind = EventKind::kWatermarkStatus;
  e.idle = idle;
  PushEnvelope(std::move(e));
}

void Channel::PushEnvelope(Envelope e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    queue_.push_back(std::move(e));
  }
  consumer_->Wake();
}

bool Channel::Poll(Envelope* out) {
  bool drained_to_low_water;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    if (out->kind != EventKind::kRecords) return true;
    size_t n = out->batch->size();
    size_t before = queued_records_.fetch_sub(n, std::memory_order_acq_rel);
    // A producer that found the channel full sleeps until the queue has drained to half the
    // capacity, then refills it with several batches per wakeup. Waking it as soon as one batch
    // fits would make it sleep and wake once per batch whenever it outpaces this consumer.
    // While it sleeps the queue only shrinks, so this crossing comes; a capacity that grows
    // wakes it in SetCapacity.
    size_t low_water = capacity() / 2;
    drained_to_low_water = before > low_water && before - n <= low_water;
    if (before >= capacity() * kHardLimitFactor) space_.notify_all();
  }
  if (drained_to_low_water) producer_->Wake();
  return true;
}

void Channel::Recycle(std::unique_ptr<detail::BatchBase> batch) {
  batch->clear();
  std::lock_guard<std::mutex> lock(mu_);
  // Keep a few: enough for the batches in flight, without hoarding memory.
  if (recycled_.size() < 8) recycled_.push_back(std::move(batch));
}

void Channel::SetCapacity(size_t records) {
  size_t c = std::clamp<size_t>(records, 1, max_capacity_);
  size_t old;
  {
    // Under mu_, so a producer blocked in PushBatch cannot miss the raised hard limit between
    // checking it and going to sleep.
    std::lock_guard<std::mutex> lock(mu_);
    old = capacity_.exchange(c, std::memory_order_relaxed);
  }
  if (c > old) {
    space_.notify_all();
    producer_->Wake();
  }
}

void Channel::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    queue_.clear();
    queued_records_.store(0);
  }
  space_.notify_all();
  producer_->Wake();
  consumer_->Wake();
}

}  // namespace weir
