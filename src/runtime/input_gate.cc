#include "runtime/input_gate.h"

#include <algorithm>

namespace weir {
namespace {

constexpr int64_t kDebloatWindowNanos = 50'000'000;

}  // namespace

InputGate::InputGate(std::vector<std::shared_ptr<Channel>> channels, DebloatOptions debloat)
    : channels_(std::move(channels)),
      blocked_(channels_.size(), false),
      finished_(channels_.size(), false),
      debloat_(debloat) {}

bool InputGate::Poll(Envelope* out, int* channel) {
  size_t n = channels_.size();
  for (size_t i = 0; i < n; ++i) {
    size_t c = (next_ + i) % n;
    if (blocked_[c] || finished_[c]) continue;
    if (channels_[c]->Poll(out)) {
      // Move on after every envelope: staying on a channel while it has records would starve
      // the others whenever its producer outpaces this task (their records, watermarks and
      // barriers would wait behind an endless backlog).
      next_ = (c + 1) % n;
      *channel = static_cast<int>(c);
      return true;
    }
  }
  next_ = (next_ + 1) % std::max<size_t>(n, 1);
  return false;
}

void InputGate::MaybeDebloat(int64_t now_nanos) {
  if (!debloat_.enabled || channels_.empty()) return;
  if (window_start_ < 0) {
    window_start_ = now_nanos;
    return;
  }
  int64_t elapsed = now_nanos - window_start_;
  if (elapsed < kDebloatWindowNanos) return;
  int64_t busy = std::max<int64_t>(elapsed - window_idle_nanos_, elapsed / 100);
  // Only a task that was busy most of the window is the bottleneck whose rate matters; an
  // idle one may grow its channels but must not shrink them on a thin sample.
  bool bottleneck = busy * 2 >= elapsed;
  if (window_records_ == 0) {
    window_start_ = now_nanos;
    window_idle_nanos_ = 0;
    return;
  }
  double per_second = static_cast<double>(window_records_) * 1e9 / static_cast<double>(busy);
  double in_flight = per_second * static_cast<double>(debloat_.target.count()) / 1e3;
  size_t active = static_cast<size_t>(std::count(finished_.begin(), finished_.end(), false));
  size_t per_channel =
      static_cast<size_t>(in_flight / static_cast<double>(std::max<size_t>(active, 1)));
  size_t capacity = std::max(per_channel, debloat_.min_capacity);
  for (auto& c : channels_) {
    if (bottleneck || capacity > c->capacity()) c->SetCapacity(capacity);
  }
  window_start_ = now_nanos;
  window_records_ = 0;
  window_idle_nanos_ = 0;
}

}  // namespace weir
