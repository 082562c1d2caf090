#include "runtime/watermark_valve.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "testing/test_util.h"

namespace weir {
namespace {

using Out = WatermarkValve::Output;

TEST(WatermarkValveTest, EmitsTheMinimumOverChannelsWhenItAdvances) {
  WatermarkValve v(2);
  EXPECT_FALSE(v.OnWatermark(0, 10).watermark);  // channel 1 is still at the minimum
  EXPECT_EQ(v.OnWatermark(1, 5).watermark, 5);
  EXPECT_EQ(v.OnWatermark(1, 7).watermark, 7);
  EXPECT_EQ(v.OnWatermark(1, 20).watermark, 10);
  EXPECT_FALSE(v.OnWatermark(0, 9).watermark) << "a channel's watermark never goes back";
  EXPECT_EQ(v.OnWatermark(0, 30).watermark, 20);
}

TEST(WatermarkValveTest, AnIdleChannelStopsHoldingTheWatermarkBack) {
  WatermarkValve v(2);
  v.OnWatermark(0, 100);
  Out out = v.OnWatermarkStatus(1, /*idle=*/true);
  EXPECT_EQ(out.watermark, 100);
  EXPECT_FALSE(out.idle) << "one channel is still active";
  EXPECT_EQ(v.OnWatermark(0, 150).watermark, 150);
}

TEST(WatermarkValveTest, AllChannelsIdleMakesTheInputIdleAfterTheHighestWatermark) {
  WatermarkValve v(3);
  v.OnWatermark(0, 10);
  v.OnWatermark(1, 40);
  v.OnWatermark(2, 20);
  EXPECT_EQ(v.watermark(), 10);
  v.OnWatermarkStatus(0, true);  // min now over 1 and 2: 20
  EXPECT_EQ(v.watermark(), 20);
  v.OnWatermarkStatus(2, true);
  EXPECT_EQ(v.watermark(), 40);
  Out out = v.OnWatermarkStatus(1, true);
  EXPECT_EQ(out.idle, true);
  EXPECT_TRUE(v.idle());
  out = v.OnWatermarkStatus(2, false);
  EXPECT_EQ(out.idle, false) << "one active channel makes the input active";
  EXPECT_FALSE(out.watermark);
}

TEST(WatermarkValveTest, AChannelBackFromIdlenessCountsOnlyOnceItCaughtUp) {
  WatermarkValve v(2);
  v.OnWatermark(0, 5);
  v.OnWatermarkStatus(1, true);
  v.OnWatermark(0, 50);
  EXPECT_EQ(v.watermark(), 50);
  v.OnWatermarkStatus(1, false);  // channel 1 is still at the minimum: it must not pull back
  EXPECT_EQ(v.OnWatermark(0, 60).watermark, 60);
  EXPECT_FALSE(v.OnWatermark(1, 30).watermark);
  EXPECT_EQ(v.OnWatermark(0, 80).watermark, 80) << "channel 1 (30) has not caught up yet";
  EXPECT_FALSE(v.OnWatermark(1, 70).watermark) << "70 < 80: still behind";
  EXPECT_FALSE(v.OnWatermark(1, 85).watermark) << "aligned again, 80 is the minimum";
  EXPECT_EQ(v.OnWatermark(0, 90).watermark, 85);
}

TEST(WatermarkValveTest, TheMaximumWatermarkOnEveryChannelIsEmitted) {
  WatermarkValve v(2);
  v.OnWatermark(0, detail::kMaxWatermark);
  EXPECT_EQ(v.OnWatermark(1, detail::kMaxWatermark).watermark, detail::kMaxWatermark);
}

// Against a model: the emitted watermarks never decrease, never pass an active channel that
// was aligned, and reach the minimum of the channels' final watermarks once all are active.
TEST(WatermarkValveTest, RandomSequencesAgreeWithTheModel) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    int n = 1 + static_cast<int>(rng() % 4);
    WatermarkValve v(n);
    std::vector<int64_t> wm(static_cast<size_t>(n), detail::kMinWatermark);
    std::vector<bool> idle(static_cast<size_t>(n), false);
    int64_t last = detail::kMinWatermark;
    for (int step = 0; step < 100; ++step) {
      int c = static_cast<int>(rng() % static_cast<uint64_t>(n));
      Out out;
      if (rng() % 5 == 0) {
        idle[static_cast<size_t>(c)] = !idle[static_cast<size_t>(c)];
        out = v.OnWatermarkStatus(c, idle[static_cast<size_t>(c)]);
      } else if (!idle[static_cast<size_t>(c)]) {
        int64_t w = std::max<int64_t>(wm[static_cast<size_t>(c)], 0) + static_cast<int64_t>(rng() % 10);
        wm[static_cast<size_t>(c)] = std::max(wm[static_cast<size_t>(c)], w);
        out = v.OnWatermark(c, w);
      }
      if (out.watermark) {
        ASSERT_GT(*out.watermark, last) << "seed " << seed;
        last = *out.watermark;
      }
      ASSERT_EQ(v.watermark(), last);
      bool all_idle = std::all_of(idle.begin(), idle.end(), [](bool b) { return b; });
      ASSERT_EQ(v.idle(), all_idle) << "seed " << seed;
      if (!all_idle) {
        int64_t max = *std::max_element(wm.begin(), wm.end());
        ASSERT_LE(last, max) << "seed " << seed;
      }
    }
    // Everyone active and pushed far ahead: the valve reaches the common minimum.
    for (int c = 0; c < n; ++c) {
      if (idle[static_cast<size_t>(c)]) v.OnWatermarkStatus(c, false);
    }
    for (int c = 0; c < n; ++c) v.OnWatermark(c, 1'000'000 + c);
    ASSERT_EQ(v.watermark(), 1'000'000) << "seed " << seed;
  }
}

}  // namespace
}  // namespace weir
