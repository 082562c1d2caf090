#include "runtime/channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "runtime/mailbox.h"
#include "testing/test_util.h"

namespace weir {
namespace {

using detail::Batch;
using detail::BatchBase;
using namespace std::chrono_literals;

std::unique_ptr<BatchBase> MakeBatch(std::vector<int64_t> records) {
  auto b = std::make_unique<Batch<int64_t>>();
  b->records = std::move(records);
  return b;
}

std::vector<int64_t> Records(const Envelope& e) {
  return static_cast<const Batch<int64_t>&>(*e.batch).records;
}

// True if `waker` holds a wakeup (which this consumes). Waits at most `limit` for one, so a
// missing wakeup costs `limit` and a present one returns at once.
bool ConsumeWakeup(TaskWaker& waker, std::chrono::milliseconds limit) {
  const Clock& clock = *Clock::System();
  int64_t start = clock.NowNanos();
  int64_t deadline = start + std::chrono::nanoseconds(limit).count();
  waker.WaitUntil(deadline, clock);
  return clock.NowNanos() < deadline;
}

bool Woken(TaskWaker& waker) { return ConsumeWakeup(waker, 10s); }
bool NotWoken(TaskWaker& waker) { return !ConsumeWakeup(waker, 20ms); }

// Runs `fn` on a thread; Wait() reports whether it finished within the limit.
class Background {
 public:
  explicit Background(std::function<void()> fn) : done_(promise_.get_future()) {
    thread_ = std::thread([this, fn = std::move(fn)] {
      fn();
      promise_.set_value();
    });
  }
  ~Background() { thread_.join(); }
  bool FinishedWithin(std::chrono::milliseconds limit) {
    return done_.wait_for(limit) == std::future_status::ready;
  }

