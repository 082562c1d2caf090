#include "runtime/input_gate.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "runtime/channel.h"
#include "runtime/mailbox.h"

namespace weir {
namespace {

using detail::Batch;

constexpr int64_t kMs = 1'000'000;

class InputGateTest : public ::testing::Test {
 protected:
  // `n` channels with the given capacities; debloating as given.
  InputGate MakeGate(int n, DebloatOptions debloat = {}, size_t initial = 1000,
                     size_t max = 100'000) {
    channels_.clear();
    for (int i = 0; i < n; ++i) {
      channels_.push_back(std::make_shared<Channel>(initial, max, 1024, &consumer_, &producer_));
    }
    return InputGate(channels_, debloat);
  }

  void Push(int channel, int64_t value) {
    auto b = std::make_unique<Batch<int64_t>>();
    b->records.push_back(value);
    channels_[static_cast<size_t>(channel)]->PushBatch(std::move(b));
  }

  // Polls everything available: (channel, first record or -1 for an event) in order.
  std::vector<std::pair<int, int64_t>> PollAll(InputGate& gate) {
    std::vector<std::pair<int, int64_t>> out;
    Envelope e;
    int ch = -1;
    while (gate.Poll(&e, &ch)) {
      int64_t v = e.kind == EventKind::kRecords
                      ? static_cast<Batch<int64_t>&>(*e.batch).records.front()
                      : -1;
      out.emplace_back(ch, v);
    }
    return out;
  }

  TaskWaker consumer_;
  TaskWaker producer_;
  std::vector<std::shared_ptr<Channel>> channels_;
};

TEST_F(InputGateTest, PollsChannelsRoundRobinOneEnvelopeAtATime) {
  InputGate gate = MakeGate(3);
  for (int i = 0; i < 3; ++i) {
    for (int c = 0; c < 3; ++c) Push(c, c * 10 + i);
  }
  std::vector<std::pair<int, int64_t>> expected = {{0, 0},  {1, 10}, {2, 20}, {0, 1}, {1, 11},
                                                   {2, 21}, {0, 2},  {1, 12}, {2, 22}};
  EXPECT_EQ(PollAll(gate), expected);
}

TEST_F(InputGateTest, ABusyChannelDoesNotStarveTheOthers) {
  InputGate gate = MakeGate(2);
  for (int i = 0; i < 100; ++i) Push(0, i);
  Push(1, 1000);
  Envelope e;
  int ch = -1;
  bool saw_channel_1 = false;
  for (int i = 0; i < 3 && !saw_channel_1; ++i) {
    ASSERT_TRUE(gate.Poll(&e, &ch));
    saw_channel_1 = ch == 1;
  }
  EXPECT_TRUE(saw_channel_1) << "channel 1 waited behind channel 0's backlog";
}

TEST_F(InputGateTest, EventsAndRecordsComeOutInChannelOrder) {
  InputGate gate = MakeGate(1);
  Push(0, 1);
  channels_[0]->PushEvent(EventKind::kBarrier, CheckpointBarrier{.id = 3});
  Push(0, 2);
  std::vector<std::pair<int, int64_t>> expected = {{0, 1}, {0, -1}, {0, 2}};
  EXPECT_EQ(PollAll(gate), expected);
}

TEST_F(InputGateTest, BlockedChannelsAreSkippedUntilUnblocked) {
  InputGate gate = MakeGate(3);
  Push(0, 0);
  Push(1, 10);
  Push(2, 20);
  gate.Block(0);
  gate.Block(2);
  std::vector<std::pair<int, int64_t>> only_1 = {{1, 10}};
  EXPECT_EQ(PollAll(gate), only_1);
  gate.UnblockAll();
  auto rest = PollAll(gate);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].first + rest[1].first, 2);  // channels 0 and 2
}

TEST_F(InputGateTest, FinishedChannelsAreSkipped) {
  InputGate gate = MakeGate(2);
  gate.MarkFinished(0);
  EXPECT_TRUE(gate.finished(0));
  EXPECT_FALSE(gate.finished(1));
  Push(0, 0);
  Push(1, 10);
  std::vector<std::pair<int, int64_t>> only_1 = {{1, 10}};
  EXPECT_EQ(PollAll(gate), only_1);
}

TEST_F(InputGateTest, PollReturnsFalseWhenEveryChannelIsEmptyBlockedOrFinished) {
  InputGate gate = MakeGate(3);
  Envelope e;
  int ch = -1;
  EXPECT_FALSE(gate.Poll(&e, &ch));
  Push(0, 1);
  Push(1, 2);
  gate.Block(0);
  gate.MarkFinished(1);
  EXPECT_FALSE(gate.Poll(&e, &ch));
  EXPECT_EQ(gate.size(), 3);
}

