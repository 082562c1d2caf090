#include "runtime/mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace weir {
namespace {

using namespace std::chrono_literals;

int64_t Ms(int64_t ms) { return ms * 1'000'000; }

// Real time a WaitUntil call took, in nanoseconds.
int64_t TimedWait(TaskWaker& waker, int64_t deadline_nanos, const Clock& clock) {
  const Clock& real = *Clock::System();
  int64_t start = real.NowNanos();
  waker.WaitUntil(deadline_nanos, clock);
  return real.NowNanos() - start;
}

TEST(TaskWakerTest, WakeBeforeWaitReturnsImmediately) {
  TaskWaker waker;
  waker.Wake();
  const Clock& clock = *Clock::System();
  // Without the earlier Wake this would sleep for the whole 10 s.
  EXPECT_LT(TimedWait(waker, clock.NowNanos() + Ms(10'000), clock), Ms(5'000));
}

TEST(TaskWakerTest, AWakeupIsConsumedByOneWait) {
  TaskWaker waker;
  waker.Wake();
  waker.Wake();  // wakeups do not accumulate
  const Clock& clock = *Clock::System();
  waker.WaitUntil(-1, clock);
  EXPECT_GE(TimedWait(waker, clock.NowNanos() + Ms(20), clock), Ms(20));
}

TEST(TaskWakerTest, WaitReturnsAtTheDeadlineWhenNobodyWakes) {
  TaskWaker waker;
  const Clock& clock = *Clock::System();
  int64_t deadline = clock.NowNanos() + Ms(30);
  waker.WaitUntil(deadline, clock);
  EXPECT_GE(clock.NowNanos(), deadline);
}

TEST(TaskWakerTest, APassedDeadlineReturnsImmediatelyOnAnyClock) {
  TaskWaker waker;
  ManualClock manual;
  manual.AdvanceMillis(100);
  std::promise<void> done;
  auto returned = done.get_future();
  std::thread t([&] {
    waker.WaitUntil(Ms(50), manual);
    done.set_value();
  });
  bool ok = returned.wait_for(10s) == std::future_status::ready;
  if (!ok) waker.Wake();
  t.join();
  EXPECT_TRUE(ok) << "a waiter on a manual clock slept past a deadline that had already passed";
}

TEST(TaskWakerTest, ManualClockWaiterIgnoresRealTimeAndReturnsWhenWoken) {
  TaskWaker waker;
  ManualClock manual;
  std::atomic<bool> returned{false};
  std::thread t([&] {
    waker.WaitUntil(manual.NowNanos() + 1, manual);  // 1 ns of manual time: never by itself
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());
  waker.Wake();
  t.join();
  EXPECT_TRUE(returned.load());
}

TEST(TaskWakerTest, AdvancingASubscribedManualClockWakesTheWaiter) {
  TaskWaker waker;
  ManualClock manual;
  int id = manual.Subscribe([&] { waker.Wake(); });
  std::promise<void> done;
  auto returned = done.get_future();
  std::thread t([&] {
    waker.WaitUntil(Ms(1'000), manual);
    done.set_value();
  });
  manual.AdvanceMillis(1'000);
  bool ok = returned.wait_for(10s) == std::future_status::ready;
  if (!ok) waker.Wake();
  t.join();
  manual.Unsubscribe(id);
  EXPECT_TRUE(ok);
  EXPECT_GE(manual.NowNanos(), Ms(1'000));
}

TEST(TaskWakerTest, WakeFromAnotherThreadEndsAWaitWithoutDeadline) {
  TaskWaker waker;
  std::promise<void> done;
  auto returned = done.get_future();
  std::thread t([&] {
    waker.WaitUntil(-1, *Clock::System());
    done.set_value();
  });
  std::this_thread::sleep_for(10ms);  // most likely asleep by now; either order must work
  waker.Wake();
  bool ok = returned.wait_for(10s) == std::future_status::ready;
  if (!ok) waker.Wake();
  t.join();
  EXPECT_TRUE(ok);
}

// A counter published before each Wake(); the waiter sleeps only while it has seen everything.
// A lost wakeup leaves it asleep with work pending.
TEST(TaskWakerTest, StressNoWakeupIsLost) {
  TaskWaker waker;
  constexpr int kRounds = 100'000;
  std::atomic<int> published{0};
  std::atomic<int> consumed{0};
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int seen = 0;
    while (seen < kRounds && !stop) {
      int now = published.load();
      if (now == seen) {
        waker.WaitUntil(-1, *Clock::System());
        continue;
      }
      seen = now;
      consumed = seen;
    }
  });
  std::thread waker_thread([&] {
    for (int i = 1; i <= kRounds; ++i) {
      published.store(i);
      waker.Wake();
      // Let the waiter catch up now and then, so it really goes to sleep between rounds.
      if (i % 1000 == 0) {
        while (consumed.load() < i && !stop) std::this_thread::yield();
      }
    }
  });
  waker_thread.join();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (consumed.load() < kRounds && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  bool ok = consumed.load() == kRounds;
  stop = true;
  waker.Wake();
  waiter.join();
  EXPECT_TRUE(ok) << "the waiter slept with " << kRounds - consumed.load() << " rounds pending";
}

TEST(MailboxTest, DrainRunsActionsInPostOrder) {
  TaskWaker waker;
  Mailbox mailbox(&waker);
  std::vector<int> ran;
  EXPECT_FALSE(mailbox.has_mail());
  for (int i = 0; i < 5; ++i) mailbox.Post([&ran, i] { ran.push_back(i); });
  EXPECT_TRUE(mailbox.has_mail());
  EXPECT_TRUE(ran.empty());  // nothing runs before Drain
  mailbox.Drain();
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(mailbox.has_mail());
  mailbox.Drain();
  EXPECT_EQ(ran.size(), 5u);  // each action runs once
}

TEST(MailboxTest, ActionsPostedByAnActionRunInTheSameDrain) {
  TaskWaker waker;
  Mailbox mailbox(&waker);
  std::vector<std::string> ran;
  mailbox.Post([&] {
    ran.push_back("a");
    mailbox.Post([&] { ran.push_back("c"); });
  });
  mailbox.Post([&] { ran.push_back("b"); });
  mailbox.Drain();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(mailbox.has_mail());
}

TEST(MailboxTest, PostWakesTheOwner) {
  TaskWaker waker;
  Mailbox mailbox(&waker);
  std::promise<void> done;
  auto returned = done.get_future();
  std::thread owner([&] {
    while (!mailbox.has_mail()) waker.WaitUntil(-1, *Clock::System());
    done.set_value();
  });
  mailbox.Post([] {});
  bool ok = returned.wait_for(10s) == std::future_status::ready;
  if (!ok) waker.Wake();
  owner.join();
  EXPECT_TRUE(ok);
}

TEST(MailboxTest, PostsFromManyThreadsEachRunOnceInPerThreadOrder) {
  TaskWaker waker;
  Mailbox mailbox(&waker);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<int>> ran(kThreads);  // touched only by the draining thread
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) mailbox.Post([&ran, t, i] { ran[t].push_back(i); });
    });
  }
  std::atomic<bool> posted{false};
  std::thread owner([&] {
    while (true) {
      bool last = posted.load();
      mailbox.Drain();
      if (last && !mailbox.has_mail()) break;
      waker.WaitUntil(Clock::System()->NowNanos() + Ms(5), *Clock::System());
    }
  });
  for (auto& p : posters) p.join();
  posted = true;
  waker.Wake();
  owner.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ran[t].size(), static_cast<size_t>(kPerThread)) << "thread " << t;
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(ran[t][i], i) << "thread " << t;
  }
}

}  // namespace
}  // namespace weir
