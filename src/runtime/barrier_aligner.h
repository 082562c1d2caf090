// BarrierAligner: decides when a task with several input channels takes its snapshot.
//
// Exactly-once (aligned): when the barrier of checkpoint n arrives on a channel, that channel
// is blocked until n's barrier has arrived on every other open channel; records behind it
// wait, so the snapshot reflects exactly the records before the barrier on every channel.
// At-least-once: no channel is blocked; the snapshot is taken when the last barrier arrives,
// so records after an early barrier may be in it (and replayed after a restore).
//
// A newer barrier arriving while an older alignment is open abandons the older checkpoint
// (it is declined), as in Flink. Finished channels (end of partition) count as aligned.
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "runtime/channel.h"
#include "runtime/input_gate.h"

namespace weir {

class BarrierAligner {
 public:
  BarrierAligner(InputGate* gate, bool exactly_once, const Clock* clock)
      : gate_(gate), exactly_once_(exactly_once), clock_(clock),
        received_(static_cast<size_t>(gate->size()), false) {}

  // A barrier arrived on `channel`. Returns it when the task should snapshot now. Checkpoints
  // abandoned on the way are appended to `abandoned`.
  std::optional<CheckpointBarrier> OnBarrier(int channel, const CheckpointBarrier& barrier,
                                             std::vector<int64_t>* abandoned);
  // `channel` ended: it will deliver no more barriers.
  std::optional<CheckpointBarrier> OnChannelFinished(int channel);
  // The coordinator aborted `id`: stop waiting for it.
  void Abort(int64_t id);

  // How long the last completed alignment took (first to last barrier).
  int64_t last_alignment_ms() const { return last_alignment_ms_; }
  // Wall-clock time its first barrier arrived: the end of Flink's "start delay".
  int64_t last_first_barrier_wall_ms() const { return last_first_barrier_wall_ms_; }

 private:
  bool AllOpenChannelsReceived() const;
  std::optional<CheckpointBarrier> Complete();
  void Reset();

  InputGate* gate_;
  bool exactly_once_;
  const Clock* clock_;
  std::optional<CheckpointBarrier> current_;
  std::vector<bool> received_;
  int64_t alignment_start_nanos_ = 0;
  int64_t first_barrier_wall_ms_ = 0;
  int64_t last_done_id_ = 0;
  int64_t last_alignment_ms_ = 0;
  int64_t last_first_barrier_wall_ms_ = 0;
};

}  // namespace weir