 private:
  std::promise<void> promise_;
  std::future<void> done_;
  std::thread thread_;
};

class ChannelTest : public ::testing::Test {
 protected:
  TaskWaker consumer_;
  TaskWaker producer_;
};

TEST_F(ChannelTest, DeliversBatchesAndEventsInPushOrder) {
  Channel ch(100, 100, 10, &consumer_, &producer_);
  ch.PushBatch(MakeBatch({1, 2}));
  CheckpointBarrier barrier;
  barrier.id = 7;
  barrier.timestamp_ms = 1234;
  ch.PushEvent(EventKind::kBarrier, barrier);
  ch.PushBatch(MakeBatch({3}));
  ch.PushEvent(EventKind::kEndOfData);
  ch.PushEvent(EventKind::kEndOfPartition);

  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(e.kind, EventKind::kRecords);
  EXPECT_EQ(Records(e), (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(e.kind, EventKind::kBarrier);
  EXPECT_EQ(e.barrier.id, 7);
  EXPECT_EQ(e.barrier.timestamp_ms, 1234);
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(e.kind, EventKind::kRecords);
  EXPECT_EQ(Records(e), (std::vector<int64_t>{3}));
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(e.kind, EventKind::kEndOfData);
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(e.kind, EventKind::kEndOfPartition);
  EXPECT_FALSE(ch.Poll(&e));
}

TEST_F(ChannelTest, PollOnEmptyChannelReturnsFalse) {
  Channel ch(10, 10, 10, &consumer_, &producer_);
  Envelope e;
  EXPECT_FALSE(ch.Poll(&e));
}

TEST_F(ChannelTest, HasCapacityUntilQueuedRecordsReachCapacity) {
  Channel ch(10, 100, 10, &consumer_, &producer_);
  EXPECT_TRUE(ch.HasCapacity());
  ch.PushBatch(MakeBatch({1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(ch.HasCapacity());
  ch.PushBatch(MakeBatch({7, 8, 9, 10}));
  EXPECT_FALSE(ch.HasCapacity());
  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_TRUE(ch.HasCapacity());
}

TEST_F(ChannelTest, EventsNeverCountAgainstCapacity) {
  Channel ch(2, 2, 1, &consumer_, &producer_);
  for (int i = 0; i < 100; ++i) ch.PushEvent(EventKind::kBarrier, CheckpointBarrier{.id = i});
  EXPECT_TRUE(ch.HasCapacity());
}

TEST_F(ChannelTest, SetCapacityClampsBetweenOneAndMaxCapacity) {
  Channel ch(10, 50, 8, &consumer_, &producer_);
  EXPECT_EQ(ch.capacity(), 10u);
  EXPECT_EQ(ch.max_capacity(), 50u);
  ch.SetCapacity(0);
  EXPECT_EQ(ch.capacity(), 1u);
  ch.SetCapacity(1000);
  EXPECT_EQ(ch.capacity(), 50u);
  ch.SetCapacity(20);
  EXPECT_EQ(ch.capacity(), 20u);
}

TEST_F(ChannelTest, InitialCapacityIsClampedToTheMaximumAndAtLeastOne) {
  EXPECT_EQ(Channel(100, 40, 8, &consumer_, &producer_).capacity(), 40u);
  // A zero capacity would leave HasCapacity() false forever: the producer could never start.
  Channel zero(0, 40, 8, &consumer_, &producer_);
  EXPECT_EQ(zero.capacity(), 1u);
  EXPECT_TRUE(zero.HasCapacity());
}

TEST_F(ChannelTest, TargetBatchSizeIsAQuarterOfCapacityBoundedByMaxBatch) {
  Channel ch(400, 10000, 64, &consumer_, &producer_);
  EXPECT_EQ(ch.target_batch_size(), 64u);  // 100, capped
  ch.SetCapacity(100);
  EXPECT_EQ(ch.target_batch_size(), 25u);
  ch.SetCapacity(3);
  EXPECT_EQ(ch.target_batch_size(), 1u);  // never 0
  ch.SetCapacity(10000);
  EXPECT_EQ(ch.target_batch_size(), 64u);
}

TEST_F(ChannelTest, RecycledBatchesComeBackEmptyAndAreReused) {
  Channel ch(10, 10, 10, &consumer_, &producer_);
  EXPECT_EQ(ch.TakeRecycled(), nullptr);
  auto b = MakeBatch({1, 2, 3});
  BatchBase* raw = b.get();
  ch.Recycle(std::move(b));
  auto back = ch.TakeRecycled();
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back.get(), raw);
  EXPECT_EQ(back->size(), 0u);
  EXPECT_EQ(ch.TakeRecycled(), nullptr);
}

TEST_F(ChannelTest, RecyclingKeepsABoundedNumberOfBatches) {
  Channel ch(10, 10, 10, &consumer_, &producer_);
  for (int i = 0; i < 100; ++i) ch.Recycle(MakeBatch({i}));
  int kept = 0;
  while (ch.TakeRecycled() != nullptr) ++kept;
  EXPECT_GT(kept, 0);
  EXPECT_LE(kept, 8);
}

TEST_F(ChannelTest, PushesWakeTheConsumer) {
  Channel ch(10, 10, 10, &consumer_, &producer_);
  EXPECT_TRUE(NotWoken(consumer_));
  ch.PushBatch(MakeBatch({1}));
  EXPECT_TRUE(Woken(consumer_));
  ch.PushEvent(EventKind::kEndOfData);
  EXPECT_TRUE(Woken(consumer_));
}

TEST_F(ChannelTest, PollingAFullChannelWakesTheProducer) {
  Channel ch(4, 4, 1, &consumer_, &producer_);
  ch.PushBatch(MakeBatch({1, 2}));
  ch.PushBatch(MakeBatch({3, 4}));
  ASSERT_FALSE(ch.HasCapacity());
  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_TRUE(Woken(producer_));
  // Below capacity the producer is not blocked, so there is nobody to wake.
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_TRUE(NotWoken(producer_));
}

TEST_F(ChannelTest, AFullChannelWakesTheProducerOnceDrainedToHalfItsCapacity) {
  Channel ch(8, 8, 2, &consumer_, &producer_);
  for (int64_t i = 0; i < 4; ++i) ch.PushBatch(MakeBatch({2 * i, 2 * i + 1}));
  ASSERT_FALSE(ch.HasCapacity());
  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));  // 6 queued: a batch fits, but the producer sleeps on
  EXPECT_TRUE(ch.HasCapacity());
  EXPECT_TRUE(NotWoken(producer_));
  ASSERT_TRUE(ch.Poll(&e));  // 4 queued: half the capacity
  EXPECT_TRUE(Woken(producer_));
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_TRUE(NotWoken(producer_));
}

TEST_F(ChannelTest, GrowingTheCapacityWakesTheProducerButShrinkingDoesNot) {
  Channel ch(4, 100, 1, &consumer_, &producer_);
  ch.SetCapacity(2);
  EXPECT_TRUE(NotWoken(producer_));
  ch.SetCapacity(50);
  EXPECT_TRUE(Woken(producer_));
}

TEST_F(ChannelTest, PushBatchBlocksAtTheHardLimitUntilTheConsumerPolls) {
  // capacity 4, target batch 1: the hard limit is 2 * 4 + 1 = 9 queued records.
  Channel ch(4, 4, 1, &consumer_, &producer_);
  ch.PushBatch(MakeBatch({0, 1, 2, 3, 4, 5, 6, 7, 8}));  // one exploding batch still goes in
  std::atomic<bool> pushed{false};
  Background push([&] {
    ch.PushBatch(MakeBatch({9}));
    pushed = true;
  });
  EXPECT_FALSE(push.FinishedWithin(50ms));
  EXPECT_FALSE(pushed.load());

  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  if (!push.FinishedWithin(10s)) {
    ch.Cancel();
    FAIL() << "the producer stayed blocked after the consumer drained the channel";
  }
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(Records(e), (std::vector<int64_t>{9}));
}

TEST_F(ChannelTest, PushBatchBlockedAtTheHardLimitResumesWhenCapacityGrows) {
  Channel ch(4, 1000, 1, &consumer_, &producer_);
  ch.PushBatch(MakeBatch(std::vector<int64_t>(9, 1)));
  Background push([&] { ch.PushBatch(MakeBatch({2})); });
  EXPECT_FALSE(push.FinishedWithin(50ms));
  // The consumer raises its capacity (debloating) without polling: the limit is now far away.
  ch.SetCapacity(100);
  if (!push.FinishedWithin(10s)) {
    ch.Cancel();
    FAIL() << "the producer kept the hard limit it computed before the capacity grew";
  }
  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  ASSERT_TRUE(ch.Poll(&e));
  EXPECT_EQ(Records(e), (std::vector<int64_t>{2}));
}

TEST_F(ChannelTest, PushBatchBlockedAfterACapacityDropResumesWhenPolled) {
  Channel ch(100, 1000, 1, &consumer_, &producer_);
  ch.PushBatch(MakeBatch(std::vector<int64_t>(20, 1)));
  ch.SetCapacity(4);  // hard limit 9 < 20 queued
  Background push([&] { ch.PushBatch(MakeBatch({2})); });
  EXPECT_FALSE(push.FinishedWithin(50ms));
  Envelope e;
  ASSERT_TRUE(ch.Poll(&e));
  if (!push.FinishedWithin(10s)) {
    ch.Cancel();
    FAIL() << "the producer was not released when the channel drained";
  }
}

TEST_F(ChannelTest, CancelUnblocksABlockedProducerAndDropsEverything) {
  Channel ch(4, 4, 1, &consumer_, &producer_);
  ch.PushBatch(MakeBatch(std::vector<int64_t>(9, 0)));
  Background push([&] { ch.PushBatch(MakeBatch({1})); });
  EXPECT_FALSE(push.FinishedWithin(50ms));
  ch.Cancel();
  ASSERT_TRUE(push.FinishedWithin(10s)) << "Cancel() left the producer blocked";
  Envelope e;
  EXPECT_FALSE(ch.Poll(&e));
  EXPECT_TRUE(ch.HasCapacity());
}

TEST_F(ChannelTest, PushesAfterCancelAreDroppedAndBothSidesAreWoken) {
  Channel ch(10, 10, 10, &consumer_, &producer_);
  ch.Cancel();
  EXPECT_TRUE(Woken(producer_));
  EXPECT_TRUE(Woken(consumer_));
  ch.PushBatch(MakeBatch({1}));
  ch.PushEvent(EventKind::kEndOfPartition);
  Envelope e;
  EXPECT_FALSE(ch.Poll(&e));
}

// A producer and a consumer thread that sleep on their TaskWakers whenever they cannot make
// progress, as tasks do. A lost wakeup leaves one asleep forever (caught by the watchdog);
// a lost, duplicated or reordered record fails the sequence check.
TEST_F(ChannelTest, StressEveryRecordArrivesOnceInOrderWithoutLostWakeups) {
  const uint64_t seed = testing::TestSeed();
  constexpr int kBatches = 20000;
  Channel ch(64, 4096, 16, &consumer_, &producer_);
  std::atomic<bool> stop{false};
  const Clock& clock = *Clock::System();

  int64_t produced = 0;
  Background producer([&] {
    std::mt19937_64 rng(seed);
    for (int b = 0; b < kBatches && !stop; ++b) {
      while (!ch.HasCapacity() && !stop) producer_.WaitUntil(-1, clock);
      auto recycled = ch.TakeRecycled();
      std::unique_ptr<Batch<int64_t>> batch(
          recycled ? static_cast<Batch<int64_t>*>(recycled.release()) : new Batch<int64_t>());
      EXPECT_TRUE(batch->records.empty());
      size_t n = 1 + rng() % (2 * ch.target_batch_size());
      for (size_t i = 0; i < n; ++i) batch->records.push_back(produced++);
      ch.PushBatch(std::move(batch));
      if (rng() % 64 == 0) ch.PushEvent(EventKind::kBarrier, CheckpointBarrier{.id = b});
    }
    ch.PushEvent(EventKind::kEndOfPartition);
  });

  int64_t next = 0;
  int64_t last_barrier = -1;
  bool in_order = true;
  Background consumer([&] {
    std::mt19937_64 rng(seed + 1);
    Envelope e;
    while (!stop) {
      if (!ch.Poll(&e)) {
        consumer_.WaitUntil(-1, clock);
        continue;
      }
      if (e.kind == EventKind::kEndOfPartition) break;
      if (e.kind == EventKind::kBarrier) {
        in_order &= e.barrier.id > last_barrier;
        last_barrier = e.barrier.id;
        continue;
      }
      for (int64_t v : static_cast<Batch<int64_t>&>(*e.batch).records) in_order &= v == next++;
      ch.Recycle(std::move(e.batch));
      // Debloating moves the capacity up and down while the producer runs.
      if (rng() % 16 == 0) ch.SetCapacity(1 + rng() % 512);
    }
  });

  bool finished = consumer.FinishedWithin(60s) && producer.FinishedWithin(10s);
  if (!finished) {
    stop = true;
    ch.Cancel();
  }
  ASSERT_TRUE(finished) << "a thread slept through a wakeup (consumer at record " << next << ")";
  EXPECT_TRUE(in_order);
  EXPECT_EQ(next, produced);
}

}  // namespace
}  // namespace weir
