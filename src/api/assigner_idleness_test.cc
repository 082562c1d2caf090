// WithIdleness on AssignTimestampsAndWatermarks: the assigner goes idle when its task reads
// its input and finds nothing for the timeout, not while its outputs hold the task back
// (backpressure), when records wait in its input that an idle assigner would let event time
// run past downstream.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "testing/fake_operator_context.h"
#include "testing/watermark_recorder.h"
#include "weir/detail/watermark_operator.h"
#include "weir/watermark.h"

namespace weir {
namespace {

using Watermarks = testing::WatermarkRecorder<int64_t>;

// The assigner with a 1 s idleness, run by hand: periodic calls every 200 ms of its clock.
struct Assigner {
  explicit Assigner(const uint64_t* reads)
      : op(WatermarkStrategy<int64_t>::ForMonotonousTimestamps()
               .WithTimestampAssigner([](const int64_t& v) { return v; })
               .WithIdleness(std::chrono::milliseconds(1000))) {
    ctx.set_input_reads(reads);
    op.Setup(&ctx);
    op.SetTypedOutput(&out);
    op.Open();
  }
  void Records(std::vector<int64_t> values) {
    detail::Batch<int64_t> batch;
    batch.records = std::move(values);
    op.Accept(batch);
  }
  // Periodic calls up to `until_ms`; with `reads`, the task reads its input before each.
  void Until(int64_t until_ms, uint64_t* reads) {
    for (; now_ms <= until_ms; now_ms += 200) {
      if (reads != nullptr) ++*reads;
      op.OnPeriodicTime(now_ms);
    }
  }

  testing::FakeOperatorContext ctx{0, 1};
  detail::TimestampsAndWatermarksOperator<int64_t> op;
  Watermarks out;
  int64_t now_ms = 200;
};

TEST(AssignerIdlenessTest, BackpressureDoesNotMakeTheAssignerIdle) {
  uint64_t reads = 0;
  Assigner a(&reads);
  ++reads;
  a.Records({10, 20});
  a.Until(400, &reads);
  ASSERT_FALSE(a.out.watermarks.empty());
  a.Until(6000, /*reads=*/nullptr);  // held back: its input is not read
  EXPECT_TRUE(a.out.statuses.empty()) << "the assigner went idle while its task was held back";
  a.Until(6600, &reads);  // read, and quiet: 800 ms of its 1 s, with the 200 before
  EXPECT_TRUE(a.out.statuses.empty());
  a.Until(7400, &reads);
  EXPECT_EQ(a.out.statuses, std::vector<bool>{true}) << "a quiet input makes it idle";
  a.Records({30});
  EXPECT_EQ(a.out.statuses, (std::vector<bool>{true, false})) << "a record makes it active";
}

TEST(AssignerIdlenessTest, WhereNothingCountsReadsTheClockAloneDecides) {
  Assigner a(/*reads=*/nullptr);
  a.Records({10});
  a.Until(1000, nullptr);
  EXPECT_TRUE(a.out.statuses.empty());
  a.Until(1400, nullptr);
  EXPECT_EQ(a.out.statuses, std::vector<bool>{true});
}

}  // namespace
}  // namespace weir
