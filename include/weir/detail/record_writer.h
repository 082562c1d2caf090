// Internal: the end of a task's chain that sends records to other tasks.
//
// A RecordWriter partitions each batch it accepts into one pending Batch<T> per output
// channel and pushes a batch when it reaches the channel's target size. The task flushes
// partly filled batches when its input runs dry, when the buffer timeout passes, and before a
// checkpoint barrier or end-of-data event goes out (events travel in the same channels, after
// the records that precede them).
//
// Partitioning: forward (one channel, batches passed through without copying records; also
// key groups into a single subtask), rebalance (round robin), and key groups (hash of the key's
// bytes, Flink's assignment).
// Thread-safety: owned by one task thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/batch.h"
#include "weir/detail/hash.h"

namespace weir::detail {

class RecordWriterBase {
 public:
  explicit RecordWriterBase(std::vector<OutputChannel*> channels)
      : channels_(std::move(channels)) {}
  virtual ~RecordWriterBase() = default;

  // Pushes every partly filled batch.
  virtual void FlushAll() = 0;
  virtual bool has_pending() const = 0;
  const std::vector<OutputChannel*>& channels() const { return channels_; }
  // Records accepted so far (any thread; counted once per batch by the task thread).
  uint64_t records_out() const { return records_out_.load(std::memory_order_relaxed); }

 protected:
  // Every consumer subtask gets the watermark, after the records before it.
  void BroadcastWatermark(int64_t watermark) {
    FlushAll();
    for (OutputChannel* ch : channels_) ch->PushWatermark(watermark);
  }
  void BroadcastWatermarkStatus(bool idle) {
    FlushAll();
    for (OutputChannel* ch : channels_) ch->PushWatermarkStatus(idle);
  }
  void CountOut(size_t n) {
    records_out_.store(records_out_.load(std::memory_order_relaxed) + n,
                       std::memory_order_relaxed);
  }

  std::vector<OutputChannel*> channels_;
  std::atomic<uint64_t> records_out_{0};
};

// Sends batches of T to channels chosen per record by `SelectChannel` (int(const T&)).
template <typename T, typename SelectChannel>
class RecordWriter final : public RecordWriterBase, public BatchConsumer<T> {
 public:
  RecordWriter(std::vector<OutputChannel*> channels, SelectChannel select)
      : RecordWriterBase(std::move(channels)), select_(std::move(select)) {
    pending_.resize(channels_.size());
    limits_.resize(channels_.size(), 0);
  }

  void Accept(Batch<T>& in) override {
    CountOut(in.records.size());
    if (in.has_timestamps() != timestamped_) [[unlikely]] SwitchKind();
    // One loop for both kinds: a second call site of the selector would keep the compiler
    // from inlining it (key hashing) into either.
    const int64_t* timestamps = timestamped_ ? in.timestamps.data() : nullptr;
    for (size_t i = 0; i < in.records.size(); ++i) {
      T& r = in.records[i];
      size_t c = static_cast<size_t>(select_(std::as_const(r)));
      Batch<T>& b = PendingFor(c);
      b.records.push_back(std::move(r));
      if (timestamps != nullptr) [[unlikely]] b.timestamps.push_back(timestamps[i]);
      if (b.records.size() >= limits_[c]) [[unlikely]]
        Push(c);
    }
  }

  void FlushAll() override {
    for (size_t c = 0; c < pending_.size(); ++c) {
      if (pending_[c] && !pending_[c]->records.empty()) Push(c);
    }
  }
  void AcceptWatermark(int64_t watermark) override { BroadcastWatermark(watermark); }
  void AcceptWatermarkStatus(bool idle) override { BroadcastWatermarkStatus(idle); }

  bool has_pending() const override {
    for (const auto& b : pending_) {
      if (b && !b->records.empty()) return true;
    }
    return false;
  }

 private:
  Batch<T>& PendingFor(size_t c) {
    if (!pending_[c]) [[unlikely]] {
      std::unique_ptr<BatchBase> recycled = channels_[c]->TakeRecycled();
      pending_[c].reset(recycled ? static_cast<Batch<T>*>(recycled.release()) : new Batch<T>());
      limits_[c] = channels_[c]->target_batch_size();
    }
    return *pending_[c];
  }

  // Pending batches hold records of the other kind: they go first.
  [[gnu::noinline]] void SwitchKind() {
    FlushAll();
    timestamped_ = !timestamped_;
  }


  void Push(size_t c) { channels_[c]->PushBatch(std::move(pending_[c])); }

  SelectChannel select_;
  bool timestamped_ = false;  // the kind of the records in the pending batches
  std::vector<std::unique_ptr<Batch<T>>> pending_;
  std::vector<size_t> limits_;
};

// One channel (a forward edge, or a keyed one into a single subtask): a large batch is handed
// over whole (the vectors are swapped, no record is moved one by one).
template <typename T>
class ForwardWriter final : public RecordWriterBase, public BatchConsumer<T> {
 public:
  explicit ForwardWriter(OutputChannel* channel) : RecordWriterBase({channel}) {}

