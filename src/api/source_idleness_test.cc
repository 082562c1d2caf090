// WithIdleness on a source reader of several splits: as in Flink, each split goes idle on its
// own, so a quiet split (a Kafka partition nothing is written to) does not hold back the
// watermark of the splits beside it in the same reader.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "testing/hand_driven_source.h"
#include "testing/watermark_recorder.h"
#include "weir/weir.h"

namespace weir {
namespace {

// What the reader of the test does on each poll.
struct Script {
  bool quiet_speaks = false;  // "quiet" emits a record at 5 too
  bool busy_first = false;    // "busy"'s record comes first
};

// Announces two splits (as the Kafka reader announces its partitions) and reads "busy" on each
// poll, timestamps 0, 10, 20, ..., and "quiet" as the script says.
class TwoSplitReader final : public SourceReader<int64_t, int32_t> {
 public:
  explicit TwoSplitReader(const Script* script) : script_(script) {}
  InputStatus PollNext(ReaderOutput<int64_t>& out) override {
    if (!announced_) {
      out.ForSplit("quiet");
      out.ForSplit("busy");
      announced_ = true;
    }
    if (script_->quiet_speaks && !script_->busy_first) Quiet(out);
    out.ForSplit("busy");
    out.Collect(next_, next_);
    next_ += 10;
    if (script_->quiet_speaks && script_->busy_first) Quiet(out);
    return InputStatus::kMoreAvailable;
  }
  static void Quiet(ReaderOutput<int64_t>& out) {
    out.ForSplit("quiet");
    out.Collect(5, 5);
  }
  void AddSplits(std::vector<int32_t>) override {}
  void NotifyNoMoreSplits() override {}
  std::vector<int32_t> SnapshotState(int64_t) override { return {}; }

 private:
  const Script* script_;
  bool announced_ = false;
  int64_t next_ = 0;
};

// The test's source: one TwoSplitReader per subtask.
std::shared_ptr<const testing::ReaderOnlySource<int64_t>> TwoSplitSource(const Script* script) {
  return std::make_shared<const testing::ReaderOnlySource<int64_t>>(
      [script] { return std::make_unique<TwoSplitReader>(script); });
}

using Watermarks = testing::WatermarkRecorder<int64_t>;

// Runs the reader with periodic calls every 200 ms of its clock until `until_ms`.
struct Reader {
  explicit Reader(std::optional<std::chrono::milliseconds> idleness)
      : run(TwoSplitSource(&script), Strategy(idleness)) {}
  static WatermarkStrategy<int64_t> Strategy(std::optional<std::chrono::milliseconds> idleness) {
    auto s = WatermarkStrategy<int64_t>::ForMonotonousTimestamps().WithTimestampAssigner(
        [](const int64_t& v) { return v; });
    return idleness ? s.WithIdleness(*idleness) : s;
  }
  void RunUntil(int64_t until_ms) {
    for (; now_ms <= until_ms; now_ms += 200) {
      op.EmitNext(10);
      op.OnPeriodicTime(now_ms);
    }
  }
  // Backpressure: the task keeps its periodic calls but does not poll the reader.
  void BackpressuredUntil(int64_t until_ms) {
    for (; now_ms <= until_ms; now_ms += 200) op.OnPeriodicTime(now_ms);
  }

  Script script;
  testing::HandDrivenSource<Watermarks> run;
  detail::SourceReaderOperator<int64_t, int32_t, int32_t>& op = run.op;
  Watermarks& out = run.out;
  int64_t now_ms = 200;
};

TEST(SourceIdlenessTest, AQuietSplitDoesNotHoldBackTheOtherSplitsOfItsReader) {
  Reader reader(std::chrono::milliseconds(1000));
  reader.RunUntil(5000);
  ASSERT_FALSE(reader.out.watermarks.empty()) << "the quiet split held the watermark back";
  const int64_t busy = reader.out.watermarks.back();
  EXPECT_GT(busy, 100);
  EXPECT_TRUE(reader.out.statuses.empty()) << "the reader emits records: it is not idle";
  // Its next record takes the quiet split back in: the watermark waits for it again.
  reader.script.quiet_speaks = true;
  const size_t before = reader.out.watermarks.size();
  reader.RunUntil(10'000);
  EXPECT_EQ(reader.out.watermarks.size(), before) << "the quiet split, back, holds it at 4";
}

// Under backpressure the reader is not polled, and neither it nor a split goes idle for that:
// otherwise the split read first afterwards would take the watermark past the records still
// waiting in the other one.
TEST(SourceIdlenessTest, BackpressureMakesNoSplitIdle) {
  Reader reader(std::chrono::milliseconds(1000));
  reader.script.quiet_speaks = true;  // both splits emit: the watermark is the quiet one's, 4
  reader.script.busy_first = true;
  reader.RunUntil(2000);
  ASSERT_FALSE(reader.out.watermarks.empty());
  EXPECT_EQ(reader.out.watermarks.back(), 4);
  reader.BackpressuredUntil(7000);
  reader.RunUntil(7200);
  EXPECT_EQ(reader.out.watermarks.back(), 4) << "a split went idle while the reader waited";
  EXPECT_TRUE(reader.out.statuses.empty()) << "the reader went idle while it waited";
}

// Without WithIdleness a split that never emits holds its reader's watermark back, as in
// Flink (which is what WithIdleness is for).
TEST(SourceIdlenessTest, WithoutIdlenessAQuietSplitHoldsTheWatermark) {
  Reader reader(std::nullopt);
  reader.RunUntil(5000);
  EXPECT_TRUE(reader.out.watermarks.empty());
}

}  // namespace
}  // namespace weir
