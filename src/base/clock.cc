#include "base/clock.h"

#include <algorithm>

namespace weir {

Clock* Clock::System() {
  static SystemClock clock;
  return &clock;
}

void ManualClock::AdvanceMillis(int64_t ms) {
  nanos_ += ms * 1'000'000;
  wall_millis_ += ms;
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, fn] : subscribers_) callbacks.push_back(fn);
  }
  for (auto& fn : callbacks) fn();
}

int ManualClock::Subscribe(std::function<void()> on_advance) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.emplace_back(next_id_, std::move(on_advance));
  return next_id_++;
}

void ManualClock::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(subscribers_, [id](const auto& s) { return s.first == id; });
}

}  // namespace weir
