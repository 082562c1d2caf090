#include "runtime/watermark_valve.h"

#include <algorithm>

namespace weir {

WatermarkValve::WatermarkValve(int channels) : channels_(static_cast<size_t>(channels)) {}

std::optional<int64_t> WatermarkValve::AdvanceToMinimum() {
  bool any = false;
  int64_t min = detail::kMaxWatermark;
  for (const ChannelState& c : channels_) {
    if (c.idle || !c.aligned) continue;
    any = true;
    min = std::min(min, c.watermark);
  }
  if (!any || min <= emitted_) return std::nullopt;
  emitted_ = min;
  return min;
}

WatermarkValve::Output WatermarkValve::OnWatermark(int channel, int64_t watermark) {
  Output out;
  ChannelState& c = channels_[static_cast<size_t>(channel)];
  // A watermark from an idle channel would be a producer's bug; it counts once it is active.
  if (c.idle || watermark <= c.watermark) return out;
  c.watermark = watermark;
  if (!c.aligned && watermark >= emitted_) c.aligned = true;
  out.watermark = AdvanceToMinimum();
  return out;
}

WatermarkValve::Output WatermarkValve::OnWatermarkStatus(int channel, bool idle) {
  Output out;
  ChannelState& c = channels_[static_cast<size_t>(channel)];
  if (c.idle == idle) return out;
  c.idle = idle;
  if (idle) {
    c.aligned = false;
    bool all_idle = std::all_of(channels_.begin(), channels_.end(),
                                [](const ChannelState& s) { return s.idle; });
    if (all_idle) {
      int64_t max = detail::kMinWatermark;
      for (const ChannelState& s : channels_) max = std::max(max, s.watermark);
      if (max > emitted_) {
        emitted_ = max;
        out.watermark = max;
      }
      idle_ = true;
      out.idle = true;
    } else {
      // It may have held the minimum back.
      out.watermark = AdvanceToMinimum();
    }
  } else {
    c.aligned = c.watermark >= emitted_;
    if (idle_) {
      idle_ = false;
      out.idle = false;
    }
  }
  return out;
}

}  // namespace weir
