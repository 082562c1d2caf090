#include "runtime/async_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace weir {
namespace {

using namespace std::chrono_literals;

TEST(AsyncExecutorTest, DrainWaitsForEverySubmittedTask) {
  AsyncExecutor executor(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    executor.Submit([&] {
      std::this_thread::sleep_for(100us);
      ++done;
    });
  }
  executor.Drain();
  EXPECT_EQ(done.load(), 100);
}

TEST(AsyncExecutorTest, DrainWaitsForTasksThatAreStillRunning) {
  AsyncExecutor executor(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> finished{false};
  executor.Submit([&, released] {
    released.wait();
    finished = true;
  });
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    executor.Drain();
    drained = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(drained.load()) << "Drain returned while a task was running";
  release.set_value();
  drainer.join();
  EXPECT_TRUE(finished.load());
}

TEST(AsyncExecutorTest, TasksRunOnTheExecutorsThreadsInParallel) {
  AsyncExecutor executor(2);
  std::promise<void> both_started;
  std::atomic<int> started{0};
  std::shared_future<void> go = both_started.get_future().share();
  std::atomic<bool> parallel{true};
  for (int i = 0; i < 2; ++i) {
    executor.Submit([&, go] {
      if (++started == 2) both_started.set_value();
      // Each task waits for the other: only possible when they run at the same time.
      if (go.wait_for(10s) != std::future_status::ready) parallel = false;
    });
  }
  executor.Drain();
  EXPECT_TRUE(parallel.load());
}

TEST(AsyncExecutorTest, OneThreadRunsTasksInSubmissionOrder) {
  AsyncExecutor executor(1);
  std::vector<int> order;  // only the single executor thread writes
  for (int i = 0; i < 50; ++i) executor.Submit([&order, i] { order.push_back(i); });
  executor.Drain();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
}

TEST(AsyncExecutorTest, DestructorFinishesQueuedWork) {
  std::atomic<int> done{0};
  {
    AsyncExecutor executor(1);
    for (int i = 0; i < 20; ++i) executor.Submit([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 20);
}

TEST(AsyncExecutorTest, WorkSubmittedByATaskIsDrainedToo) {
  AsyncExecutor executor(2);
  std::atomic<int> done{0};
  executor.Submit([&] {
    executor.Submit([&] { ++done; });
    ++done;
  });
  executor.Drain();
  EXPECT_EQ(done.load(), 2);
}

TEST(AsyncExecutorTest, DrainWithNothingSubmittedReturns) {
  AsyncExecutor executor(1);
  executor.Drain();
  executor.Drain();
}

}  // namespace
}  // namespace weir
