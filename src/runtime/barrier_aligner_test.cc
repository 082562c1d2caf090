#include "runtime/barrier_aligner.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "base/clock.h"
#include "runtime/channel.h"
#include "runtime/input_gate.h"
#include "runtime/mailbox.h"

namespace weir {
namespace {

using detail::Batch;

CheckpointBarrier Barrier(int64_t id) {
  CheckpointBarrier b;
  b.id = id;
  b.timestamp_ms = 1000 + id;
  return b;
}

class BarrierAlignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      channels_.push_back(std::make_shared<Channel>(100, 100, 10, &consumer_, &producer_));
    }
    DebloatOptions d;
    d.enabled = false;
    gate_ = std::make_unique<InputGate>(channels_, d);
  }

  // Puts one record in every channel and returns the channels the gate hands out.
  std::set<int> ReadableChannels() {
    for (auto& c : channels_) {
      auto b = std::make_unique<Batch<int64_t>>();
      b->records.push_back(1);
      c->PushBatch(std::move(b));
    }
    std::set<int> out;
    Envelope e;
    int ch = -1;
    while (gate_->Poll(&e, &ch)) out.insert(ch);
    // Drain what blocked channels hold, so the next call starts clean.
    for (auto& c : channels_) {
      while (c->Poll(&e)) {
      }
    }
    return out;
  }

  TaskWaker consumer_;
  TaskWaker producer_;
  std::vector<std::shared_ptr<Channel>> channels_;
  std::unique_ptr<InputGate> gate_;
  ManualClock clock_;
  std::vector<int64_t> abandoned_;
};

TEST_F(BarrierAlignerTest, ExactlyOnceBlocksChannelsUntilEveryBarrierArrived) {
  BarrierAligner aligner(gate_.get(), /*exactly_once=*/true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{1, 2}));
  EXPECT_EQ(aligner.OnBarrier(2, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{1}));
  auto done = aligner.OnBarrier(1, Barrier(1), &abandoned_);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 1);
  EXPECT_EQ(done->timestamp_ms, 1001);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2}));
  EXPECT_TRUE(abandoned_.empty());
}

TEST_F(BarrierAlignerTest, AtLeastOnceNeverBlocksAndSnapshotsAtTheLastBarrier) {
  BarrierAligner aligner(gate_.get(), /*exactly_once=*/false, &clock_);
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(4), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2}));
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(4), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2}));
  auto done = aligner.OnBarrier(2, Barrier(4), &abandoned_);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 4);
}

TEST_F(BarrierAlignerTest, ASingleChannelSnapshotsAtOnce) {
  channels_.resize(1);
  InputGate gate(channels_, DebloatOptions{});
  BarrierAligner aligner(&gate, true, &clock_);
  auto done = aligner.OnBarrier(0, Barrier(1), &abandoned_);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 1);
}

TEST_F(BarrierAlignerTest, ANewerBarrierAbandonsTheOlderAlignment) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(2), &abandoned_), std::nullopt);
  EXPECT_EQ(abandoned_, (std::vector<int64_t>{1}));
  // Channel 0 is free again (its barrier 1 no longer counts); channel 1 waits for 2.
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 2}));
  // A straggling barrier of the abandoned checkpoint changes nothing.
  EXPECT_EQ(aligner.OnBarrier(2, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 2}));
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(2), &abandoned_), std::nullopt);
  auto done = aligner.OnBarrier(2, Barrier(2), &abandoned_);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 2);
  EXPECT_EQ(abandoned_, (std::vector<int64_t>{1}));
}

TEST_F(BarrierAlignerTest, AtLeastOnceAlsoAbandonsAnOlderCheckpoint) {
  BarrierAligner aligner(gate_.get(), false, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(2), &abandoned_), std::nullopt);
  EXPECT_EQ(abandoned_, (std::vector<int64_t>{1}));
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(2), &abandoned_), std::nullopt);
  ASSERT_TRUE(aligner.OnBarrier(2, Barrier(2), &abandoned_).has_value());
}

TEST_F(BarrierAlignerTest, FinishedChannelsCountAsAligned) {
  gate_->MarkFinished(2);
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(1), &abandoned_), std::nullopt);
  auto done = aligner.OnBarrier(1, Barrier(1), &abandoned_);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 1);
}

