#include "runtime/combined_watermark_valve.h"

#include <algorithm>

namespace weir {

CombinedWatermarkValve::CombinedWatermarkValve(const std::vector<int>& channel_inputs) {
  int n = 0;
  for (int i : channel_inputs) n = std::max(n, i + 1);
  std::vector<int> counts(static_cast<size_t>(n), 0);
  for (int i : channel_inputs) {
    input_of_.push_back(i);
    local_.push_back(counts[static_cast<size_t>(i)]++);
  }
  inputs_.reserve(static_cast<size_t>(n));
  for (int c : counts) inputs_.emplace_back(c);
}

bool CombinedWatermarkValve::Advance() {
  bool any = false;
  int64_t min = detail::kMaxWatermark;
  for (const Input& in : inputs_) {
    if (in.idle) continue;
    any = true;
    min = std::min(min, in.watermark);
  }
  if (!any || min <= combined_) return false;
  combined_ = min;
  return true;
}

WatermarkValve::Output CombinedWatermarkValve::Apply(int i, const WatermarkValve::Output& in) {
  WatermarkValve::Output out;
  Input& input = inputs_[static_cast<size_t>(i)];
  if (in.watermark) {
    input.watermark = *in.watermark;
    if (Advance()) out.watermark = combined_;
  }
  if (in.idle) {
    input.idle = *in.idle;
    // Leaving the minimum may let it advance (the watermark only ever grows, so the last one
    // emitted is the one to pass on).
    if (Advance()) out.watermark = combined_;
    bool all_idle =
        std::all_of(inputs_.begin(), inputs_.end(), [](const Input& x) { return x.idle; });
    if (all_idle != idle_) {
      idle_ = all_idle;
      out.idle = all_idle;
    }
  }
  return out;
}

WatermarkValve::Output CombinedWatermarkValve::OnWatermark(int channel, int64_t watermark) {
  size_t c = static_cast<size_t>(channel);
  int i = input_of_[c];
  return Apply(i, inputs_[static_cast<size_t>(i)].valve.OnWatermark(local_[c], watermark));
}

WatermarkValve::Output CombinedWatermarkValve::OnWatermarkStatus(int channel, bool idle) {
  size_t c = static_cast<size_t>(channel);
  int i = input_of_[c];
  return Apply(i, inputs_[static_cast<size_t>(i)].valve.OnWatermarkStatus(local_[c], idle));
}

}  // namespace weir
