// TaskWaker and Mailbox: how a task thread sleeps and who may wake it.
//
// A task thread owns everything it touches; other threads reach it only by posting actions
// to its Mailbox (checkpoint triggers, completion notifications, cancellation) or by pushing
// into / draining its channels. All of these wake the same TaskWaker, so the task sleeps in
// one place and handles whichever arrives. Waking a task that is not sleeping costs one
// atomic store. Model: Flink's mailbox model (FLINK-12477).
//
// Thread-safety: Wake() and Post() from any thread; Wait() and Drain() from the owner only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "base/clock.h"

namespace weir {

class TaskWaker {
 public:
  void Wake() {
    signaled_.store(true, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_one();
    }
  }

  // Returns when woken (including by a Wake() since the last Wait) or at `deadline_nanos` on
  // `clock`'s monotonic time (< 0: no deadline). A manual clock wakes waiters when advanced.
  void WaitUntil(int64_t deadline_nanos, const Clock& clock);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> signaled_{false};
  std::atomic<bool> sleeping_{false};
};

class Mailbox {
 public:
  using Action = std::function<void()>;

  explicit Mailbox(TaskWaker* waker) : waker_(waker) {}

  void Post(Action action) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      actions_.push_back(std::move(action));
      has_mail_.store(true, std::memory_order_release);
    }
    waker_->Wake();
  }

  bool has_mail() const { return has_mail_.load(std::memory_order_acquire); }

  // Runs every queued action, in order, on the calling (owner) thread.
  void Drain() {
    while (has_mail()) {
      std::deque<Action> batch;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(actions_);
        has_mail_.store(false, std::memory_order_release);
      }
      for (auto& a : batch) a();
    }
  }

 private:
  TaskWaker* waker_;
  std::mutex mu_;
  std::deque<Action> actions_;  // guarded by mu_
  std::atomic<bool> has_mail_{false};
};

}  // namespace weir