TEST_F(BarrierAlignerTest, AChannelFinishingDuringAlignmentCompletesIt) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(1), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(1), &abandoned_), std::nullopt);
  gate_->MarkFinished(2);
  auto done = aligner.OnChannelFinished(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->id, 1);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1}));
}

TEST_F(BarrierAlignerTest, AChannelFinishingWithoutAlignmentCompletesNothing) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  gate_->MarkFinished(0);
  EXPECT_EQ(aligner.OnChannelFinished(0), std::nullopt);
  // One of two open channels has the barrier: still waiting.
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(1), &abandoned_), std::nullopt);
  gate_->MarkFinished(1);
  EXPECT_EQ(aligner.OnChannelFinished(1), std::nullopt) << "channel 2 has not delivered it";
}

TEST_F(BarrierAlignerTest, AbortUnblocksAndIgnoresTheAbortedCheckpointsBarriers) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(5), &abandoned_), std::nullopt);
  aligner.Abort(5);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2}));
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(5), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(2, Barrier(5), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2})) << "late barriers of 5 blocked";
  // The next checkpoint aligns normally.
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(6), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(6), &abandoned_), std::nullopt);
  ASSERT_TRUE(aligner.OnBarrier(2, Barrier(6), &abandoned_).has_value());
  EXPECT_TRUE(abandoned_.empty());
}

TEST_F(BarrierAlignerTest, AbortOfAnOlderCheckpointKeepsTheCurrentAlignment) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(7), &abandoned_), std::nullopt);
  aligner.Abort(6);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{1, 2}));
  EXPECT_EQ(aligner.OnBarrier(1, Barrier(7), &abandoned_), std::nullopt);
  ASSERT_TRUE(aligner.OnBarrier(2, Barrier(7), &abandoned_).has_value());
}

TEST_F(BarrierAlignerTest, LateBarriersOfACompletedCheckpointAreIgnored) {
  BarrierAligner aligner(gate_.get(), false, &clock_);
  // At-least-once can see a barrier twice from the same channel's view of an old checkpoint.
  for (int c = 0; c < 3; ++c) (void)aligner.OnBarrier(c, Barrier(3), &abandoned_);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(3), &abandoned_), std::nullopt);
  EXPECT_EQ(aligner.OnBarrier(0, Barrier(2), &abandoned_), std::nullopt);
  EXPECT_TRUE(abandoned_.empty());

  BarrierAligner exactly(gate_.get(), true, &clock_);
  for (int c = 0; c < 3; ++c) (void)exactly.OnBarrier(c, Barrier(3), &abandoned_);
  EXPECT_EQ(exactly.OnBarrier(1, Barrier(3), &abandoned_), std::nullopt);
  EXPECT_EQ(ReadableChannels(), (std::set<int>{0, 1, 2}));
}

// The alignment runs from the first barrier to the last; the first one's wall-clock arrival
// is where the checkpoint's start delay ends.
TEST_F(BarrierAlignerTest, ReportsWhenTheFirstBarrierCameAndHowLongTheAlignmentTook) {
  BarrierAligner aligner(gate_.get(), true, &clock_);
  EXPECT_EQ(aligner.last_alignment_ms(), 0);
  const int64_t wall0 = clock_.WallMillis();
  clock_.AdvanceMillis(1000);  // time before the first barrier does not count
  (void)aligner.OnBarrier(0, Barrier(1), &abandoned_);
  clock_.AdvanceMillis(120);
  (void)aligner.OnBarrier(1, Barrier(1), &abandoned_);
  clock_.AdvanceMillis(130);
  ASSERT_TRUE(aligner.OnBarrier(2, Barrier(1), &abandoned_).has_value());
  EXPECT_EQ(aligner.last_alignment_ms(), 250);
  EXPECT_EQ(aligner.last_first_barrier_wall_ms(), wall0 + 1000);

  (void)aligner.OnBarrier(2, Barrier(2), &abandoned_);
  (void)aligner.OnBarrier(0, Barrier(2), &abandoned_);
  clock_.AdvanceMillis(40);
  ASSERT_TRUE(aligner.OnBarrier(1, Barrier(2), &abandoned_).has_value());
  EXPECT_EQ(aligner.last_alignment_ms(), 40);
  EXPECT_EQ(aligner.last_first_barrier_wall_ms(), wall0 + 1250);
}

}  // namespace
}  // namespace weir
