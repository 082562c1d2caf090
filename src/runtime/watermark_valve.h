// WatermarkValve: combines the watermarks of one input's channels into the input's watermark.
//
// The input's watermark is the minimum over its active channels; an idle channel is left out
// until it is active again, and then only counts once its watermark has caught up with what
// the input already emitted (it cannot take the input's event time back). When every channel
// is idle the input is idle, and the highest watermark any channel reached is emitted first,
// so nothing waits on channels that send nothing. As Flink's StatusWatermarkValve.
//
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "weir/detail/batch.h"

namespace weir {

class WatermarkValve {
 public:
  // What the input emits in response: a watermark, then a status change (either may be unset).
  struct Output {
    std::optional<int64_t> watermark;
    std::optional<bool> idle;
  };

  explicit WatermarkValve(int channels);

  Output OnWatermark(int channel, int64_t watermark);
  Output OnWatermarkStatus(int channel, bool idle);

  int64_t watermark() const { return emitted_; }
  bool idle() const { return idle_; }

 private:
  struct ChannelState {
    int64_t watermark = detail::kMinWatermark;
    bool idle = false;
    bool aligned = true;  // counts towards the minimum
  };

  // The minimum over aligned active channels, if it advances the input's watermark.
  std::optional<int64_t> AdvanceToMinimum();

  std::vector<ChannelState> channels_;
  int64_t emitted_ = detail::kMinWatermark;
  bool idle_ = false;
};

}  // namespace weir
