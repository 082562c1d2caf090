#include "runtime/mailbox.h"

#include <chrono>

namespace weir {

void TaskWaker::WaitUntil(int64_t deadline_nanos, const Clock& clock) {
  if (signaled_.exchange(false)) return;
  std::unique_lock<std::mutex> lock(mu_);
  sleeping_.store(true, std::memory_order_seq_cst);
  while (!signaled_.load(std::memory_order_seq_cst)) {
    if (deadline_nanos < 0 || clock.is_manual()) {
      cv_.wait(lock);
      continue;
    }
    int64_t now = clock.NowNanos();
    if (now >= deadline_nanos) break;
    cv_.wait_for(lock, std::chrono::nanoseconds(deadline_nanos - now));
  }
  sleeping_.store(false, std::memory_order_seq_cst);
  signaled_.store(false, std::memory_order_seq_cst);
}

}  // namespace weir
