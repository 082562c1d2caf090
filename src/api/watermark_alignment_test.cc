// Watermark alignment (WatermarkStrategy::WithWatermarkAlignment) on source operators driven
// by hand: a fast and a slow reader in one group, with their periodic calls on a clock the
// test moves.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "testing/hand_driven_source.h"
#include "weir/detail/watermark_alignment.h"
#include "weir/weir.h"

namespace weir {
namespace {

// What a reader of the test does on each poll: one record, `step` ms of event time after
// the last, until `last` (then the end of its input), or nothing while `quiet`. In a job:
// a pause per poll, and where the reader's progress is published, or where it measures how
// far ahead of another reader's it reads.
struct Pace {
  int64_t step = 10;
  int64_t last = 1'000'000;
  bool quiet = false;
  std::chrono::microseconds pause{0};
  std::atomic<int64_t>* progress = nullptr;  // the last record's time
  std::atomic<bool>* done = nullptr;         // set before the end of input
  // The largest lead of a record over `behind`'s progress while it was not done.
  const Pace* behind = nullptr;
  std::atomic<int64_t>* lead = nullptr;
};

class PacedReader final : public SourceReader<int64_t, int32_t> {
 public:
  explicit PacedReader(const Pace* pace) : pace_(pace) {}
  InputStatus PollNext(ReaderOutput<int64_t>& out) override {
    if (next_ > pace_->last) {
      if (pace_->done != nullptr) *pace_->done = true;
      return InputStatus::kEndOfInput;
    }
    if (pace_->quiet) return InputStatus::kNothingAvailable;
    if (pace_->pause.count() > 0) std::this_thread::sleep_for(pace_->pause);
    if (const Pace* other = pace_->behind; other != nullptr && !*other->done) {
      const int64_t lead = next_ - other->progress->load();
      if (lead > pace_->lead->load()) *pace_->lead = lead;
    }
    out.Collect(next_, next_);
    if (pace_->progress != nullptr) *pace_->progress = next_;
    next_ += pace_->step;
    return InputStatus::kMoreAvailable;
  }
  void AddSplits(std::vector<int32_t>) override {}
  void NotifyNoMoreSplits() override {}
  std::vector<int32_t> SnapshotState(int64_t) override { return {}; }

 private:
  const Pace* pace_;
  int64_t next_ = 0;
};

// The test's source: one PacedReader per subtask.
testing::ReaderOnlySource<int64_t> PacedSource(const Pace* pace) {
  return testing::ReaderOnlySource<int64_t>(
      [pace] { return std::make_unique<PacedReader>(pace); });
}

class Received final : public detail::BatchConsumer<int64_t> {
 public:
  void Accept(detail::Batch<int64_t>& batch) override {
    for (int64_t v : batch.records) last_record = v;
  }
  void AcceptWatermark(int64_t w) override { watermark = w; }
  void AcceptWatermarkStatus(bool idle) override { this->idle = idle; }
  int64_t last_record = -1;
  int64_t watermark = kMinWatermark;
  bool idle = false;
};

// One source subtask of the group "g", with a max drift of 100 ms.
struct Subtask {
  Subtask(detail::WatermarkAlignmentGroups* groups, int64_t step,
          std::optional<std::chrono::milliseconds> idleness = std::nullopt)
      : run(std::make_shared<const testing::ReaderOnlySource<int64_t>>(PacedSource(&pace)),
            Strategy(idleness), [this, groups](testing::HandDrivenSource<Received>& r) {
              r.ctx.set_watermark_alignment_groups(groups);
              r.op.SetWakeup([this] { ++wakes; });
            }) {
    pace.step = step;
  }
  static WatermarkStrategy<int64_t> Strategy(std::optional<std::chrono::milliseconds> idleness) {
    auto s = WatermarkStrategy<int64_t>::ForMonotonousTimestamps()
                 .WithTimestampAssigner([](const int64_t& v) { return v; })
                 .WithWatermarkAlignment("g", std::chrono::milliseconds(100));
    return idleness ? s.WithIdleness(*idleness) : s;
  }
  // One poll, then the periodic call (which emits the watermark) at `now_ms`.
  detail::SourceStatus Step(int64_t now_ms) {
    const detail::SourceStatus status = op.EmitNext(10);
    op.OnPeriodicTime(now_ms);
    return status;
  }

