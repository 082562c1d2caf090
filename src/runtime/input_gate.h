// InputGate: a task's view of all its input channels.
//
// It hands out envelopes round robin over the channels that are neither blocked (by
// exactly-once barrier alignment) nor finished, and runs buffer debloating: every window it
// estimates the task's throughput from records per busy time and sets each channel's
// capacity to hold about `debloat_target` worth of processing.
//
// Thread-safety: owned by the consumer task's thread.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "runtime/channel.h"

namespace weir {

struct DebloatOptions {
  bool enabled = true;
  std::chrono::milliseconds target{200};
  size_t min_capacity = 16;
};

class InputGate {
 public:
  InputGate(std::vector<std::shared_ptr<Channel>> channels, DebloatOptions debloat);

  // The next envelope of an unblocked, unfinished channel; false when none has one.
  bool Poll(Envelope* out, int* channel);
  void Recycle(int channel, std::unique_ptr<detail::BatchBase> batch) {
    channels_[static_cast<size_t>(channel)]->Recycle(std::move(batch));
  }

  void Block(int channel) { blocked_[static_cast<size_t>(channel)] = true; }
  void UnblockAll() { std::fill(blocked_.begin(), blocked_.end(), false); }
  void MarkFinished(int channel) { finished_[static_cast<size_t>(channel)] = true; }
  bool finished(int channel) const { return finished_[static_cast<size_t>(channel)]; }
  int size() const { return static_cast<int>(channels_.size()); }

  // Debloating input: records processed and time spent busy (not waiting for input).
  void RecordProcessed(size_t records) { window_records_ += records; }
  void RecordIdle(int64_t nanos) { window_idle_nanos_ += nanos; }
  void MaybeDebloat(int64_t now_nanos);

 private:
  std::vector<std::shared_ptr<Channel>> channels_;
  std::vector<bool> blocked_;
  std::vector<bool> finished_;
  size_t next_ = 0;
  DebloatOptions debloat_;
  int64_t window_start_ = -1;
  uint64_t window_records_ = 0;
  int64_t window_idle_nanos_ = 0;
};

}  // namespace weir