  void Accept(Batch<T>& in) override {
    CountOut(in.records.size());
    Batch<T>* b = &Pending();
    if (!b->records.empty() && b->has_timestamps() != in.has_timestamps()) [[unlikely]] {
      channels_[0]->PushBatch(std::move(pending_));  // a batch holds records of one kind
      b = &Pending();
    }
    if (b->records.empty() && in.records.size() * 2 >= limit_) {
      b->records.swap(in.records);
      b->timestamps.swap(in.timestamps);
    } else {
      for (auto& r : in.records) b->records.push_back(std::move(r));
      b->timestamps.insert(b->timestamps.end(), in.timestamps.begin(), in.timestamps.end());
    }
    if (b->records.size() >= limit_) channels_[0]->PushBatch(std::move(pending_));
  }

  void FlushAll() override {
    if (pending_ && !pending_->records.empty()) channels_[0]->PushBatch(std::move(pending_));
  }
  void AcceptWatermark(int64_t watermark) override { BroadcastWatermark(watermark); }
  void AcceptWatermarkStatus(bool idle) override { BroadcastWatermarkStatus(idle); }
  bool has_pending() const override { return pending_ && !pending_->records.empty(); }

 private:
  Batch<T>& Pending() {
    if (!pending_) {
      std::unique_ptr<BatchBase> recycled = channels_[0]->TakeRecycled();
      pending_.reset(recycled ? static_cast<Batch<T>*>(recycled.release()) : new Batch<T>());
      limit_ = channels_[0]->target_batch_size();
    }
    return *pending_;
  }

  std::unique_ptr<Batch<T>> pending_;
  size_t limit_ = 1;
};

// Round robin over the channels, starting at a channel that depends on the subtask so that
// parallel producers do not all begin with the same consumer.
class RoundRobinSelector {
 public:
  RoundRobinSelector(int channels, int start) : n_(channels), next_(start % channels) {}
  template <typename T>
  int operator()(const T&) {
    int c = next_;
    if (++next_ == n_) next_ = 0;
    return c;
  }

 private:
  int n_;
  int next_;
};

// Key-group partitioning: the channel of the subtask that owns the key's key group.
template <typename K, typename KeySelector>
class KeyGroupSelector {
 public:
  KeyGroupSelector(KeySelector key_selector, int max_parallelism, int parallelism)
      : key_selector_(std::move(key_selector)), max_parallelism_(max_parallelism) {
    // Precomputed so the per-record work is a hash, a multiply and a table lookup.
    channel_of_key_group_.resize(static_cast<size_t>(max_parallelism));
    for (int kg = 0; kg < max_parallelism; ++kg) {
      channel_of_key_group_[static_cast<size_t>(kg)] =
          OperatorIndexForKeyGroup(kg, max_parallelism, parallelism);
    }
  }
  template <typename T>
  int operator()(const T& record) {
    if constexpr (kRemembersLastKey) {
      K key = key_selector_(record);
      // Runs of one key (a hot key, a stream sorted or bursty by key) skip encoding and
      // hashing. Keys of integers only: equal values encode alike, and copying one is free.
      if (key == last_key_ && last_channel_ >= 0) return last_channel_;
      last_key_ = key;
      last_channel_ = ChannelOf(key);
      return last_channel_;
    } else {
      return ChannelOf(key_selector_(record));
    }
  }

 private:
  static constexpr bool kRemembersLastKey = codec_internal::kIntegerKey<K>;

  int ChannelOf(const K& key) {
    int kg = KeyGroupForHash(Hash64(encoder_.Encode(key)), max_parallelism_);
    return channel_of_key_group_[static_cast<size_t>(kg)];
  }

  KeySelector key_selector_;
  int max_parallelism_;
  std::vector<int> channel_of_key_group_;
  KeyEncoder<K> encoder_;
  K last_key_{};
  int last_channel_ = -1;  // the channel of last_key_; -1 before the first record
};

// Fans one stream out to several consumers; each but the last gets a copy.
template <typename T>
class Tee final : public BatchConsumer<T> {
 public:
  explicit Tee(std::vector<BatchConsumer<T>*> consumers) : consumers_(std::move(consumers)) {}

  void Accept(Batch<T>& in) override {
    if (consumers_.empty()) return;  // an operator only its side outputs are read from
    for (size_t i = 0; i + 1 < consumers_.size(); ++i) {
      copy_.clear();  // after a consumer that threw, too
      consumers_[i]->AcceptShared(in, copy_);
    }
    copy_.clear();
    consumers_.back()->Accept(in);
  }
  void AcceptWatermark(int64_t watermark) override {
    for (auto* c : consumers_) c->AcceptWatermark(watermark);
  }
  void AcceptWatermarkStatus(bool idle) override {
    for (auto* c : consumers_) c->AcceptWatermarkStatus(idle);
  }

 private:
  std::vector<BatchConsumer<T>*> consumers_;
  Batch<T> copy_;
};

}  // namespace weir::detail