  // Steps alone (the others still) until paused, which takes a few polls at most. Returns
  // the clock after it.
  int64_t StepUntilPaused(int64_t now_ms) {
    for (int polls = 0; Step(now_ms) != detail::SourceStatus::kNothingAvailable; ++polls) {
      now_ms += 200;
      if (polls == 5) {
        ADD_FAILURE() << "not paused after 5 polls ahead of the group";
        break;
      }
    }
    return now_ms + 200;
  }

  Pace pace;
  int wakes = 0;
  testing::HandDrivenSource<Received> run;
  detail::SourceReaderOperator<int64_t, int32_t, int32_t>& op = run.op;
  Received& out = run.out;
};

// The group alone: a member waiting for a watermark is woken when the group's reaches it,
// not before; a member without a wake function (none given) is no trouble.
TEST(WatermarkAlignmentTest, AWaitingMemberIsWokenOnlyOnceTheGroupReachesWhatItWaitsFor) {
  detail::WatermarkAlignmentGroups groups;
  int wakes = 0;
  auto fast = groups.Join("g", [&wakes] { ++wakes; });
  auto slow = groups.Join("g", {});
  EXPECT_EQ(fast->GroupWatermark(), kMaxWatermark);  // no watermark yet
  fast->Report(500);
  slow->Report(10);
  EXPECT_EQ(fast->GroupWatermark(), 10);
  ASSERT_TRUE(fast->WaitFor(400));
  slow->Report(200);
  EXPECT_EQ(wakes, 0) << "woken while the group was still behind";
  slow->Report(400);
  EXPECT_EQ(wakes, 1);
  slow->Report(450);
  EXPECT_EQ(wakes, 1) << "woken again without waiting";
  EXPECT_FALSE(fast->WaitFor(420)) << "the group is there already: no wait";
  ASSERT_TRUE(fast->WaitFor(480));
  slow.reset();  // leaves: the group's watermark is the fast one's own
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(fast->GroupWatermark(), 500);
}

TEST(WatermarkAlignmentTest, AFastSourceWaitsForTheSlowOneAndResumesWhenItCatchesUp) {
  detail::WatermarkAlignmentGroups groups;
  Subtask fast(&groups, 50);
  Subtask slow(&groups, 10);
  int64_t now = 200;
  for (int i = 0; i < 20; ++i, now += 200) {
    fast.Step(now);
    slow.Step(now);
    // Its watermark is its last record's time less 1: never more than the drift ahead of the
    // slow one's, but for the one record read before its next watermark said so.
    EXPECT_LE(fast.out.watermark, slow.out.watermark + 100 + 50) << "round " << i;
  }
  EXPECT_GT(slow.out.watermark, 150);
  EXPECT_LT(fast.out.last_record, slow.out.last_record + 200) << "the fast one ran ahead";
  // Paused: no poll, no record, until the slow one's watermark moves.
  now = fast.StepUntilPaused(now);
  const int64_t held = fast.out.last_record;
  EXPECT_EQ(fast.op.EmitNext(10), detail::SourceStatus::kNothingAvailable);
  EXPECT_EQ(fast.out.last_record, held);
  const int wakes = fast.wakes;
  for (int i = 0; i < 10; ++i, now += 200) slow.Step(now);
  EXPECT_GT(fast.wakes, wakes) << "the slow one's progress did not wake the paused one";
  EXPECT_EQ(fast.op.EmitNext(10), detail::SourceStatus::kMoreAvailable);
  EXPECT_GT(fast.out.last_record, held);
}

TEST(WatermarkAlignmentTest, ASourceWithoutAWatermarkYetHoldsNothingBack) {
  detail::WatermarkAlignmentGroups groups;
  Subtask fast(&groups, 50);
  Subtask silent(&groups, 10);
  silent.pace.quiet = true;  // no record, so no watermark
  int64_t now = 200;
  for (int i = 0; i < 20; ++i, now += 200) {
    fast.Step(now);
    silent.Step(now);
  }
  EXPECT_EQ(fast.out.last_record, 19 * 50);
  EXPECT_EQ(silent.out.watermark, kMinWatermark);
}

TEST(WatermarkAlignmentTest, AnIdleSourceAndAFinishedOneHoldNothingBack) {
  detail::WatermarkAlignmentGroups groups;
  Subtask fast(&groups, 50);
  Subtask slow(&groups, 10, std::chrono::milliseconds(400));
  int64_t now = 200;
  for (int i = 0; i < 5; ++i, now += 200) {
    fast.Step(now);
    slow.Step(now);
  }
  now = fast.StepUntilPaused(now);
  const int64_t held = fast.out.last_record;
  // The slow one goes quiet; once idle it no longer holds the fast one.
  slow.pace.quiet = true;
  for (int i = 0; i < 4; ++i, now += 200) slow.Step(now);
  EXPECT_TRUE(slow.out.idle);
  for (int i = 0; i < 5; ++i, now += 200) fast.Step(now);
  EXPECT_GT(fast.out.last_record, held + 200);
  // Back with a record, it holds the fast one again.
  slow.pace.quiet = false;
  slow.Step(now);
  now += 200;
  EXPECT_FALSE(slow.out.idle);
  EXPECT_EQ(fast.Step(now), detail::SourceStatus::kNothingAvailable);
  // At the end of its input it lets the fast one go for good.
  slow.pace.last = 0;
  EXPECT_EQ(slow.Step(now), detail::SourceStatus::kEndOfInput);
  EXPECT_EQ(fast.Step(now + 200), detail::SourceStatus::kMoreAvailable);
}

TEST(WatermarkAlignmentTest, ASourceThatLeavesTheGroupHoldsNothingBack) {
  detail::WatermarkAlignmentGroups groups;
  Subtask fast(&groups, 50);
  auto slow = std::make_unique<Subtask>(&groups, 10);
  int64_t now = 200;
  for (int i = 0; i < 5; ++i, now += 200) {
    fast.Step(now);
    slow->Step(now);
  }
  now = fast.StepUntilPaused(now);
  const int wakes = fast.wakes;
  slow.reset();  // a restart destroys its operators
  EXPECT_GT(fast.wakes, wakes);
  EXPECT_EQ(fast.Step(now + 200), detail::SourceStatus::kMoreAvailable);
}

// In a running job, through its own groups: a source with a backlog (a second of event time
// per poll) reads about as far as the slow one beside it (ten milliseconds per poll) allows,
// not 200 seconds ahead, and both read to their end.
TEST(WatermarkAlignmentTest, InAJobAFastSourceKeepsPaceWithASlowOne) {
  std::atomic<int64_t> slow_at{0};
  std::atomic<bool> slow_done{false};
  std::atomic<int64_t> lead{0};
  Pace slow;
  slow.step = 10;
  slow.last = 5'000;
  slow.pause = std::chrono::milliseconds(1);
  slow.progress = &slow_at;
  slow.done = &slow_done;
  Pace fast;
  fast.step = 1'000;
  fast.last = 200'000;
  fast.pause = std::chrono::milliseconds(1);
  fast.behind = &slow;
  fast.lead = &lead;

  Configuration config;
  config.Set("rest.enabled", "false");
  config.Set("pipeline.auto-watermark-interval", "10 ms");
  StreamExecutionEnvironment env(config);
  env.SetParallelism(1);
  const auto strategy = WatermarkStrategy<int64_t>::ForMonotonousTimestamps()
                            .WithTimestampAssigner([](const int64_t& v) { return v; })
                            .WithWatermarkAlignment("g", std::chrono::milliseconds(100));
  auto records = std::make_shared<std::atomic<int64_t>>(0);
  env.FromSource(PacedSource(&fast), strategy, "fast")
      .Union(env.FromSource(PacedSource(&slow), strategy, "slow"))
      .AddSink([records](int64_t) { ++*records; });
  const JobResult result = env.Execute("aligned");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(records->load(), 201 + 501);
  // The drift, and what the fast one reads before its next watermark (every 10 ms) says it is
  // ahead: about ten polls, ten seconds. Unaligned it leads by about 195 seconds.
  EXPECT_LT(lead.load(), 50'000) << "the fast source ran ahead of the slow one";
}

TEST(WatermarkAlignmentTest, OnlyASourceFollowsAStrategyWithAlignment) {
  auto aligned = WatermarkStrategy<int64_t>::ForMonotonousTimestamps().WithWatermarkAlignment(
      "g", std::chrono::seconds(1));
  StreamExecutionEnvironment env;
  EXPECT_THROW(env.FromSequence(0, 10).AssignTimestampsAndWatermarks(aligned),
               std::invalid_argument);
  EXPECT_THROW(aligned.WithWatermarkAlignment("", std::chrono::seconds(1)),
               std::invalid_argument);
  EXPECT_THROW(aligned.WithWatermarkAlignment("g", std::chrono::milliseconds(-1)),
               std::invalid_argument);
}

}  // namespace
}  // namespace weir