TEST_F(InputGateTest, RecycleReturnsTheBatchToItsChannel) {
  InputGate gate = MakeGate(2);
  Push(1, 5);
  Envelope e;
  int ch = -1;
  ASSERT_TRUE(gate.Poll(&e, &ch));
  ASSERT_EQ(ch, 1);
  auto* raw = e.batch.get();
  gate.Recycle(ch, std::move(e.batch));
  EXPECT_EQ(channels_[0]->TakeRecycled(), nullptr);
  EXPECT_EQ(channels_[1]->TakeRecycled().get(), raw);
}

// Debloating: capacity = throughput (records per busy second) * target, split over the
// unfinished channels, at least min_capacity.
TEST_F(InputGateTest, DebloatSetsCapacityFromThroughputAndTarget) {
  DebloatOptions d;
  d.target = std::chrono::milliseconds(200);
  InputGate gate = MakeGate(2, d);
  gate.MaybeDebloat(0);  // opens the window
  gate.RecordProcessed(10'000);
  gate.MaybeDebloat(100 * kMs);
  // 10,000 records in 100 busy ms = 100,000/s; 200 ms of that = 20,000, per channel 10,000.
  EXPECT_EQ(channels_[0]->capacity(), 10'000u);
  EXPECT_EQ(channels_[1]->capacity(), 10'000u);
}

TEST_F(InputGateTest, DebloatShrinksTheChannelsOfASlowBusyTask) {
  InputGate gate = MakeGate(2);
  gate.MaybeDebloat(0);
  gate.RecordProcessed(1'000);
  gate.MaybeDebloat(100 * kMs);
  // 10,000/s * 200 ms = 2,000, per channel 1,000.
  EXPECT_EQ(channels_[0]->capacity(), 1'000u);
  gate.RecordProcessed(100);
  gate.MaybeDebloat(200 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 100u);
}

TEST_F(InputGateTest, DebloatNeverGoesBelowMinCapacityNorAboveMaxCapacity) {
  DebloatOptions d;
  d.min_capacity = 16;
  InputGate gate = MakeGate(1, d, 1000, 5000);
  gate.MaybeDebloat(0);
  gate.RecordProcessed(1);
  gate.MaybeDebloat(100 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 16u);
  gate.RecordProcessed(10'000'000);
  gate.MaybeDebloat(200 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 5000u);
}

TEST_F(InputGateTest, DebloatOfAMostlyIdleTaskGrowsButNeverShrinks) {
  InputGate gate = MakeGate(1);
  gate.MaybeDebloat(0);
  // 90 of 100 ms idle, so busy 10 ms: 100 records / 10 ms = 10,000/s, 200 ms of it = 2,000.
  gate.RecordProcessed(100);
  gate.RecordIdle(90 * kMs);
  gate.MaybeDebloat(100 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 2'000u);
  // A thin sample that would shrink it is ignored while the task is mostly idle.
  gate.RecordProcessed(1);
  gate.RecordIdle(90 * kMs);
  gate.MaybeDebloat(200 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 2'000u);
}

TEST_F(InputGateTest, DebloatSplitsOnlyOverUnfinishedChannels) {
  InputGate gate = MakeGate(4);
  gate.MarkFinished(2);
  gate.MarkFinished(3);
  gate.MaybeDebloat(0);
  gate.RecordProcessed(10'000);
  gate.MaybeDebloat(100 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 10'000u);  // 20,000 over 2 open channels
}

TEST_F(InputGateTest, DebloatWaitsForAFullWindow) {
  InputGate gate = MakeGate(1);
  gate.MaybeDebloat(0);
  gate.RecordProcessed(100);
  gate.MaybeDebloat(10 * kMs);  // too short a sample
  EXPECT_EQ(channels_[0]->capacity(), 1000u);
  gate.MaybeDebloat(100 * kMs);  // the same records, now over a full window
  EXPECT_EQ(channels_[0]->capacity(), 200u);
}

TEST_F(InputGateTest, DebloatWithoutRecordsLeavesCapacityAndRestartsTheWindow) {
  InputGate gate = MakeGate(1);
  gate.MaybeDebloat(0);
  gate.MaybeDebloat(100 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 1000u);
  // The empty window was dropped: 1,000 records over the next 100 ms, not over 200.
  gate.RecordProcessed(1000);
  gate.MaybeDebloat(200 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 2000u);
}

TEST_F(InputGateTest, DisabledDebloatingLeavesCapacityAlone) {
  DebloatOptions d;
  d.enabled = false;
  InputGate gate = MakeGate(1, d);
  gate.MaybeDebloat(0);
  gate.RecordProcessed(1);
  gate.MaybeDebloat(100 * kMs);
  gate.MaybeDebloat(200 * kMs);
  EXPECT_EQ(channels_[0]->capacity(), 1000u);
}

}  // namespace
}  // namespace weir
