#include "runtime/mailbox.h"

#include <chrono>

namespace weir {

void TaskWaker::WaitUntil(int64_t deadline_nanos, const Clock& clock) {
  if (signaled_.exchange(false)) return;
  std::unique_lock<std::mutex> lock(mu_);
  sleeping_.store(true, std::memory_order_seq_cst);
  while (!signaled_.load(std::memory_order_seq_cst)) {
    // A deadline already reached returns at once on any clock; a manual clock's waiter then
    // sleeps until woken, as only Advance() (which wakes it through Subscribe) moves time.
    if (deadline_nanos >= 0 && clock.NowNanos() >= deadline_nanos) break;
    if (deadline_nanos < 0 || clock.is_manual()) {
      cv_.wait(lock);
      continue;
    }
    cv_.wait_for(lock, std::chrono::nanoseconds(deadline_nanos - clock.NowNanos()));
  }
  sleeping_.store(false, std::memory_order_seq_cst);
  // An exchange, not a store: if a Wake() raced with the deadline, reading its flag orders its
  // publisher's writes before whatever the caller checks next.
  signaled_.exchange(false, std::memory_order_seq_cst);
}

}  // namespace weir
