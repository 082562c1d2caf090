// AsyncExecutor: the threads that write checkpoint state off the task threads.
//
// Tasks capture state at a barrier (quick) and submit the slow part (writing and fsyncing
// files) here, so records keep flowing while a checkpoint is written. Drain() waits for
// everything submitted so far; the JobMaster drains before it restarts or finishes a job, so
// no write of an old attempt races with cleanup.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace weir {

class AsyncExecutor {
 public:
  explicit AsyncExecutor(int threads);
  ~AsyncExecutor();  // drains, then stops

  void Submit(std::function<void()> work);
  void Drain();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  int running_ = 0;                          // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace weir
