// CombinedWatermarkValve: the watermark of a task's head operator over all its inputs.
//
// Each operator input (one for most operators and for a union, two for a two-input operator)
// combines its own channels in a WatermarkValve. The operator's watermark is the minimum over
// the inputs that are not idle, and never goes back; the operator is idle when every input
// is. As Flink's CombinedWatermarkStatus in AbstractStreamOperator: an input that becomes
// idle first passes on the watermark its valve emits for it, then drops out of the minimum.
// With a single input this is exactly that input's WatermarkValve.
//
// Thread-safety: owned by one task thread.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/watermark_valve.h"

namespace weir {

class CombinedWatermarkValve {
 public:
  // `channel_inputs[c]`: the operator input that input channel c belongs to (0 or more).
  explicit CombinedWatermarkValve(const std::vector<int>& channel_inputs);

  WatermarkValve::Output OnWatermark(int channel, int64_t watermark);
  WatermarkValve::Output OnWatermarkStatus(int channel, bool idle);

  int64_t watermark() const { return combined_; }
  bool idle() const { return idle_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // Input `i`'s own watermark (kMinWatermark before its first).
  int64_t input_watermark(int i) const { return inputs_[static_cast<size_t>(i)].watermark; }

 private:
  struct Input {
    explicit Input(int channels) : valve(channels) {}
    WatermarkValve valve;
    int64_t watermark = detail::kMinWatermark;
    bool idle = false;
  };

  // Applies what input `i`'s valve emitted: its watermark first, then its status.
  WatermarkValve::Output Apply(int i, const WatermarkValve::Output& in);
  // Advances the combined watermark to the minimum over active inputs, if that is higher.
  bool Advance();

  std::vector<Input> inputs_;
  std::vector<int> input_of_;  // by channel
  std::vector<int> local_;     // by channel: its index in its input's valve
  int64_t combined_ = detail::kMinWatermark;
  bool idle_ = false;
};

}  // namespace weir
