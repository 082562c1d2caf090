// Clock: the engine's only source of time, so tests can drive time by hand.
//
// NowNanos() is monotonic (durations, deadlines); WallMillis() is wall-clock time in
// milliseconds since the epoch (processing-time timers, checkpoint timestamps). SystemClock is
// thread-safe and stateless. ManualClock is thread-safe; advancing it wakes every registered
// waiter so tasks blocked until a timer deadline re-check the time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace weir {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNanos() const = 0;
  virtual int64_t WallMillis() const = 0;
  // True when time only moves by Advance(): waiters must not sleep on the real clock.
  virtual bool is_manual() const { return false; }

  // Registers a callback run whenever manual time moves. Returns an id for Unsubscribe.
  virtual int Subscribe(std::function<void()> on_advance) { return -1; }
  virtual void Unsubscribe(int id) {}

  static Clock* System();
};

class SystemClock final : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_millis = 1'000'000) : nanos_(0), wall_millis_(wall_millis) {}

  int64_t NowNanos() const override { return nanos_.load(); }
  int64_t WallMillis() const override { return wall_millis_.load(); }
  bool is_manual() const override { return true; }

  void AdvanceMillis(int64_t ms);

  int Subscribe(std::function<void()> on_advance) override;
  void Unsubscribe(int id) override;

 private:
  std::atomic<int64_t> nanos_;
  std::atomic<int64_t> wall_millis_;
  std::mutex mu_;
  int next_id_ = 0;
  std::vector<std::pair<int, std::function<void()>>> subscribers_;  // guarded by mu_
};

}  // namespace weir
