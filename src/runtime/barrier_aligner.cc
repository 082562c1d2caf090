#include "runtime/barrier_aligner.h"

#include <algorithm>

namespace weir {

bool BarrierAligner::AllOpenChannelsReceived() const {
  for (int c = 0; c < gate_->size(); ++c) {
    if (!received_[static_cast<size_t>(c)] && !gate_->finished(c)) return false;
  }
  return true;
}

void BarrierAligner::Reset() {
  current_.reset();
  std::fill(received_.begin(), received_.end(), false);
  if (exactly_once_) gate_->UnblockAll();
}

std::optional<CheckpointBarrier> BarrierAligner::Complete() {
  CheckpointBarrier b = *current_;
  last_done_id_ = b.id;
  last_alignment_ms_ = (clock_->NowNanos() - alignment_start_nanos_) / 1'000'000;
  last_first_barrier_wall_ms_ = first_barrier_wall_ms_;
  Reset();
  return b;
}

std::optional<CheckpointBarrier> BarrierAligner::OnBarrier(int channel,
                                                           const CheckpointBarrier& barrier,
                                                           std::vector<int64_t>* abandoned) {
  if (barrier.id <= last_done_id_) return std::nullopt;  // late barrier of a finished one
  if (current_ && barrier.id < current_->id) return std::nullopt;  // of an abandoned one
  if (current_ && barrier.id > current_->id) {
    abandoned->push_back(current_->id);
    Reset();
  }
  if (!current_) {
    current_ = barrier;
    alignment_start_nanos_ = clock_->NowNanos();
    first_barrier_wall_ms_ = clock_->WallMillis();
  }
  received_[static_cast<size_t>(channel)] = true;
  if (AllOpenChannelsReceived()) return Complete();
  if (exactly_once_) gate_->Block(channel);
  return std::nullopt;
}

std::optional<CheckpointBarrier> BarrierAligner::OnChannelFinished(int channel) {
  (void)channel;
  if (current_ && AllOpenChannelsReceived()) return Complete();
  return std::nullopt;
}

void BarrierAligner::Abort(int64_t id) {
  if (current_ && current_->id <= id) Reset();
  last_done_id_ = std::max(last_done_id_, id);
}

}  // namespace weir
